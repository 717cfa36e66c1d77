//! Per-pCPU state, reached through TPIDR_EL2 (boot code points it at this pCPU's entry): which
//! vCPU the description pins here, that vCPU's own interrupt state (its private interrupts and
//! queue: the vGIC's per-vCPU half), and the mailbox that starts it.
//! Reaching it costs one system-register read whatever the board's CPU count, so no hot path
//! depends on how many pCPUs there are.
//!
//! Ownership: `index` and `vcpu` come from the description and never change. The mailbox and
//! the powered flag are atomics: another pCPU fills the mailbox (CPU_ON, a restart) and this
//! one empties it. `irq` is this vCPU's, but other vCPUs of its VM send it SGIs, route SPIs to
//! it and access its redistributor, hence its lock (lock order in vgic/host.rs and
//! docs/interrupts.md).
use crate::arch::aarch64::vgic::VcpuIrq;
use crate::machine::{CPU_VCPU, NUM_CPUS, VMS};
use core::sync::atomic::{AtomicBool, AtomicU64};
use hv_types::VmId;

/// How another pCPU hands this one a vCPU to run (power-on, CPU_ON, restart).
pub struct Mailbox {
    pub full: AtomicBool,
    pub entry: AtomicU64,
    pub arg: AtomicU64,
}

pub struct PerCpu {
    pub index: usize,
    /// The (VM, vCPU index) pinned here, from the description.
    pub vcpu: Option<(VmId, usize)>,
    /// The pinned vCPU's private interrupts (SGIs, PPIs) and what waits for its list registers.
    pub irq: spin::Mutex<VcpuIrq>,
    pub mailbox: Mailbox,
    /// hv runs on this pCPU (it was powered on, and parks rather than powering off).
    pub powered: AtomicBool,
}

impl PerCpu {
    /// An entry with no vCPU; `all` fills in each pCPU's.
    const fn empty() -> Self {
        PerCpu {
            index: 0,
            vcpu: None,
            irq: spin::Mutex::new(super::vgic_config::vcpu_irq(0, 1)),
            mailbox: Mailbox {
                full: AtomicBool::new(false),
                entry: AtomicU64::new(0),
                arg: AtomicU64::new(0),
            },
            powered: AtomicBool::new(false),
        }
    }
}

const fn all() -> [PerCpu; NUM_CPUS] {
    let mut cpus = [const { PerCpu::empty() }; NUM_CPUS];
    let mut i = 0;
    while i < NUM_CPUS {
        cpus[i].index = i;
        cpus[i].vcpu = CPU_VCPU[i];
        if let Some((vm, k)) = CPU_VCPU[i] {
            let irq = spin::Mutex::new(super::vgic_config::vcpu_irq(k, VMS[vm.0].vcpus.len()));
            // The placeholder holds nothing to free (const evaluation cannot run its drop glue).
            core::mem::forget(core::mem::replace(&mut cpus[i].irq, irq));
        }
        i += 1;
    }
    cpus
}

/// Every pCPU's entry; boot code sets TPIDR_EL2 to `&PCPUS[i]`.
#[no_mangle]
pub static PCPUS: [PerCpu; NUM_CPUS] = all();

/// Bytes of one entry, for boot code's address computation.
pub const SIZE: usize = core::mem::size_of::<PerCpu>();

/// This pCPU's entry.
#[inline(always)]
pub fn this() -> &'static PerCpu {
    let p: usize;
    // SAFETY: reads TPIDR_EL2, which boot code set to this pCPU's entry before any Rust ran.
    unsafe { core::arch::asm!("mrs {}, tpidr_el2", out(reg) p, options(nomem, nostack, preserves_flags)) };
    // SAFETY: TPIDR_EL2 holds the address of an element of `PCPUS`, a static, and nothing else
    // ever writes TPIDR_EL2.
    unsafe { &*(p as *const PerCpu) }
}

/// pCPU `i`'s entry (to post to it, or hand it a vCPU).
#[inline(always)]
pub fn of(i: usize) -> &'static PerCpu {
    &PCPUS[i]
}
