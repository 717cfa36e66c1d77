//! riscv64's VMs: the core's `Vm` around its virtual PLIC, kept here beside the harts (pcpu.rs)
//! and handed to the core through `Arch::vm` (platform.rs resets them through `IrqChip`).
use super::plic::RISCV;
use super::vplic::VPlic;
use crate::machine::{MAX_VCPUS, NUM_VMS, VMS, VM_HW_SPIS};
use crate::vm::{self, Vm};
use hv_types::VmId;

/// PLIC contexts per VM: an M- and an S-mode one per vCPU.
pub const CONTEXTS: usize = 2 * MAX_VCPUS;

/// A VM's virtual PLIC, behind the VM's lock.
pub struct VmIrqs {
    pub plic: spin::Mutex<VPlic<CONTEXTS>>,
}

const fn irqs() -> [VmIrqs; NUM_VMS] {
    let mut all = [const { VmIrqs { plic: spin::Mutex::new(VPlic::new(1, 1, [0; 32])) } }; NUM_VMS];
    let mut i = 0;
    while i < NUM_VMS {
        let mut hw = [0u32; 32];
        let mut w = 0;
        while w < VM_HW_SPIS[i].len() {
            hw[w] = VM_HW_SPIS[i][w];
            w += 1;
        }
        all[i].plic = spin::Mutex::new(VPlic::new(RISCV.plic_sources, VMS[i].vcpus.len(), hw));
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
