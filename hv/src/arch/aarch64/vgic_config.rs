//! The board's AArch64 parts as the description fixes them (its GIC, timer PPIs, tag memory),
//! and what follows for the virtual GIC: its version, the PPIs that belong to the hardware, and a
//! vCPU's interrupt state at power-on.
use crate::arch::aarch64::vgic::{dist, VcpuIrq, Version};
use crate::desc::{ArmDesc, GicDesc, PlatformDesc};
use crate::machine::BOARD;

/// The board's GIC, generic timer and tag memory. A description of another architecture does
/// not build for AArch64.
pub const ARM: ArmDesc = match BOARD.platform {
    PlatformDesc::Aarch64(a) => a,
    PlatformDesc::Riscv64(_) => panic!("hv for AArch64 was built for a board of another architecture"),
};

pub const VERSION: Version = match ARM.gic {
    GicDesc::V2 { .. } => Version::V2,
    GicDesc::V3 { .. } => Version::V3,
};
/// Both EL1 timers belong to the guest (it programs them directly): hardware-backed PPIs.
pub const HW_PPIS: u32 = 1 << ARM.timer_virt | 1 << ARM.timer_phys;

/// vCPU `k` of a VM of `vcpus`: its private interrupts at power-on, with an empty queue.
pub const fn vcpu_irq(k: usize, vcpus: usize) -> VcpuIrq {
    VcpuIrq::new(dist::private_state(VERSION, k, vcpus, HW_PPIS))
}
