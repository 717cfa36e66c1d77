//! A VM at run time. `Vm` owns everything of one VM that changes: which of its vCPUs run,
//! whether it stopped (and how) or is restarting, its emulated devices, its virtual interrupt
//! controller (the architecture's type) and its partly printed console line; `Vm::reset` puts
//! all of them back to power-on in one place. Descriptions (desc.rs) are immutable. Each
//! architecture keeps the machine's VMs in a static of its own, as it keeps its pCPUs, and hands
//! them to the core through `Arch::vm`.
//!
//! Lock order, outermost first: a channel peer's doorbell (channel.rs), a VM's device state
//! (the generated cells), its interrupt controller, one vCPU's interrupt state (the architecture's), the VM's console line, the
//! console. Run state is atomics and takes no lock.
use crate::desc::VmDesc;
use crate::machine::{DEVICES, MAX_VCPUS, NUM_VMS, VMS};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use hv_mmio::cell::DeviceSet;
use hv_types::VmId;

/// Exit statuses hv gives a VM it stops (a guest's own HV_EXIT status is its own choice).
/// A crash: an exception hv cannot deliver (no vector table mapped).
pub const STATUS_CRASH: u8 = 255;
/// An SError (for example an external abort on a passthrough device).
pub const STATUS_SERROR: u8 = 254;
/// PSCI SYSTEM_RESET from a VM whose `on_reset` is `Stop` (Linux's reboot, or a panic).
pub const STATUS_RESET: u8 = 253;

/// Longest console line kept whole when VMs share the console; longer ones are split.
pub const LINE: usize = 160;
/// A VM's console output not yet printed: the line it is writing (console.rs).
pub type Line = heapless::Vec<u8, LINE>;

/// A VM's virtual interrupt controller, as its architecture implements it.
pub trait IrqChip: Sync {
    /// Back to its reset state, with what the VM's vCPUs had pending dropped and the physical
    /// interrupts the VM was handling released. No vCPU of the VM runs.
    fn reset(&self, vm: VmId);
}

/// One VM: its description and everything of it that changes.
pub struct Vm<I> {
    pub id: VmId,
    pub desc: &'static VmDesc,
    vcpu_on: [AtomicBool; MAX_VCPUS],
    /// Its run state in one word, so an exit path asks "must I stop running the guest?" with
    /// one load: 0 while running; `STOPPED | status`, `RESETTING`, `PAUSED` otherwise.
    run: AtomicU32,
    /// Its emulated devices (generated); accesses reach them through `machine::route_mmio`.
    devices: &'static dyn DeviceSet,
    /// Its virtual interrupt controller.
    pub irqs: I,
    /// Its output line being gathered (console.rs).
    pub(crate) line: spin::Mutex<Line>,
}

/// The machine's VMs around their interrupt controllers, in description order, at power-on:
/// for an architecture's static of them.
pub const fn all<I>(irqs: [I; NUM_VMS]) -> [Vm<I>; NUM_VMS] {
    let mut out = [const { MaybeUninit::<Vm<I>>::uninit() }; NUM_VMS];
    let mut i = 0;
    while i < NUM_VMS {
        // SAFETY: each element of `irqs` is read once, and `irqs` is forgotten below.
        let irq = unsafe { core::ptr::read(&irqs[i]) };
        out[i] = MaybeUninit::new(Vm {
            id: VmId(i),
            desc: &VMS[i],
            vcpu_on: [const { AtomicBool::new(false) }; MAX_VCPUS],
            run: AtomicU32::new(0),
            devices: DEVICES[i],
            irqs: irq,
            line: spin::Mutex::new(Line::new()),
        });
        i += 1;
    }
    core::mem::forget(irqs);
    // SAFETY: every element was written above; `MaybeUninit<T>` has `T`'s layout.
    unsafe { core::ptr::read((&raw const out).cast::<[Vm<I>; NUM_VMS]>()) }
}

/// `Vm::run` bits. Stopped, with the exit status in the low byte.
const STOPPED: u32 = 0x100;
/// A vCPU (or the VM's manager) is restarting it: its vCPUs leave, and none may be started.
const RESETTING: u32 = 0x200;
/// Its manager paused it: its vCPUs wait in hv, their state kept, until it resumes.
const PAUSED: u32 = 0x400;

/// VMs still running (not stopped), machine-wide.
static RUNNING_VMS: AtomicUsize = AtomicUsize::new(NUM_VMS);
/// First non-zero VM exit status, the machine's exit status.
static FIRST_FAILURE: AtomicU32 = AtomicU32::new(0);

/// What a VM is doing, as its manager and its channel peers see it (docs/channels.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RunState {
    /// Stopped (it exited, crashed under `Stop`, or its manager stopped it).
    Off = 0,
    Running = 1,
    Paused = 2,
    Restarting = 3,
}

/// What a VM's manager (or the console) asks of it (manage.rs): hv's call numbers them, the
/// management page's COMMAND register takes 1 to 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Query = 0,
    Stop = 1,
    Pause = 2,
    Resume = 3,
    Restart = 4,
}

impl Control {
    pub fn from_code(code: u64) -> Option<Control> {
        Some(match code {
            0 => Control::Query,
            1 => Control::Stop,
            2 => Control::Pause,
            3 => Control::Resume,
            4 => Control::Restart,
            _ => return None,
        })
    }
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

impl<I: IrqChip> Vm<I> {
    pub fn vcpu_on(&self, i: usize) -> bool {
        self.vcpu_on.get(i).is_some_and(|b| b.load(Ordering::Acquire))
    }

    /// Mark vCPU `i` running; false if it already was (or does not exist), or if the VM is
    /// stopped or restarting.
    pub fn claim_vcpu(&self, i: usize) -> bool {
        !self.must_leave() && self.vcpu_on.get(i).is_some_and(|b| !b.swap(true, Ordering::AcqRel))
    }

    /// vCPU `i` left the VM (or `claim_vcpu` is undone because it could not start).
    pub fn release_vcpu(&self, i: usize) {
        if let Some(b) = self.vcpu_on.get(i) {
            b.store(false, Ordering::Release);
        }
    }

    fn run(&self) -> u32 {
        self.run.load(Ordering::Acquire)
    }

    /// Change the run state if `f` allows it (`None`: not in this state); the word before.
    fn change(&self, f: impl FnMut(u32) -> Option<u32>) -> Option<u32> {
        self.run.fetch_update(Ordering::AcqRel, Ordering::Acquire, f).ok()
    }

    pub fn is_stopped(&self) -> bool {
        self.run() & STOPPED != 0
    }

    /// Must the VM's vCPUs leave it (it stopped, or one of them is restarting it)?
    pub fn must_leave(&self) -> bool {
        self.run() & (STOPPED | RESETTING) != 0
    }

    /// Must a vCPU of the VM stop running its guest, for good or (paused) for a while?
    pub fn must_exit(&self) -> bool {
        self.run() != 0
    }

    pub fn is_paused(&self) -> bool {
        self.run() & PAUSED != 0
    }

    pub fn state(&self) -> RunState {
        let r = self.run();
        if r & STOPPED != 0 {
            RunState::Off
        } else if r & RESETTING != 0 {
            RunState::Restarting
        } else if r & PAUSED != 0 {
            RunState::Paused
        } else {
            RunState::Running
        }
    }

    /// Pause a running VM; false if it is not running.
    pub fn pause(&self) -> bool {
        self.change(|r| (r == 0).then_some(PAUSED)).is_some()
    }

    /// Resume a paused VM; false if it is not paused.
    pub fn resume(&self) -> bool {
        self.change(|r| (r & PAUSED != 0).then_some(r & !PAUSED)).is_some()
    }

    /// Start restarting the VM from outside it (its manager): as `begin_reset`, and a stopped
    /// VM runs again, so it counts among the running ones. False if a restart is under way.
    pub fn begin_outside_reset(&self) -> bool {
        let Some(before) = self.change(|r| (r & RESETTING == 0).then_some(RESETTING | (r & PAUSED))) else {
            return false;
        };
        if before & STOPPED != 0 {
            RUNNING_VMS.fetch_add(1, Ordering::AcqRel);
        }
        true
    }

    /// Start restarting the VM; false if it is stopped or another vCPU is already restarting it.
    pub fn begin_reset(&self) -> bool {
        self.change(|r| (r & (STOPPED | RESETTING) == 0).then_some(r | RESETTING)).is_some()
    }

    /// Have all vCPUs but `me` left the VM?
    pub fn others_off(&self, me: usize) -> bool {
        self.vcpu_on.iter().enumerate().all(|(i, b)| i == me || !b.load(Ordering::Acquire))
    }

    /// Everything of a restarting VM that no vCPU runs back to power-on: its devices, its
    /// interrupt controller, its console line. (Its RAM is the architecture's to restore,
    /// lifecycle.rs.)
    pub fn reset(&self) {
        assert!(
            self.run() & RESETTING != 0 && self.others_off(usize::MAX),
            "a VM resets only while restarting, with every vCPU out of it"
        );
        // SAFETY: no vCPU of the VM runs (checked above), and none can start until `end_reset`;
        // the caller, the restarting vCPU's hv code, holds no reference into the devices.
        unsafe { self.devices.reset() };
        self.irqs.reset(self.id);
        self.line.lock().clear();
    }

    /// The restart is done: vCPUs may be started again, and it runs (a paused VM too).
    pub fn end_reset(&self) {
        self.run.fetch_and(!(RESETTING | PAUSED), Ordering::AcqRel);
    }

    /// Stop the VM with `status`.
    pub fn stop(&self, status: u8) -> Stop {
        // A stop ends a pause; a restart under way (its manager's) is left to see the stop.
        if self.change(|r| (r & STOPPED == 0).then_some((r & RESETTING) | STOPPED | status as u32)).is_none()
        {
            return Stop::Already;
        }
        for v in &self.vcpu_on {
            v.store(false, Ordering::Release);
        }
        if status != 0 {
            let _ =
                FIRST_FAILURE.compare_exchange(0, 0x100 | status as u32, Ordering::AcqRel, Ordering::Acquire);
        }
        crate::hv_println!("hv: vm {} `{}` exited with status {status}", self.id.0, self.desc.name);
        if RUNNING_VMS.fetch_sub(1, Ordering::AcqRel) == 1 {
            Stop::Last(FIRST_FAILURE.load(Ordering::Acquire) as u8)
        } else {
            Stop::Stopped
        }
    }

    /// Stop vCPU `i`; stops the VM (status 0) when it was the last one running.
    pub fn stop_vcpu(&self, i: usize) -> Stop {
        self.release_vcpu(i);
        if self.vcpu_on.iter().any(|b| b.load(Ordering::Acquire)) {
            Stop::Stopped
        } else {
            self.stop(0)
        }
    }
}

/// Back to power-on: every VM running, no vCPU on, nothing pending (host tests, which share
/// the machine's state).
#[cfg(test)]
pub fn power_on<I: IrqChip>(vms: &[Vm<I>]) {
    for v in vms {
        for b in &v.vcpu_on {
            b.store(false, Ordering::Release);
        }
        v.run.store(0, Ordering::Release);
        v.line.lock().clear();
    }
    RUNNING_VMS.store(NUM_VMS, Ordering::Release);
    FIRST_FAILURE.store(0, Ordering::Release);
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::arch::fake::{self, Call, Fake};
    use crate::arch::Arch;
    use crate::machine::route_mmio;
    use crate::mmio::DevCtx;
    use hv_mmio::{MmioOp, Width};
    use hv_types::Ipa;

    #[test]
    fn claim_release_and_stop() {
        let _g = fake::serial();
        let vm = Fake::vm(VmId(0));
        assert!(vm.claim_vcpu(0));
        assert!(!vm.claim_vcpu(0), "a running vCPU cannot be claimed twice");
        assert!(!vm.claim_vcpu(MAX_VCPUS), "no such vCPU");
        vm.release_vcpu(0);
        assert!(!vm.vcpu_on(0));
        assert!(vm.claim_vcpu(0));
        assert!(!vm.is_stopped());
        // A restart keeps every vCPU out until it is done, and only one vCPU runs it.
        assert!(vm.begin_reset());
        assert!(!vm.begin_reset(), "one restart at a time");
        assert!(vm.must_leave());
        assert!(vm.others_off(0));
        vm.release_vcpu(0);
        assert!(!vm.claim_vcpu(0), "no vCPU starts during a restart");
        vm.end_reset();
        assert!(!vm.must_leave());
        assert!(vm.claim_vcpu(0));
        // The last vCPU stopping stops the VM (status 0); with one VM the machine is done.
        let want = if NUM_VMS == 1 { Stop::Last(0) } else { Stop::Stopped };
        assert_eq!(vm.stop_vcpu(0), want);
        assert!(vm.is_stopped());
        assert!(!vm.vcpu_on(0));
        assert_eq!(vm.stop(3), Stop::Already, "a VM stops once");
        assert!(!vm.begin_reset(), "a stopped VM does not restart");
        assert!(!vm.claim_vcpu(0), "nor do its vCPUs start");
    }

    /// The one reset: devices, interrupt controller and console line, and only while the VM
    /// restarts with no vCPU in it.
    #[test]
    fn reset_puts_everything_back() {
        let _g = fake::serial();
        let vm = Fake::vm(VmId(0));
        // The default machine's VM 0 has a PL011 at 0x900_0000: its interrupt mask (IMSC, 0x38)
        // is 0 at power-on.
        let imsc =
            |op| route_mmio(VmId(0), &mut DevCtx::<Fake>::new(VmId(0), 0), Ipa(0x900_0038), Width::B32, op);
        assert_eq!(imsc(MmioOp::Read), Some(Ok(0)));
        assert_eq!(imsc(MmioOp::Write(0x10)), Some(Ok(0)));
        assert_eq!(imsc(MmioOp::Read), Some(Ok(0x10)));
        let _ = vm.line.lock().extend_from_slice(b"half a line");
        assert!(vm.claim_vcpu(0) && vm.begin_reset());
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.reset()));
        assert!(refused.is_err(), "a vCPU still runs: no reset");
        vm.release_vcpu(0);
        fake::take_log();
        vm.reset();
        assert_eq!(fake::take_log(), [Call::ResetIrqs(VmId(0))]);
        assert!(vm.line.lock().is_empty());
        assert_eq!(imsc(MmioOp::Read), Some(Ok(0)), "the PL011 is back at power-on");
        vm.end_reset();
    }
}
