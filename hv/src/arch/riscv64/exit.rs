//! Exit handlers: why the guest stopped (scause), served, and back to it. A guest can make hv
//! refuse an access (an access fault reflected to it), or stop or restart its own VM, never
//! crash hv.
use super::insn::{self, Htinst, MemAccess};
use super::platform::Riscv64;
use super::regs::GuestRegs;
use super::sbi::{self, Fence, Hart};
use super::{csr, guest, irq, vplic_host};
use crate::arch::Arch;
use crate::lifecycle::{self, Caller, Cause};
use crate::machine::{route_mmio, VMS};
use crate::mmio::DevCtx;
use crate::services::Outcome;
use crate::{hv_println, vm};
use hv_mmio::{MmioOp, Width};
use hv_types::{Ipa, VmId};

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
        irq::remote_fence(Riscv64::current().0, targets, fence);
    }
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> usize {
        read_phys(Riscv64::current().0, gpa, buf)
    }
    fn suspend(&mut self) {
        let (vm, k) = Riscv64::current();
        if irq::wait::<Riscv64>(vm) {
            lifecycle::leave::<Riscv64>(vm, k);
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

/// Every exit from a guest comes here, with its registers in its pCPU's frame.
pub extern "C" fn hv_guest_trap(regs: &mut GuestRegs) {
    let (vm, index) = Riscv64::current();
    let scause = csr::read!("scause");
    if scause >> 63 != 0 {
        if irq::handle::<Riscv64>(vm, index, scause & 0xFF) {
            lifecycle::leave::<Riscv64>(vm, index);
        }
        return;
    }
    if vm::must_leave(vm) {
        lifecycle::leave::<Riscv64>(vm, index);
    }
    match scause {
        csr::EXC_ECALL_VS => {
            // An ecall is 4 bytes; a call that stops the vCPU does not come back here.
            regs.sepc = regs.sepc.wrapping_add(4);
            // a0-a7 in place: the call reads and answers in the frame itself.
            let a: &mut sbi::SbiRegs = match regs.x.get_mut(10..18).and_then(|r| r.try_into().ok()) {
                Some(a) => a,
                None => unreachable!("x10-x17 are 8 of the frame's 32 registers"),
            };
            let outcome = sbi::dispatch(a, &mut Caller::<Riscv64>::new(), &mut ThisHart);
            if outcome == Outcome::Stopped {
                lifecycle::finish::<Riscv64>(vm::Stop::Already);
            }
            // A call that waited (a remote fence) may have taken the kick that asks this vCPU
            // to leave its VM.
            if vm::must_leave(vm) {
                lifecycle::leave::<Riscv64>(vm, index);
            }
        }
        csr::EXC_LOAD_GUEST_PAGE | csr::EXC_STORE_GUEST_PAGE => {
            let store = scause == csr::EXC_STORE_GUEST_PAGE;
            let stval = csr::read!("stval");
            let gpa = csr::read!("0x643") << 2 | (stval & 3); // htval
            if mmio(regs, vm, index, gpa).is_err() {
                let cause = if store { csr::EXC_STORE_ACCESS } else { csr::EXC_LOAD_ACCESS };
                reflect_or_stop(regs, vm, index, cause, stval);
            }
        }
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
fn reflect_or_stop(regs: &mut GuestRegs, vm: VmId, index: usize, cause: u64, tval: u64) {
    let vector = guest::reflect(regs, cause, tval);
    if guest::fetch(vector).is_none() {
        hv_println!(
            "hv: vm `{}` took exception {cause} at {:#x} with no trap handler mapped: it crashed",
            VMS[vm.0].name,
            csr::read!("0x241")
        );
        lifecycle::end::<Riscv64>(vm, index, Cause::Crash);
    }
}

/// Emulate the load or store behind a guest page fault at `gpa`. `Err` when it cannot be (no
/// device there, a refused access, an instruction that is no plain load or store): the caller
/// reflects an access fault, and nothing has changed.
fn mmio(regs: &mut GuestRegs, vm: VmId, index: usize, gpa: u64) -> Result<(), ()> {
    let access = match insn::decode_htinst(csr::read!("0x64A")) {
        Htinst::Access(a) => a,
        Htinst::Fetch => insn::decode(guest::fetch(regs.sepc).ok_or(())?).ok_or(())?,
        Htinst::Other => return Err(()),
    };
    let MemAccess { load, width, signed, reg, len } = access;
    let op = if load { MmioOp::Read } else { MmioOp::Write(regs.get(reg) & width.mask()) };
    let mut ctx = DevCtx::<Riscv64>::new(vm, index);
    let v = match route_mmio(vm, &mut ctx, Ipa(gpa), width, op)
        .or_else(|| vplic_host::route(vm, gpa, width, op))
    {
        Some(Ok(v)) => v,
        _ => return Err(()),
    };
    if load {
        regs.set(reg, extend(v, width, signed));
    }
    regs.sepc = regs.sepc.wrapping_add(len as u64);
    Ok(())
}

/// Sign- or zero-extend a loaded value into a 64-bit register.
fn extend(v: u64, width: Width, signed: bool) -> u64 {
    let sh = 64 - width.bits();
    if signed {
        (((v << sh) as i64) >> sh) as u64
    } else {
        (v << sh) >> sh
    }
}
