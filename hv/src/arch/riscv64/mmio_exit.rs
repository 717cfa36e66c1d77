//! A guest load or store that stage 2 sent to hv (a guest page fault): decoded, performed on the
//! device at its guest-physical address, or refused with an access fault reflected to the guest.
use super::insn::{self, Htinst, MemAccess};
use super::platform::Riscv64;
use super::regs::GuestRegs;
use super::{csr, exit, guest, vplic_host};
use crate::arch::Arch;
use crate::machine::route_mmio;
use crate::mmio::DevCtx;
use hv_mmio::{MmioOp, Width};
use hv_types::{Ipa, VmId};

/// Emulate the access behind a load or store guest page fault (`scause` says which).
pub extern "C" fn hv_guest_page_fault(regs: &mut GuestRegs, scause: u64) {
    let store = scause == csr::EXC_STORE_GUEST_PAGE;
    // The CSRs first: a fetch that faults overwrites them.
    let tval = csr::read!("stval");
    let gpa = csr::read!("0x643") << 2 | (tval & 3); // htval
    let access = match insn::decode_htinst(csr::read!("0x64A")) {
        Htinst::Access(a) => Some(a),
        Htinst::Fetch => guest::fetch(regs.sepc).and_then(insn::decode),
        Htinst::Other => None,
    }
    // Code another vCPU rewrote since the fault is not the access that faulted.
    .filter(|a| a.load != store);
    let (vm, index) = Riscv64::current();
    if access.and_then(|a| emulate(regs, vm, index, gpa, a)).is_none() {
        let cause = if store { csr::EXC_STORE_ACCESS } else { csr::EXC_LOAD_ACCESS };
        exit::reflect_or_stop(regs, vm, index, cause, tval);
    }
}

/// The load or store `access` at `gpa` on the device there. `None` when no device takes it (none
/// there, or it refuses the access): nothing has changed.
fn emulate(regs: &mut GuestRegs, vm: VmId, index: usize, gpa: u64, access: MemAccess) -> Option<()> {
    let MemAccess { load, width, signed, reg, len } = access;
    let op = if load { MmioOp::Read } else { MmioOp::Write(regs.get(reg) & width.mask()) };
    let mut ctx = DevCtx::<Riscv64>::new(vm, index);
    let v = route_mmio(vm, &mut ctx, Ipa(gpa), width, op)
        .or_else(|| vplic_host::route(vm, gpa, width, op))
        .or_else(|| crate::mmio::hv_pages::<Riscv64>(vm, Ipa(gpa), width, op))?
        .ok()?;
    if load {
        regs.set(reg, extend(v, width, signed));
    }
    regs.sepc = regs.sepc.wrapping_add(len as u64);
    Some(())
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
