//! AArch64's VMs: the core's `Vm` around its virtual GIC, kept here beside the pCPUs (pcpu.rs)
//! and handed to the core through `Arch::vm` (platform.rs resets them through `IrqChip`).
use super::vgic::VGicd;
use super::vgic_config::VERSION;
use crate::machine::{NUM_VMS, VMS, VM_HW_SPIS};
use crate::vm::{self, Vm};
use core::sync::atomic::AtomicBool;
use hv_types::VmId;

/// A VM's virtual GIC: its distributor (what its vCPUs share; each vCPU's own part is in its
/// pCPU's entry) behind the VM's lock, and whether a delivery to one of its vCPUs was refused
/// (queue full): the distributor kept it pending, and the next refill sweeps it again.
pub struct VmIrqs {
    pub dist: spin::Mutex<VGicd>,
    pub refused: AtomicBool,
}

const fn irqs() -> [VmIrqs; NUM_VMS] {
    let mut all = [const {
        VmIrqs { dist: spin::Mutex::new(VGicd::new(VERSION, 1, [0; 4])), refused: AtomicBool::new(false) }
    }; NUM_VMS];
    let mut i = 0;
    while i < NUM_VMS {
        all[i].dist = spin::Mutex::new(VGicd::new(VERSION, VMS[i].vcpus.len(), VM_HW_SPIS[i]));
        i += 1;
    }
    all
}

/// The machine's VMs.
static VMS_RUN: [Vm<VmIrqs>; NUM_VMS] = vm::all(irqs());

/// VM `id`.
#[inline(always)]
pub fn vm(id: VmId) -> &'static Vm<VmIrqs> {
    &VMS_RUN[id.0]
}
