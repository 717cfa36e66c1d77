//! AArch64 at EL2 (non-VHE). The pure parts (exit decoding, the A64 load/store decoder, exception
//! injection, the SMCCC and PSCI front ends, the virtual GIC) build everywhere and are tested on
//! the host; the rest touches the hardware and builds only for the target.
pub mod calls;
pub mod dabt;
pub mod exit;
pub mod inject;
pub mod insn;
pub mod psci;
pub mod regs;
pub mod vgic;

#[cfg(test)]
mod fuzz;

// The hardware: built for the target only.
#[cfg(target_arch = "aarch64")]
pub mod boot;
#[cfg(target_arch = "aarch64")]
pub mod el1;
#[cfg(target_arch = "aarch64")]
pub mod el2;
#[cfg(target_arch = "aarch64")]
pub mod firmware;
#[cfg(target_arch = "aarch64")]
pub mod gic;
#[cfg(target_arch = "aarch64")]
pub mod gic_io;
#[cfg(target_arch = "aarch64")]
pub mod gicv2;
#[cfg(target_arch = "aarch64")]
pub mod gicv3;
#[cfg(target_arch = "aarch64")]
pub mod idregs;
#[cfg(target_arch = "aarch64")]
pub mod irq;
#[cfg(target_arch = "aarch64")]
pub mod mem;
#[cfg(target_arch = "aarch64")]
pub mod pcpu;
#[cfg(target_arch = "aarch64")]
pub mod platform;
#[cfg(target_arch = "aarch64")]
pub mod run;
#[cfg(target_arch = "aarch64")]
pub mod timer;
#[cfg(target_arch = "aarch64")]
pub mod trap;
#[cfg(target_arch = "aarch64")]
pub mod vectors;
#[cfg(target_arch = "aarch64")]
pub mod vgic_config;
#[cfg(target_arch = "aarch64")]
pub mod vgic_host;
#[cfg(target_arch = "aarch64")]
pub mod vms;

/// This pCPU's index.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub fn cpu_id() -> usize {
    pcpu::this().index
}
