//! Exit handlers: why the guest stopped (scause), served, and back to it. A guest can make hv
//! refuse an access (an access fault reflected to it), or stop or restart its own VM, never
//! crash hv.
use super::platform::Riscv64;
use super::regs::GuestRegs;
use super::sbi::{self, Fence, Hart};
use super::{csr, guest, irq};
use crate::arch::Arch;
use crate::caller::Caller;
use crate::lifecycle::{self, Cause};
use crate::machine::VMS;
use crate::services::Outcome;
use crate::{hv_println, vm};
use hv_types::VmId;

/// The calling vCPU's own timer, IPIs, fences and memory, as SBI needs them beside the shared
/// services (`Caller`).
struct ThisHart;

impl Hart for ThisHart {
    fn set_timer(&mut self, when: u64) {
        csr::write!("csrw", "0x24D", when); // vstimecmp
    }
    fn send_ipi(&mut self, targets: u64) {
        irq::guest_ipi(Riscv64::current().0, targets);
    }
    fn remote_fence(&mut self, targets: u64, fence: Fence) {
        let (vm, k) = Riscv64::current();
        // The wait serves kicks that reach this hart meanwhile: one may ask it to leave.
        if irq::remote_fence(vm, targets, fence) {
            lifecycle::interrupted::<Riscv64>(vm, k);
        }
    }
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> usize {
        read_phys(Riscv64::current().0, gpa, buf)
    }
    fn suspend(&mut self) {
        let (vm, k) = Riscv64::current();
        if irq::wait::<Riscv64>(vm) {
            lifecycle::interrupted::<Riscv64>(vm, k);
        }
    }
}

/// Copy the VM's RAM at guest-physical `gpa` (hv runs untranslated: the PA is the address),
/// up to the first byte outside it.
fn read_phys(vm: VmId, gpa: u64, buf: &mut [u8]) -> usize {
    let v = &VMS[vm.0];
    let mut done = 0;
    while done < buf.len() {
        let at = gpa.wrapping_add(done as u64);
        let Some(w) = v.ram.iter().find(|w| at.wrapping_sub(w.ipa.0) < w.size) else { break };
        let n = ((w.size - (at - w.ipa.0)) as usize).min(buf.len() - done);
        let pa = w.pa.0 + (at - w.ipa.0);
        // SAFETY: `[pa, pa + n)` is inside this VM's RAM window, which hv reaches untranslated.
        unsafe { core::ptr::copy_nonoverlapping(pa as *const u8, buf[done..].as_mut_ptr(), n) };
        done += n;
    }
    done
}

/// An SBI call (a quick exit: trap.rs saved only the caller-saved registers, and the call
/// reads and answers a0-a7 in place in the frame).
pub extern "C" fn hv_guest_ecall(regs: &mut GuestRegs) {
    // An ecall is 4 bytes; a call that stops the vCPU does not come back here.
    regs.sepc = regs.sepc.wrapping_add(4);
    let a: &mut sbi::SbiRegs = match regs.x.get_mut(10..18).and_then(|r| r.try_into().ok()) {
        Some(a) => a,
        None => unreachable!("x10-x17 are 8 of the frame's 32 registers"),
    };
    if sbi::dispatch(a, &mut Caller::<Riscv64>::new(), &mut ThisHart) == Outcome::Stopped {
        lifecycle::finish::<Riscv64>(vm::Stop::Already);
    }
}

/// An interrupt while the guest ran (a quick exit, as for an SBI call).
pub extern "C" fn hv_guest_irq(_regs: &mut GuestRegs, scause: u64) {
    let (vm, index) = Riscv64::current();
    if irq::handle::<Riscv64>(vm, index, scause & 0xFF) {
        lifecycle::interrupted::<Riscv64>(vm, index);
    }
}

/// Every exception but an SBI call or a guest page fault (mmio_exit.rs), with all the guest's
/// registers in the frame. A vCPU whose VM is stopping or restarting needs no check here: the
/// kick that says so is pending and is taken as soon as the guest runs again.
pub extern "C" fn hv_guest_trap(regs: &mut GuestRegs, scause: u64) {
    let (vm, index) = Riscv64::current();
    match scause {
        // A fetch from a hole in stage 2: there is nothing to run there.
        csr::EXC_INSN_GUEST_PAGE => {
            let stval = csr::read!("stval");
            reflect_or_stop(regs, vm, index, csr::EXC_INSN_ACCESS, stval);
        }
        // An instruction VS-mode may not run (an H-extension one, or a CSR hv keeps): illegal,
        // as on a hart without the H extension.
        csr::EXC_VIRTUAL_INSN => {
            let stval = csr::read!("stval");
            reflect_or_stop(regs, vm, index, csr::EXC_ILLEGAL, stval);
        }
        _ => {
            hv_println!(
                "hv: vm `{}` took exception {scause:#x} at {:#x}, which hv does not handle: it crashed",
                VMS[vm.0].name,
                regs.sepc
            );
            lifecycle::end::<Riscv64>(vm, index, Cause::Crash);
        }
    }
}

/// Reflect an exception; a guest with no trap handler in its RAM would fault forever: it
/// crashed (stop or restart it).
pub fn reflect_or_stop(regs: &mut GuestRegs, vm: VmId, index: usize, cause: u64, tval: u64) {
    let vector = guest::reflect(regs, cause, tval);
    // The handler runs in VS-mode whatever the faulting code ran in: look for it as that
    // supervisor would fetch it (the guest's next exit sets SPVP afresh).
    csr::write!("csrs", "0x600", csr::HSTATUS_SPVP);
    if guest::fetch(vector).is_none() {
        hv_println!(
            "hv: vm `{}` took exception {cause} at {:#x} with no trap handler mapped: it crashed",
            VMS[vm.0].name,
            csr::read!("0x241")
        );
        lifecycle::end::<Riscv64>(vm, index, Cause::Crash);
    }
}
