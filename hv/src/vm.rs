//! Runtime state of VMs and vCPUs: which are running, how each VM ended, and when the whole
//! machine is done. Descriptions (desc.rs) are immutable; this is the only VM state that changes.
use crate::machine::{MAX_VCPUS, NUM_VMS, VMS};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use hv_types::VmId;

/// Per-VM state: vCPUs running, and the exit status once stopped.
pub struct VmState {
    vcpu_on: [AtomicBool; MAX_VCPUS],
    /// 0 while running; 0x100 | status once stopped.
    stopped: AtomicU32,
}

impl VmState {
    const fn new() -> Self {
        VmState { vcpu_on: [const { AtomicBool::new(false) }; MAX_VCPUS], stopped: AtomicU32::new(0) }
    }
}

static STATE: [VmState; NUM_VMS] = [const { VmState::new() }; NUM_VMS];
static RUNNING_VMS: AtomicUsize = AtomicUsize::new(NUM_VMS);
/// First non-zero VM exit status, the machine's exit status.
static FIRST_FAILURE: AtomicU32 = AtomicU32::new(0);

pub fn vcpu_on(vm: VmId, i: usize) -> bool {
    STATE[vm.0].vcpu_on.get(i).is_some_and(|b| b.load(Ordering::Acquire))
}

/// Mark vCPU `i` running; false if it already was (or does not exist).
pub fn claim_vcpu(vm: VmId, i: usize) -> bool {
    STATE[vm.0].vcpu_on.get(i).is_some_and(|b| !b.swap(true, Ordering::AcqRel))
}

/// Undo `claim_vcpu` when the vCPU could not be started.
pub fn release_vcpu(vm: VmId, i: usize) {
    if let Some(b) = STATE[vm.0].vcpu_on.get(i) {
        b.store(false, Ordering::Release);
    }
}

pub fn is_stopped(vm: VmId) -> bool {
    STATE[vm.0].stopped.load(Ordering::Acquire) != 0
}

/// What happened when a VM stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Another vCPU already stopped it.
    Already,
    /// Stopped; other VMs still run.
    Stopped,
    /// Stopped, and it was the last one: the machine's exit status.
    Last(u8),
}

/// Stop `vm` with `status`.
pub fn stop_vm(vm: VmId, status: u8) -> Stop {
    let s = &STATE[vm.0];
    if s.stopped.compare_exchange(0, 0x100 | status as u32, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return Stop::Already;
    }
    for v in &s.vcpu_on {
        v.store(false, Ordering::Release);
    }
    if status != 0 {
        let _ = FIRST_FAILURE.compare_exchange(0, 0x100 | status as u32, Ordering::AcqRel, Ordering::Acquire);
    }
    crate::hv_println!("hv: vm {} `{}` exited with status {status}", vm.0, VMS[vm.0].name);
    if RUNNING_VMS.fetch_sub(1, Ordering::AcqRel) == 1 {
        Stop::Last(FIRST_FAILURE.load(Ordering::Acquire) as u8)
    } else {
        Stop::Stopped
    }
}

/// Stop vCPU `i`; stops the VM (status 0) when it was the last one running.
pub fn stop_vcpu(vm: VmId, i: usize) -> Stop {
    if let Some(b) = STATE[vm.0].vcpu_on.get(i) {
        b.store(false, Ordering::Release);
    }
    if STATE[vm.0].vcpu_on.iter().any(|b| b.load(Ordering::Acquire)) {
        Stop::Stopped
    } else {
        stop_vm(vm, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test owns the (global) run state of the default machine's single VM.
    #[test]
    fn claim_release_and_stop() {
        let vm = VmId(0);
        assert!(claim_vcpu(vm, 0));
        assert!(!claim_vcpu(vm, 0), "a running vCPU cannot be claimed twice");
        assert!(!claim_vcpu(vm, MAX_VCPUS), "no such vCPU");
        release_vcpu(vm, 0);
        assert!(!vcpu_on(vm, 0));
        assert!(claim_vcpu(vm, 0));
        assert!(!is_stopped(vm));
        // The last vCPU stopping stops the VM (status 0); with one VM the machine is done.
        let want = if NUM_VMS == 1 { Stop::Last(0) } else { Stop::Stopped };
        assert_eq!(stop_vcpu(vm, 0), want);
        assert!(is_stopped(vm));
        assert!(!vcpu_on(vm, 0));
        assert_eq!(stop_vm(vm, 3), Stop::Already, "a VM stops once");
    }
}
