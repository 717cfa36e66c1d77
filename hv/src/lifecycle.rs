//! What happens to a VM over its life, whatever the ISA: a vCPU stops, a VM stops and its other
//! vCPUs are sent away, the last VM powers the machine off, and a reset or crash restarts the VM
//! or stops it as its description says. The restart puts the VM back to its power-on state
//! (RAM zeroed, the image, initrd and DTB copied back from their pristine copies, its interrupt
//! controller and emulated devices reset) and hands vCPU 0 its entry point again; other VMs run
//! on throughout. The calls a guest makes of its firmware reach hv through `Caller`.
use crate::arch::Arch;
use crate::desc::Policy;
use crate::machine::VMS;
use crate::services::{Services, StartError};
use crate::vm::{self, Stop};
use crate::{console, hv_println};
use core::marker::PhantomData;
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
    let v = this.desc;
    hv_println!("hv: vm {} `{}` restarts ({})", vm.0, v.name, cause.describe());
    this.release_vcpu(me);
    A::kick_vm(vm);
    // The others leave at their next exit, which the kick forces.
    while !this.others_off(me) {
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
    // What it printed of a line before the reset shows.
    console::flush(this);
    this.reset();
    this.end_reset();
    if start::<A>(vm).is_err() {
        hv_println!("hv: vm `{}` cannot restart its vCPU 0", v.name);
    }
    A::park()
}

/// The machine is up (the boot CPU, once): console input starts, and every VM powers on.
pub fn boot<A: Arch>() {
    crate::console_in::init::<A>();
    for v in &VMS {
        if start::<A>(v.id).is_err() {
            hv_println!("hv: cannot start vm `{}`", v.name);
        }
    }
}

/// Power `vm` on: its vCPU 0 at its entry point, with its DTB's address as the first argument
/// (at boot, and after a restart).
pub fn start<A: Arch>(vm: VmId) -> Result<(), StartError> {
    let v = &VMS[vm.0];
    A::start_vcpu(vm, 0, v.entry.0, v.dtb.map_or(0, |d| d.0))
}

/// The vCPU on this pCPU calling its firmware: what PSCI, SBI and hv's own calls may do.
/// Zero-sized: the calls that need to know which vCPU it is look it up, so the hot ones
/// (hv's console and no-op calls) never do.
pub struct Caller<A>(PhantomData<A>);

impl<A: Arch> Caller<A> {
    pub const fn new() -> Self {
        Caller(PhantomData)
    }
}

impl<A: Arch> Default for Caller<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Arch> Services for Caller<A> {
    fn vcpu_index(&self) -> usize {
        A::current().1
    }
    fn vcpu_count(&self) -> usize {
        VMS[A::current().0 .0].vcpus.len()
    }
    fn console(&mut self, bytes: &[u8]) {
        console::vm_write(A::vm(A::current().0), bytes);
    }
    fn read_guest(&mut self, va: u64, buf: &mut [u8]) -> usize {
        A::read_guest(A::current().0, va, buf)
    }
    /// Never returns: the stopped vCPU's pCPU parks (or the machine powers off), and the
    /// VM's other pCPUs are kicked out of it.
    fn stop_vm(&mut self, status: u8) {
        stop::<A>(A::current().0, status)
    }
    fn reset_vm(&mut self) {
        let (vm, index) = A::current();
        end::<A>(vm, index, Cause::Reset)
    }
    fn stop_vcpu(&mut self) {
        let (vm, index) = A::current();
        finish::<A>(A::vm(vm).stop_vcpu(index))
    }
    fn vcpu_on(&self, i: usize) -> bool {
        A::vm(A::current().0).vcpu_on(i)
    }
    fn start_vcpu(&mut self, i: usize, entry: u64, context: u64) -> Result<(), StartError> {
        A::start_vcpu(A::current().0, i, entry, context)
    }
    fn is_ram(&self, ipa: u64) -> bool {
        VMS[A::current().0 .0].ram.iter().any(|w| ipa.wrapping_sub(w.ipa.0) < w.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::{ends_in, run_as, serial, take_log, Call, Fake};
    use crate::machine::NUM_VMS;
    use crate::services;

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
