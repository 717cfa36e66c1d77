//! A VM's restart (PSCI SYSTEM_RESET, or a crash, when its policy says `Restart`): its other
//! vCPUs are kicked out and park, then the vCPU that asked puts the VM back to its power-on
//! state (RAM zeroed, the image, initrd and DTB copied back from their pristine copies, the
//! virtual GIC and emulated devices reset) and hands vCPU 0 its entry point again. Other VMs
//! run on throughout.
use super::vgic_host::VGIC;
use super::{boot, irq, mem};
use crate::desc::Policy;
use crate::machine::{reset_devices, VMS};
use crate::{hv_println, vm};
use hv_types::VmId;

/// Why a VM ends or restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// PSCI SYSTEM_RESET.
    Reset,
    /// An exception hv cannot deliver.
    Crash,
    /// An SError.
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
}

/// Restart `vm` from vCPU `me` if its policy for `cause` says `Restart`; then this never
/// returns. It returns when the policy says `Stop`: the caller stops the VM.
pub fn restart_if_wanted(vm: VmId, me: usize, cause: Cause) {
    if cause.policy(vm) == Policy::Stop {
        return;
    }
    if !vm::begin_reset(vm) {
        // Another vCPU is restarting it (or it stopped): just leave.
        vm::release_vcpu(vm, me);
        boot::park();
    }
    hv_println!(
        "hv: vm {} `{}` restarts ({})",
        vm.0,
        VMS[vm.0].name,
        match cause {
            Cause::Reset => "PSCI SYSTEM_RESET",
            Cause::Crash => "crashed",
            Cause::SError => "SError",
        }
    );
    vm::release_vcpu(vm, me);
    irq::kick_vm(vm);
    // The others leave at their next exit, which the kick forces.
    while !vm::others_off(vm, me) {
        core::hint::spin_loop();
    }
    restore_memory(vm);
    VGIC[vm.0].lock().reset();
    reset_devices(vm);
    irq::reset_vm(vm);
    vm::end_reset(vm);
    let v = &VMS[vm.0];
    if boot::start_vcpu(vm, 0, v.entry.0, v.dtb.map_or(0, |d| d.0)).is_err() {
        hv_println!("hv: vm `{}` cannot restart its vCPU 0", v.name);
    }
    boot::park()
}

/// Zero the VM's writable RAM and copy its image, initrd and DTB back.
fn restore_memory(vm: VmId) {
    let v = &VMS[vm.0];
    for w in v.ram.iter().filter(|w| !w.read_only) {
        mem::zero(w.pa.0 as usize, w.size as usize);
    }
    for r in v.restore {
        mem::copy(r.from.0 as usize, r.to.0 as usize, r.len as usize);
    }
    for w in v.ram {
        mem::publish(w.pa.0 as usize, w.size as usize);
    }
}
