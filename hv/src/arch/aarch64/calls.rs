//! The SMCCC front end onto hv's services: calls from guests over HVC (and SMC, which hv traps),
//! hv's own calls, PSCI, and the SMCCC architecture queries. ABI in docs/hypercalls.md. SMCCC:
//! function ID in w0, arguments in x1-x3, results in x0-x3; unknown IDs answer NOT_SUPPORTED.
use super::psci;
pub use crate::services::{CallError, Outcome, Services};
use smccc::arch::{SMCCC_ARCH_FEATURES, SMCCC_VERSION};
// SMCCC's NOT_SUPPORTED is -1 for every service; smccc exports it with the PSCI errors.
use smccc::psci::error::{INVALID_PARAMETERS, NOT_SUPPORTED};

/// The SMC64 calling convention bit of a function ID.
const SMC64: u32 = 1 << 30;

pub use super::regs::SmcccRegs;

/// hv's calls, in the SMCCC vendor-specific hypervisor range (owning entity 6, fast, SMC64).
pub const HV_VERSION: u32 = 0xC600_0000;
pub const HV_PUTC: u32 = 0xC600_0001;
pub const HV_PUTS: u32 = 0xC600_0002;
pub const HV_EXIT: u32 = 0xC600_0003;
pub const HV_NOP: u32 = 0xC600_0004;
/// Ring a channel peer: x1 channel, x2 peer, x3 vector (docs/channels.md).
pub const HV_RING: u32 = 0xC600_0005;
/// Manage a VM: x1 its number, x2 the operation (0 query, 1 stop, 2 pause, 3 resume, 4
/// restart); x0 returns its state.
pub const HV_VM_CONTROL: u32 = 0xC600_0006;

/// ABI version 1.1 and its feature bits: putc, puts, exit, nop, ring, VM control.
pub const ABI_VERSION: u64 = 0x1_0001;
pub const FEATURES: u64 = 0b11_1111;
/// hv's call errors beyond SMCCC's NOT_SUPPORTED (-1) and INVALID_PARAMETERS (-2).
pub const DENIED: i64 = -3;
pub const BAD_STATE: i64 = -4;

fn error(e: CallError) -> i64 {
    match e {
        CallError::Invalid => INVALID_PARAMETERS as i64,
        CallError::Denied => DENIED,
        CallError::BadState => BAD_STATE,
    }
}
pub use crate::services::PUTS_MAX;

fn ret(regs: &mut SmcccRegs, v: i64) -> Outcome {
    regs[0] = v as u64;
    Outcome::Resume
}

/// Serve the call in `regs` (x0 = function ID).
#[inline(always)]
pub fn dispatch(regs: &mut SmcccRegs, svc: &mut impl Services) -> Outcome {
    // SMCCC: the function ID is w0; the upper half is ignored. The owning entity (bits 31:24,
    // with the fast and SMC64 flags) selects the service; hv's own calls, the hot ones, first.
    let fid = regs[0] as u32;
    // SMC32 (bit 30 clear): only the low halves of the arguments count (SMCCC §2.6).
    if fid & SMC64 == 0 {
        for a in &mut regs[1..] {
            *a &= 0xFFFF_FFFF;
        }
    }
    // hv's own calls are tested first, alone: a tree of range compares would put them third.
    if fid >> 24 == 0xC6 {
        return hv_call(fid & 0x00FF_FFFF, regs, svc);
    }
    match fid >> 24 {
        0x84 | 0xC4 => psci::dispatch(fid, regs, svc),
        0x80 => arch_call(fid, regs),
        _ => ret(regs, NOT_SUPPORTED as i64),
    }
}

/// SMCCC 1.1 is implemented: the version and the feature query. The query answers 0 for the
/// calls here and NOT_SUPPORTED for the rest, the firmware workarounds (ARCH_WORKAROUND_1..3)
/// included: hv implements none of them, so a guest must not call them.
pub const SMCCC_1_1: u64 = 0x1_0001;

#[inline(never)]
fn arch_call(fid: u32, regs: &mut SmcccRegs) -> Outcome {
    match fid {
        SMCCC_VERSION => ret(regs, SMCCC_1_1 as i64),
        SMCCC_ARCH_FEATURES => {
            let known = matches!(regs[1] as u32, SMCCC_VERSION | SMCCC_ARCH_FEATURES);
            ret(regs, if known { 0 } else { NOT_SUPPORTED as i64 })
        }
        _ => ret(regs, NOT_SUPPORTED as i64),
    }
}

/// hv's calls by function number (the low 24 bits of `HV_*`).
#[inline(always)]
fn hv_call(num: u32, regs: &mut SmcccRegs, svc: &mut impl Services) -> Outcome {
    const NOP: u32 = HV_NOP & 0xFF_FFFF;
    const VERSION: u32 = HV_VERSION & 0xFF_FFFF;
    const PUTC: u32 = HV_PUTC & 0xFF_FFFF;
    const PUTS: u32 = HV_PUTS & 0xFF_FFFF;
    const EXIT: u32 = HV_EXIT & 0xFF_FFFF;
    const RING: u32 = HV_RING & 0xFF_FFFF;
    const VM_CONTROL: u32 = HV_VM_CONTROL & 0xFF_FFFF;
    match num {
        NOP => ret(regs, 0),
        VERSION => {
            regs[1] = FEATURES;
            regs[2] = 0;
            regs[3] = svc.vcpu_index() as u64;
            ret(regs, ABI_VERSION as i64)
        }
        PUTC => {
            svc.console(&[regs[1] as u8]);
            ret(regs, 0)
        }
        PUTS => puts(regs, svc),
        EXIT => {
            svc.stop_vm(regs[1] as u8);
            Outcome::Stopped
        }
        RING => {
            let r = svc.ring(regs[1], regs[2], regs[3]);
            ret(regs, r.map_or_else(error, |()| 0))
        }
        VM_CONTROL => {
            let r = svc.manage(regs[1], regs[2]);
            ret(regs, r.map_or_else(error, |s| s as i64))
        }
        _ => ret(regs, NOT_SUPPORTED as i64),
    }
}

/// Out of line so `dispatch` stays a small leaf for the frequent calls.
#[inline(never)]
fn puts(regs: &mut SmcccRegs, svc: &mut impl Services) -> Outcome {
    match crate::services::puts(svc, regs[1], regs[2]) {
        Some(n) => ret(regs, n as i64),
        None => ret(regs, INVALID_PARAMETERS as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fake::FakeSvc;

    fn call(svc: &mut FakeSvc, x: [u64; 4]) -> (Outcome, [u64; 4]) {
        let mut r = x;
        let o = dispatch(&mut r, svc);
        (o, r)
    }

    #[test]
    fn version_nop_putc() {
        let mut s = FakeSvc { vcpus: vec![true], ..Default::default() };
        assert_eq!(call(&mut s, [HV_VERSION as u64, 0, 0, 0]).1, [ABI_VERSION, FEATURES, 0, 0]);
        assert_eq!(call(&mut s, [HV_NOP as u64, 9, 9, 9]).1[0], 0);
        call(&mut s, [HV_PUTC as u64, b'A' as u64, 0, 0]);
        // Upper 32 bits of x0 are ignored per SMCCC.
        call(&mut s, [0xFFFF_FFFF_0000_0000 | HV_PUTC as u64, b'B' as u64, 0, 0]);
        assert_eq!(s.out, b"AB");
        assert_eq!(call(&mut s, [0xC600_0077, 0, 0, 0]).1[0] as i64, -1);
    }

    #[test]
    fn puts_validates_the_buffer() {
        let mut s = FakeSvc { mem_base: 0x1000, mem: b"hello world".repeat(100), ..Default::default() };
        assert_eq!(call(&mut s, [HV_PUTS as u64, 0x1000, 5, 0]).1[0], 5);
        assert_eq!(s.out, b"hello");
        let long = call(&mut s, [HV_PUTS as u64, 0x1000, 1100, 0]).1[0];
        assert_eq!(long, 1100);
        let bad = |s: &mut FakeSvc, va, len| call(s, [HV_PUTS as u64, va, len, 0]).1[0] as i64;
        assert_eq!(bad(&mut s, 0x10, 4), -2);
        assert_eq!(bad(&mut s, 0x1000, u64::MAX), -2);
        assert_eq!(bad(&mut s, u64::MAX - 1, 4), -2);
        assert_eq!(bad(&mut s, 0x1000, PUTS_MAX + 1), -2);
        // Partly outside: what lay inside RAM is printed, the count says how much.
        let before = s.out.len();
        assert_eq!(bad(&mut s, 0x1000 + 800, 600), 300);
        assert_eq!(s.out.len() - before, 300);
    }

    #[test]
    fn smccc_1_1_version_and_features() {
        use smccc::arch::SMCCC_ARCH_WORKAROUND_1;
        let mut s = FakeSvc::default();
        assert_eq!(call(&mut s, [SMCCC_VERSION as u64, 0, 0, 0]).1[0], SMCCC_1_1);
        let feature =
            |s: &mut FakeSvc, f: u32| call(s, [SMCCC_ARCH_FEATURES as u64, f as u64, 0, 0]).1[0] as i64;
        assert_eq!(feature(&mut s, SMCCC_VERSION), 0);
        assert_eq!(feature(&mut s, SMCCC_ARCH_FEATURES), 0);
        assert_eq!(feature(&mut s, SMCCC_ARCH_WORKAROUND_1), -1);
        assert_eq!(call(&mut s, [SMCCC_ARCH_WORKAROUND_1 as u64, 0, 0, 0]).1[0] as i64, -1);
    }

    #[test]
    fn exit_stops_the_vm() {
        let mut s = FakeSvc::default();
        assert_eq!(call(&mut s, [HV_EXIT as u64, 3, 0, 0]).0, Outcome::Stopped);
        assert_eq!(s.stopped, Some(3));
    }
}
