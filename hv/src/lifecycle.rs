//! What happens to a VM over its life, whatever the ISA: a vCPU stops, a VM stops and its other
//! vCPUs are sent away, the last VM powers the machine off, and a reset or crash restarts the VM
//! or stops it as its description says. The restart puts the VM back to its power-on state
//! (RAM zeroed, the image, initrd and DTB copied back from their pristine copies, its interrupt
//! controller and emulated devices reset, its side of each channel too) and hands vCPU 0 its
//! entry point again; other VMs run on throughout. A restart may also come from outside the VM
//! (its manager, the console), and a paused VM's vCPUs wait here (`interrupted`).
use crate::arch::Arch;
use crate::desc::Policy;
use crate::machine::VMS;
use crate::services::StartError;
use crate::vm::{self, Stop};
use crate::{console, hv_println};
use hv_types::VmId;

/// Why a VM ends or restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The guest asked its firmware for a reset (PSCI SYSTEM_RESET, SBI system reset).
    Reset,
    /// An exception hv cannot deliver.
    Crash,
    /// An asynchronous error the guest caused (an SError).
    SError,
}

impl Cause {
    fn policy(self, vm: VmId) -> Policy {
        match self {
            Cause::Reset => VMS[vm.0].on_reset,
            Cause::Crash | Cause::SError => VMS[vm.0].on_crash,
        }
    }

    /// The exit status when the policy is `Stop`.
    pub fn status(self) -> u8 {
        match self {
            Cause::Reset => vm::STATUS_RESET,
            Cause::Crash => vm::STATUS_CRASH,
            Cause::SError => vm::STATUS_SERROR,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Cause::Reset => "the guest asked for a reset",
            Cause::Crash => "crashed",
            Cause::SError => "SError",
        }
    }
}

/// A stopped vCPU never returns to its guest: its pCPU parks (or, after the last VM, the
/// machine powers off).
pub fn finish<A: Arch>(stop: Stop) -> ! {
    if let Stop::Last(status) = stop {
        hv_println!("hv: all VMs stopped, exit status {status}");
        A::system_off();
    }
    A::park()
}

/// Stop `vm` with `status` and kick its other vCPUs out.
pub fn stop<A: Arch>(vm: VmId, status: u8) -> ! {
    let stop = A::vm(vm).stop(status);
    A::kick_vm(vm);
    if stop != Stop::Already {
        crate::channel::changed::<A>(vm);
    }
    finish::<A>(stop)
}

/// The VM reset or crashed: restart it or stop it, as its description says.
pub fn end<A: Arch>(vm: VmId, index: usize, cause: Cause) -> ! {
    restart_if_wanted::<A>(vm, index, cause);
    stop::<A>(vm, cause.status())
}

/// This vCPU must leave its VM (stopped, or restarting from another vCPU).
pub fn leave<A: Arch>(vm: VmId, index: usize) -> ! {
    A::vm(vm).release_vcpu(index);
    finish::<A>(Stop::Already)
}

/// vCPU `index` of `vm` was told to stop running its guest (`Vm::must_exit`): it leaves for
/// good if the VM stopped or restarts; if the VM is paused it waits here, its state kept,
/// and returns to the guest once the VM resumes.
pub fn interrupted<A: Arch>(vm: VmId, index: usize) {
    let this = A::vm(vm);
    while this.is_paused() && !this.must_leave() {
        A::idle(vm, index);
    }
    if this.must_leave() {
        leave::<A>(vm, index);
    }
}

/// Restart `vm` from vCPU `me` if its policy for `cause` says `Restart`; then this never
/// returns. It returns when the policy says `Stop`: the caller stops the VM.
pub fn restart_if_wanted<A: Arch>(vm: VmId, me: usize, cause: Cause) {
    if cause.policy(vm) == Policy::Stop {
        return;
    }
    let this = A::vm(vm);
    if !this.begin_reset() {
        // Another vCPU is restarting it (or it stopped): just leave.
        this.release_vcpu(me);
        A::park();
    }
    hv_println!("hv: vm {} `{}` restarts ({})", vm.0, this.desc.name, cause.describe());
    this.release_vcpu(me);
    restore_and_start::<A>(vm);
    A::park()
}

/// Restart `vm` from outside it (its manager, the console), whatever its state; `why` is
/// printed. False if a restart is already under way. The vCPU or pCPU asking waits until
/// the VM's vCPUs have left it and it is back at power-on. `here`: the asker's pCPU runs
/// vCPU `here` of `vm` itself, which leaves it, and the pCPU parks after the restart.
pub fn restart_from_outside<A: Arch>(vm: VmId, why: &str, here: Option<usize>) -> bool {
    let this = A::vm(vm);
    if !this.begin_outside_reset() {
        return false;
    }
    hv_println!("hv: vm {} `{}` restarts ({why})", vm.0, this.desc.name);
    if let Some(k) = here {
        this.release_vcpu(k);
    }
    restore_and_start::<A>(vm);
    if here.is_some() {
        A::park();
    }
    true
}

/// A restart begun (`begin_reset`), with the caller's own vCPU of the VM, if any, released:
/// the others leave, everything of the VM goes back to power-on, and vCPU 0 starts again.
fn restore_and_start<A: Arch>(vm: VmId) {
    let this = A::vm(vm);
    let v = this.desc;
    A::kick_vm(vm);
    // The others leave at their next exit, which the kick forces.
    while !this.others_off(usize::MAX) {
        core::hint::spin_loop();
    }
    for w in v.ram.iter().filter(|w| !w.read_only) {
        A::zero_ram(w);
    }
    for r in v.restore {
        A::copy_back(r);
    }
    for w in v.ram {
        A::publish_ram(w);
    }
    crate::channel::reset_side::<A>(vm);
    // What it printed of a line before the reset shows.
    console::flush(this);
    this.reset();
    this.end_reset();
    // Its channels' state tables say it runs, with its new restart count, before its guest can
    // read them.
    crate::channel::changed::<A>(vm);
    if start::<A>(vm).is_err() {
        hv_println!("hv: vm `{}` cannot restart its vCPU 0", v.name);
    }
}

/// Power `vm` on: its vCPU 0 at its entry point, with its DTB's address as the first argument
/// (at boot, and after a restart).
pub fn start<A: Arch>(vm: VmId) -> Result<(), StartError> {
    let v = &VMS[vm.0];
    A::start_vcpu(vm, 0, v.entry.0, v.dtb.map_or(0, |d| d.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::{ends_in, run_as, serial, Call, Fake};

    /// What hv asked of the architecture, without its channels' part (channel/tests.rs).
    fn take_log() -> Vec<Call> {
        let in_channel = |pa: hv_types::Pa| {
            crate::machine::CHANNELS.iter().any(|c| pa.0.wrapping_sub(c.region.pa.0) < c.region.size)
        };
        crate::arch::fake::take_log()
            .into_iter()
            .filter(|c| match c {
                Call::Word { .. } | Call::Line { .. } => false,
                Call::Zero { pa, .. } | Call::Publish { pa, .. } => !in_channel(*pa),
                _ => true,
            })
            .collect()
    }
    use crate::caller::Caller;
    use crate::machine::NUM_VMS;
    use crate::services::{self, Services};

    fn vm0() -> VmId {
        VmId(0)
    }

    /// The default machine's VM restarts on a reset: everything of it is put back, in order,
    /// and only then is its vCPU 0 started again, at its entry with its DTB.
    #[test]
    fn a_reset_restarts_the_vm_from_its_pristine_copies() {
        let _g = serial();
        let v = &VMS[0];
        assert_eq!(v.on_reset, Policy::Restart, "the default machine restarts its VM");
        run_as(v.vcpus[0].0, vm0(), 0);
        assert!(Fake::vm(vm0()).claim_vcpu(0));
        assert_eq!(ends_in(|| Caller::<Fake>::new().reset_vm()), "park");
        let mut want = vec![Call::Kick(vm0())];
        want.extend(v.ram.iter().filter(|w| !w.read_only).map(|w| Call::Zero { pa: w.pa, len: w.size }));
        want.extend(v.restore.iter().map(|r| Call::CopyBack { from: r.from, to: r.to, len: r.len }));
        want.extend(v.ram.iter().map(|w| Call::Publish { pa: w.pa, len: w.size }));
        want.push(Call::ResetIrqs(vm0()));
        want.push(Call::Start { vm: vm0(), k: 0, entry: v.entry.0, arg: v.dtb.map_or(0, |d| d.0) });
        assert_eq!(take_log(), want);
        assert!(!Fake::vm(vm0()).must_leave(), "the restart is over");
        assert!(Fake::vm(vm0()).vcpu_on(0), "vCPU 0 runs again");
    }

    /// A crash under `on_crash: Stop` stops the VM with the crash status; the last VM to stop
    /// powers the machine off.
    #[test]
    fn a_crash_stops_the_vm_and_the_last_one_powers_off() {
        let _g = serial();
        assert_eq!(VMS[0].on_crash, Policy::Stop);
        run_as(0, vm0(), 0);
        assert!(Fake::vm(vm0()).claim_vcpu(0));
        let end_of = ends_in(|| end::<Fake>(vm0(), 0, Cause::Crash));
        assert_eq!(end_of, if NUM_VMS == 1 { "system_off" } else { "park" });
        assert!(Fake::vm(vm0()).is_stopped());
        assert_eq!(take_log(), [Call::Kick(vm0())], "nothing is restored for a stop");
        // A second stop, from another vCPU, finds it stopped and only parks.
        assert_eq!(ends_in(|| stop::<Fake>(vm0(), 1)), "park");
    }

    /// A vCPU that starts a restart while another one does leaves quietly.
    #[test]
    fn one_restart_at_a_time() {
        let _g = serial();
        run_as(0, vm0(), 0);
        assert!(Fake::vm(vm0()).claim_vcpu(0));
        assert!(Fake::vm(vm0()).begin_reset());
        assert_eq!(ends_in(|| restart_if_wanted::<Fake>(vm0(), 0, Cause::Reset)), "park");
        assert!(take_log().is_empty());
        assert!(!Fake::vm(vm0()).vcpu_on(0), "the vCPU left");
    }

    /// Calls from the guest reach the VM's own state through `Caller`.
    #[test]
    fn the_caller_serves_the_current_vcpu() {
        let _g = serial();
        run_as(0, vm0(), 0);
        assert!(Fake::vm(vm0()).claim_vcpu(0));
        let mut c = Caller::<Fake>::new();
        assert_eq!((c.vcpu_index(), c.vcpu_count()), (0, VMS[0].vcpus.len()));
        let ram = &VMS[0].ram[0];
        assert!(c.is_ram(ram.ipa.0) && !c.is_ram(ram.ipa.0 + ram.size) && !c.is_ram(0));
        assert_eq!(services::cpu_on(&mut c, Some(0), ram.ipa.0, 0), Err(StartError::AlreadyOn));
        let end = ram.ipa.0 + ram.size;
        assert_eq!(services::puts(&mut c, end - 3, 8), Some(3), "stops at the end of RAM");
        // CPU_OFF of the only vCPU stops the VM.
        assert_eq!(ends_in(|| c.stop_vcpu()), if NUM_VMS == 1 { "system_off" } else { "park" });
        assert!(Fake::vm(vm0()).is_stopped());
    }
}
