//! Reaching into the guest: reading its memory through its own translation (HLV/HLVX, whose
//! faults the trap entry turns into an error), and reflecting an exception into VS-mode as the
//! hart would have delivered it there.
use super::csr;
use super::regs::GuestRegs;

core::arch::global_asm!(
    r#"
.section .text, "ax"
// u8 probe: a0 = guest VA -> a0 = byte, a1 = 0; a1 = 1 if the access faulted.
.global hv_probe_byte
hv_probe_byte:
    li      a1, 0
.global hv_probe_byte_insn
hv_probe_byte_insn:
    .insn r 0x73, 4, 0x30, a0, a0, x1      // hlv.bu a0, (a0)
    ret
// u16 instruction probe: hlvx.hu (execute permission, as a fetch).
.global hv_probe_half
hv_probe_half:
    li      a1, 0
.global hv_probe_half_insn
hv_probe_half_insn:
    .insn r 0x73, 4, 0x32, a0, a0, x3      // hlvx.hu a0, (a0)
    ret
// u32 instruction probe (a0 4-byte aligned: the word never crosses a page).
.global hv_probe_word
hv_probe_word:
    li      a1, 0
.global hv_probe_word_insn
hv_probe_word_insn:
    .insn r 0x73, 4, 0x34, a0, a0, x3      // hlvx.wu a0, (a0)
    ret
.global hv_probe_fail
hv_probe_fail:
    li      a1, 1
    ret
"#
);

unsafe extern "C" {
    fn hv_probe_byte(va: u64) -> Probe;
    fn hv_probe_half(va: u64) -> Probe;
    fn hv_probe_word(va: u64) -> Probe;
}

#[repr(C)]
struct Probe {
    value: u64,
    failed: u64,
}

/// Run `f`, which probes guest memory, and put back what a probe's trap changed (sstatus.SPP
/// and SPIE, hstatus.SPV) if one faulted: the guest's return needs them as they were at its
/// exit, and the trap entry keeps no copy. The probes see the guest as the exit left it:
/// hstatus.SPVP is the privilege it ran at (the trap from V=1 set it), so a user-mode access is
/// fetched with user-mode permissions.
fn as_guest<R>(f: impl FnOnce() -> (R, bool)) -> R {
    let (hstatus, sstatus) = (csr::read!("0x600"), csr::read!("sstatus"));
    let (r, faulted) = f();
    if faulted {
        csr::write!("csrw", "0x600", hstatus);
        csr::write!("csrw", "sstatus", sstatus);
    }
    r
}

/// Copy guest memory at guest-virtual `va` into `buf` through the guest's translation; stops at
/// the first byte it cannot read. Bytes copied.
pub fn read_virt(va: u64, buf: &mut [u8]) -> usize {
    as_guest(|| {
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: the probe reads through the guest's translation; a fault resumes at its
            // failure path with `failed` set (trap.rs).
            let p = unsafe { hv_probe_byte(va.wrapping_add(i as u64)) };
            if p.failed != 0 {
                return (i, true);
            }
            *b = p.value as u8;
        }
        (buf.len(), false)
    })
}

/// The instruction at the guest's `pc`, fetched as the hart would (execute permission): one
/// aligned word, or a 32-bit one at a 2-byte boundary as two halves. `None` if the fetch faults.
pub fn fetch(pc: u64) -> Option<u32> {
    as_guest(|| {
        if pc & 3 == 0 {
            // SAFETY: as for `read_virt`.
            let w = unsafe { hv_probe_word(pc) };
            return if w.failed != 0 {
                (None, true)
            } else if w.value & 3 == 3 {
                (Some(w.value as u32), false)
            } else {
                (Some(w.value as u32 & 0xFFFF), false)
            };
        }
        // SAFETY: as for `read_virt`.
        let lo = unsafe { hv_probe_half(pc) };
        if lo.failed != 0 {
            return (None, true);
        }
        if lo.value & 3 != 3 {
            return (Some(lo.value as u32), false);
        }
        // SAFETY: as above.
        let hi = unsafe { hv_probe_half(pc.wrapping_add(2)) };
        if hi.failed != 0 {
            return (None, true);
        }
        (Some((lo.value as u32 & 0xFFFF) | (hi.value as u32) << 16), false)
    })
}

/// Deliver exception `cause` with `tval` to the guest's VS-mode trap handler, as the hart
/// does: vsepc, vscause, vstval, vsstatus (SPP from the privilege it was in, SPIE from SIE,
/// SIE cleared), and the guest resumes at vstvec in VS-mode. Returns the handler's address, for
/// the caller's check that there is one.
pub fn reflect(regs: &mut GuestRegs, cause: u64, tval: u64) -> u64 {
    csr::write!("csrw", "0x241", regs.sepc); // vsepc
    csr::write!("csrw", "0x242", cause); // vscause
    csr::write!("csrw", "0x243", tval); // vstval
    let vsstatus = csr::read!("0x200");
    let spp = csr::read!("sstatus") & csr::SSTATUS_SPP;
    let spie = if vsstatus & csr::SSTATUS_SIE != 0 { csr::SSTATUS_SPIE } else { 0 };
    let v = (vsstatus & !(csr::SSTATUS_SPP | csr::SSTATUS_SPIE | csr::SSTATUS_SIE)) | spp | spie;
    csr::write!("csrw", "0x200", v);
    let vector = csr::read!("0x205") & !3; // vstvec: exceptions go to its base in both modes
    regs.sepc = vector;
    csr::write!("csrs", "sstatus", csr::SSTATUS_SPP); // the handler runs in VS-mode
    vector
}
