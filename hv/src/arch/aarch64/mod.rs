//! AArch64 EL2: boot, vectors, EL2 and stage-2 set-up, traps, and the board's console and firmware.
pub mod boot;
pub mod console_in;
pub mod el1;
pub mod el2;
pub mod firmware;
pub mod gic;
pub mod gicv2;
pub mod gicv3;
pub mod irq;
pub mod mem;
pub mod reset;
pub mod trap;
pub mod uart;
pub mod vectors;

/// This pCPU's index, which boot code keeps in TPIDR_EL2.
#[inline(always)]
pub fn cpu_id() -> usize {
    use aarch64_cpu::registers::{Readable, TPIDR_EL2};
    TPIDR_EL2.get() as usize
}
