//! AArch64 EL2: boot, vectors, EL2 and stage-2 set-up, traps, and the board's console and firmware.
pub mod boot;
pub mod console_in;
pub mod el1;
pub mod el2;
pub mod firmware;
pub mod gic;
pub mod gicv2;
pub mod gicv3;
pub mod idregs;
pub mod irq;
pub mod mem;
pub mod pcpu;
pub mod reset;
pub mod trap;
pub mod uart;
pub mod vectors;
pub mod vgic_host;

/// This pCPU's index.
#[inline(always)]
pub fn cpu_id() -> usize {
    pcpu::this().index
}
