//! The board's virtual GIC, as the description fixes it: its version, the PPIs that belong to
//! the hardware, and a vCPU's interrupt state at power-on.
use crate::arch::aarch64::vgic::{dist, VcpuIrq, Version};
use crate::desc::GicDesc;
use crate::machine::BOARD;

pub const VERSION: Version = match BOARD.gic {
    GicDesc::V2 { .. } => Version::V2,
    GicDesc::V3 { .. } => Version::V3,
};
/// Both EL1 timers belong to the guest (it programs them directly): hardware-backed PPIs.
pub const HW_PPIS: u32 = 1 << BOARD.timer_virt | 1 << BOARD.timer_phys;

/// vCPU `k` of a VM of `vcpus`: its private interrupts at power-on, with an empty queue.
pub const fn vcpu_irq(k: usize, vcpus: usize) -> VcpuIrq {
    VcpuIrq::new(dist::private_state(VERSION, k, vcpus, HW_PPIS))
}
