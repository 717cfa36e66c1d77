//! Per-pCPU (per-hart) state, reached through `tp`: the guest's register frame (first, so the
//! trap entry finds it from `sscratch`), hv's stack top, the pinned vCPU, the mailbox that hands
//! it over, and what other pCPUs ask of this one. Ownership: `frame` is this hart's alone;
//! the rest is atomics or fixed at build time.
use super::regs::GuestRegs;
use crate::machine::{CPU_VCPU, NUM_CPUS};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8};
use hv_types::VmId;

/// A vCPU handed to this pCPU: its entry point and first argument.
pub struct Mailbox {
    pub entry: AtomicU64,
    pub arg: AtomicU64,
    pub full: AtomicBool,
}

/// Requests another pCPU leaves before it kicks this one.
pub const REQ_GUEST_IPI: u8 = 1 << 0;
pub const REQ_FENCE_I: u8 = 1 << 1;
pub const REQ_FENCE_VMA: u8 = 1 << 2;
/// The vCPU's external-interrupt level (`vseip`) changed.
pub const REQ_EIP: u8 = 1 << 3;

#[repr(C)]
pub struct PerCpu {
    /// The guest's registers while hv handles its exit. Offset 0: the trap entry's `sscratch`
    /// points here.
    pub frame: UnsafeCell<GuestRegs>,
    /// Top of this pCPU's hv stack (offset `STACK_TOP`), set once at boot.
    pub stack_top: AtomicU64,
    pub index: usize,
    pub vcpu: Option<(VmId, usize)>,
    pub mailbox: Mailbox,
    pub powered: AtomicBool,
    /// `REQ_*` bits other pCPUs set before kicking this one; taken at the kick.
    pub requests: AtomicU8,
    /// Fences this pCPU has completed, so a requester can wait for them.
    pub fences_done: AtomicU64,
    /// Its vCPU's VSEIP, as the VM's virtual PLIC last set it.
    pub vseip: AtomicBool,
}

/// Offset of `stack_top`, for the trap entry.
pub const STACK_TOP: usize = core::mem::offset_of!(PerCpu, stack_top);
pub const SIZE: usize = core::mem::size_of::<PerCpu>();

// SAFETY: `frame` is only touched by the hart that owns this entry (its trap path and the code
// it calls); everything else is immutable or atomic.
unsafe impl Sync for PerCpu {}

const fn all() -> [PerCpu; NUM_CPUS] {
    let mut cpus = [const { PerCpu::empty() }; NUM_CPUS];
    let mut i = 0;
    while i < NUM_CPUS {
        cpus[i].index = i;
        cpus[i].vcpu = CPU_VCPU[i];
        i += 1;
    }
    cpus
}

impl PerCpu {
    const fn empty() -> Self {
        PerCpu {
            frame: UnsafeCell::new(GuestRegs::new()),
            stack_top: AtomicU64::new(0),
            index: 0,
            vcpu: None,
            mailbox: Mailbox {
                entry: AtomicU64::new(0),
                arg: AtomicU64::new(0),
                full: AtomicBool::new(false),
            },
            powered: AtomicBool::new(false),
            requests: AtomicU8::new(0),
            fences_done: AtomicU64::new(0),
            vseip: AtomicBool::new(false),
        }
    }
}

#[unsafe(no_mangle)]
pub static PCPUS: [PerCpu; NUM_CPUS] = all();

/// This pCPU's entry.
#[inline(always)]
pub fn this() -> &'static PerCpu {
    let tp: usize;
    // SAFETY: boot code points tp at this hart's entry of PCPUS and hv never changes it (Rust
    // code here uses no thread-locals); the trap entry restores it from sscratch.
    unsafe {
        core::arch::asm!("mv {}, tp", out(reg) tp, options(nomem, nostack, preserves_flags));
        &*(tp as *const PerCpu)
    }
}

/// pCPU `i`'s entry.
pub fn of(i: usize) -> &'static PerCpu {
    &PCPUS[i]
}
