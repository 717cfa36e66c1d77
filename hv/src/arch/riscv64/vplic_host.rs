//! The virtual PLIC's host on this machine: each VM's `VPlic` (in its `Vm`, vms.rs) behind the
//! VM's lock, outputs delivered as VSEIP to the vCPU's hart (directly on this hart, else
//! through its entry and a kick), and hardware sources completed at the physical PLIC. Lock
//! order: device state, then the VM's `VPlic`.
use super::pcpu::{self, REQ_EIP};
use super::plic::{self, RISCV};
use super::vplic::PlicHost;
use super::{csr, firmware, vms};
use crate::machine::{HW_SPIS, VMS};
use core::sync::atomic::Ordering;
use hv_types::VmId;

/// The host for `vm`'s virtual PLIC.
pub struct Host {
    pub vm: VmId,
}

impl PlicHost for Host {
    fn set_eip(&mut self, k: usize, level: bool) {
        let Some(cpu) = VMS[self.vm.0].vcpus.get(k) else { return };
        let target = pcpu::of(cpu.0);
        target.vseip.store(level, Ordering::Release);
        if cpu.0 == pcpu::this().index {
            apply_vseip();
        } else {
            target.requests.fetch_or(REQ_EIP, Ordering::AcqRel);
            firmware::send_ipi(cpu.0);
        }
    }

    fn complete_hw(&mut self, source: u32) {
        // Claimed on the hart the source is routed to: its owner's vCPU 0.
        if HW_SPIS.iter().any(|&(s, owner)| s == source && owner == self.vm) {
            plic::complete(VMS[self.vm.0].vcpus[0].0, source);
        }
    }
}

/// This hart's vCPU's VSEIP as its virtual PLIC last set it.
pub fn apply_vseip() {
    if pcpu::this().vseip.load(Ordering::Acquire) {
        csr::write!("csrs", "0x645", csr::IRQ_VSEI);
    } else {
        csr::write!("csrc", "0x645", csr::IRQ_VSEI);
    }
}

/// A guest access to its virtual PLIC's window; `None` outside it.
pub fn route(
    vm: VmId,
    gpa: u64,
    width: hv_mmio::Width,
    op: hv_mmio::MmioOp,
) -> Option<Result<u64, hv_mmio::MmioFault>> {
    let off = gpa.checked_sub(RISCV.plic.0).filter(|&o| o < RISCV.plic_size)?;
    Some(vms::vm(vm).irqs.plic.lock().access(&mut Host { vm }, off as usize, width, op))
}
