//! Runtime state of VMs and vCPUs: which are running, which VM is being restarted, how each VM
//! ended, and when the whole machine is done. Descriptions (desc.rs) are immutable; this is the
//! only VM state that changes.
use crate::machine::{MAX_VCPUS, NUM_VMS, VMS};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use hv_types::VmId;

/// Exit statuses hv gives a VM it stops (a guest's own HV_EXIT status is its own choice).
/// A crash: an exception hv cannot deliver (no vector table mapped).
pub const STATUS_CRASH: u8 = 255;
/// An SError (for example an external abort on a passthrough device).
pub const STATUS_SERROR: u8 = 254;
/// PSCI SYSTEM_RESET from a VM whose `on_reset` is `Stop` (Linux's reboot, or a panic).
pub const STATUS_RESET: u8 = 253;

/// Per-VM state: vCPUs running, a restart in progress, and the exit status once stopped.
pub struct VmState {
    vcpu_on: [AtomicBool; MAX_VCPUS],
    /// 0 while running; 0x100 | status once stopped.
    stopped: AtomicU32,
    /// A vCPU is restarting the VM: the others leave it, and none may be started.
    resetting: AtomicBool,
}

impl VmState {
    const fn new() -> Self {
        VmState {
            vcpu_on: [const { AtomicBool::new(false) }; MAX_VCPUS],
            stopped: AtomicU32::new(0),
            resetting: AtomicBool::new(false),
        }
    }
}

static STATE: [VmState; NUM_VMS] = [const { VmState::new() }; NUM_VMS];
static RUNNING_VMS: AtomicUsize = AtomicUsize::new(NUM_VMS);
/// First non-zero VM exit status, the machine's exit status.
static FIRST_FAILURE: AtomicU32 = AtomicU32::new(0);

/// Back to power-on: every VM running, no vCPU on (host tests, which share this state).
#[cfg(test)]
pub fn power_on() {
    for s in &STATE {
        for v in &s.vcpu_on {
            v.store(false, Ordering::Release);
        }
        s.stopped.store(0, Ordering::Release);
        s.resetting.store(false, Ordering::Release);
    }
    RUNNING_VMS.store(NUM_VMS, Ordering::Release);
    FIRST_FAILURE.store(0, Ordering::Release);
}

pub fn vcpu_on(vm: VmId, i: usize) -> bool {
    STATE[vm.0].vcpu_on.get(i).is_some_and(|b| b.load(Ordering::Acquire))
}

/// Mark vCPU `i` running; false if it already was (or does not exist), or if the VM is
/// stopped or restarting.
pub fn claim_vcpu(vm: VmId, i: usize) -> bool {
    !must_leave(vm) && STATE[vm.0].vcpu_on.get(i).is_some_and(|b| !b.swap(true, Ordering::AcqRel))
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

/// Must the VM's vCPUs leave it (it stopped, or one of them is restarting it)?
pub fn must_leave(vm: VmId) -> bool {
    is_stopped(vm) || STATE[vm.0].resetting.load(Ordering::Acquire)
}

/// Start restarting `vm`; false if it is stopped or another vCPU is already restarting it.
pub fn begin_reset(vm: VmId) -> bool {
    !is_stopped(vm) && !STATE[vm.0].resetting.swap(true, Ordering::AcqRel)
}

/// Have all vCPUs but `me` left the VM?
pub fn others_off(vm: VmId, me: usize) -> bool {
    STATE[vm.0].vcpu_on.iter().enumerate().all(|(i, b)| i == me || !b.load(Ordering::Acquire))
}

/// The restart is done: vCPUs may be started again.
pub fn end_reset(vm: VmId) {
    STATE[vm.0].resetting.store(false, Ordering::Release);
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

    #[test]
    fn claim_release_and_stop() {
        let _g = crate::arch::fake::serial();
        let vm = VmId(0);
        assert!(claim_vcpu(vm, 0));
        assert!(!claim_vcpu(vm, 0), "a running vCPU cannot be claimed twice");
        assert!(!claim_vcpu(vm, MAX_VCPUS), "no such vCPU");
        release_vcpu(vm, 0);
        assert!(!vcpu_on(vm, 0));
        assert!(claim_vcpu(vm, 0));
        assert!(!is_stopped(vm));
        // A restart keeps every vCPU out until it is done, and only one vCPU runs it.
        assert!(begin_reset(vm));
        assert!(!begin_reset(vm), "one restart at a time");
        assert!(must_leave(vm));
        assert!(others_off(vm, 0));
        release_vcpu(vm, 0);
        assert!(!claim_vcpu(vm, 0), "no vCPU starts during a restart");
        end_reset(vm);
        assert!(!must_leave(vm));
        assert!(claim_vcpu(vm, 0));
        // The last vCPU stopping stops the VM (status 0); with one VM the machine is done.
        let want = if NUM_VMS == 1 { Stop::Last(0) } else { Stop::Stopped };
        assert_eq!(stop_vcpu(vm, 0), want);
        assert!(is_stopped(vm));
        assert!(!vcpu_on(vm, 0));
        assert_eq!(stop_vm(vm, 3), Stop::Already, "a VM stops once");
        assert!(!begin_reset(vm), "a stopped VM does not restart");
        assert!(!claim_vcpu(vm, 0), "nor do its vCPUs start");
    }
}
