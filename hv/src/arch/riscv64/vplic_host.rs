//! The virtual PLIC's host on this machine: each VM's `VPlic` behind the VM's lock, outputs
//! delivered as VSEIP to the vCPU's hart (directly on this hart, else through its entry and a
//! kick), and hardware sources completed at the physical PLIC. Lock order: device state, then
//! `VPLIC[vm]`.
use super::pcpu::{self, REQ_EIP};
use super::plic::{self, RISCV};
use super::vplic::{PlicHost, VPlic};
use super::{csr, firmware};
use crate::machine::{HW_SPIS, MAX_VCPUS, NUM_VMS, VMS, VM_HW_SPIS};
use core::sync::atomic::Ordering;
use hv_types::VmId;

/// Contexts per VM: an M- and an S-mode one per vCPU.
pub const CONTEXTS: usize = 2 * MAX_VCPUS;

const fn plics() -> [spin::Mutex<VPlic<CONTEXTS>>; NUM_VMS] {
    let mut all = [const { spin::Mutex::new(VPlic::new(1, 1, [0; 32])) }; NUM_VMS];
    let mut i = 0;
    while i < NUM_VMS {
        let mut hw = [0u32; 32];
        let mut w = 0;
        while w < VM_HW_SPIS[i].len() {
            hw[w] = VM_HW_SPIS[i][w];
            w += 1;
        }
        all[i] = spin::Mutex::new(VPlic::new(RISCV.plic_sources, VMS[i].vcpus.len(), hw));
        i += 1;
    }
    all
}

/// Each VM's virtual PLIC.
pub static VPLIC: [spin::Mutex<VPlic<CONTEXTS>>; NUM_VMS] = plics();

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
    Some(VPLIC[vm.0].lock().access(&mut Host { vm }, off as usize, width, op))
}
