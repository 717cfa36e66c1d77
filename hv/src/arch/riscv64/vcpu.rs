//! Entering a vCPU: its VM's stage 2 (hgatp, one VMID per VM), VS-mode state from reset, its
//! timer idle, and a first `sret` into VS-mode at its entry with a0 = its hart ID (the vCPU
//! index) and a1 = `arg` (the DTB for vCPU 0, the caller's opaque value for an HSM start).
use super::regs::{GuestRegs, OFF_SEPC};
use super::{csr, pcpu};
use crate::desc::VmDesc;

unsafe extern "C" {
    /// Load the guest's registers from the frame at a0 and `sret` to it (trap.rs).
    fn hv_return_to_guest(frame: *mut GuestRegs) -> !;
}

pub fn enter(vm: &'static VmDesc, k: usize, entry: u64, arg: u64) -> ! {
    csr::write!("csrw", "0x680", vm.stage2); // hgatp

    // SAFETY: flushes G-stage translations (the VMID may have held another life of this VM);
    // fence.i makes an image a restart copied back visible to instruction fetch on this hart.
    unsafe { core::arch::asm!(".insn r 0x73, 0, 0x31, x0, x0, x0", "fence.i", options(nostack)) };
    // VS-mode from reset: no translation, no traps set up, nothing pending, timer idle.
    csr::write!("csrw", "0x280", 0); // vsatp
    csr::write!("csrw", "0x200", 0); // vsstatus
    csr::write!("csrw", "0x204", 0); // vsie
    csr::write!("csrw", "0x205", 0); // vstvec
    csr::write!("csrw", "0x240", 0); // vsscratch
    csr::write!("csrw", "0x645", 0); // hvip
    super::vplic_host::apply_vseip();
    csr::write!("csrw", "0x24D", u64::MAX); // vstimecmp
    csr::write!("csrw", "0x605", 0); // htimedelta

    // sret to VS-mode (hstatus.SPV, sstatus.SPP), with its FP registers usable.
    csr::write!("csrs", "0x600", csr::HSTATUS_SPV | csr::HSTATUS_SPVP);
    csr::write!("csrs", "sstatus", csr::SSTATUS_SPP | csr::SSTATUS_FS_INITIAL);
    let me = pcpu::this();
    let frame = me.frame.get();
    // SAFETY: this hart's own frame; nothing else holds a reference to it now.
    unsafe {
        *frame = GuestRegs::default();
        (*frame).x[10] = k as u64;
        (*frame).x[11] = arg;
        (*frame).sepc = entry;
        hv_return_to_guest(frame)
    }
}

const _: () = assert!(OFF_SEPC == 256);
