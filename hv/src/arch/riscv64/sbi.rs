//! SBI 2.0 for guests: the riscv64 front end onto hv's services, as PSCI is on AArch64. A guest
//! calls with `ecall` from VS-mode: a7 the extension, a6 the function, a0-a5 the arguments; the
//! answer is an error code in a0 and a value in a1 (the legacy extensions answer in a0 alone).
//! BASE, TIME, IPI, RFENCE, HSM, SRST and DBCN are served, with the legacy console putchar, and
//! hv's own calls in a firmware-specific extension; everything else is NOT_SUPPORTED. Wrong
//! arguments get SBI error codes, never a crash.
use crate::services::{self, Outcome, Services, StartError};

/// a0-a7 of the caller.
pub type SbiRegs = [u64; 8];

/// SBI error codes (SBI 2.0 §3.2).
pub mod error {
    pub const SUCCESS: i64 = 0;
    pub const FAILED: i64 = -1;
    pub const NOT_SUPPORTED: i64 = -2;
    pub const INVALID_PARAM: i64 = -3;
    pub const DENIED: i64 = -4;
    pub const INVALID_ADDRESS: i64 = -5;
    pub const ALREADY_AVAILABLE: i64 = -6;
    pub const INVALID_STATE: i64 = -10;
}
use error::*;

/// Extension IDs.
pub const EXT_BASE: u64 = 0x10;
pub const EXT_TIME: u64 = 0x5449_4D45;
pub const EXT_IPI: u64 = 0x0073_5049;
pub const EXT_RFENCE: u64 = 0x5246_4E43;
pub const EXT_HSM: u64 = 0x0048_534D;
pub const EXT_SRST: u64 = 0x5352_5354;
pub const EXT_DBCN: u64 = 0x4442_434E;
pub const LEGACY_SET_TIMER: u64 = 0x00;
pub const LEGACY_PUTCHAR: u64 = 0x01;
pub const LEGACY_GETCHAR: u64 = 0x02;
pub const LEGACY_SHUTDOWN: u64 = 0x08;
/// hv's own calls (version, putc, puts, exit, nop, numbered as on AArch64), in the
/// firmware-specific range: "HV".
pub const EXT_HV: u64 = 0x0A00_4856;

/// SBI 2.0.
pub const SPEC_VERSION: u64 = 2 << 24;
/// The implementation ID hv reports (unregistered: "HV").
pub const IMPL_ID: u64 = 0x4856;
/// Guests see no machine vendor, architecture or implementation IDs.
const MACHINE_IDS: u64 = 0;

/// HSM states (SBI 2.0 §9).
pub const HART_STARTED: u64 = 0;
pub const HART_STOPPED: u64 = 1;

/// SRST types and reasons.
const RESET_SHUTDOWN: u64 = 0;
const RESET_COLD: u64 = 1;
const RESET_WARM: u64 = 2;
const REASON_SYSFAIL: u64 = 1;
/// The exit status of a VM that shut down reporting a system failure.
pub const STATUS_SYSFAIL: u8 = 1;

/// A remote fence a guest asks for (RFENCE functions 0-2): of the targets' instruction caches,
/// or of their VS-stage translations of `[start, start + size)` (all addresses when `size` is
/// `u64::MAX`), for one ASID or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    Instructions,
    Translations { start: u64, size: u64, asid: Option<u64> },
}

/// What SBI needs of a riscv64 vCPU beyond the shared services.
pub trait Hart {
    /// Program the calling vCPU's timer (`vstimecmp`), which also withdraws a pending tick.
    fn set_timer(&mut self, when: u64);
    /// Raise a supervisor software interrupt on each vCPU in `targets` (a mask of indices).
    fn send_ipi(&mut self, targets: u64);
    /// Run `fence` on each vCPU in `targets`, before returning.
    fn remote_fence(&mut self, targets: u64, fence: Fence);
    /// Copy the VM's memory at guest-physical `gpa` into `buf`, up to the first byte outside its
    /// RAM; bytes copied.
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> usize;
    /// A retentive suspend: wait for an interrupt, as WFI does.
    fn suspend(&mut self);
}

fn ret(regs: &mut SbiRegs, err: i64, value: u64) -> Outcome {
    regs[0] = err as u64;
    regs[1] = value;
    Outcome::Resume
}

/// Serve the call in `regs` (a7 = extension, a6 = function).
pub fn dispatch(regs: &mut SbiRegs, svc: &mut impl Services, hart: &mut impl Hart) -> Outcome {
    let (ext, fid) = (regs[7], regs[6]);
    match ext {
        EXT_HV => hv_call(fid, regs, svc),
        EXT_BASE => base(fid, regs),
        EXT_TIME if fid == 0 => {
            hart.set_timer(regs[0]);
            ret(regs, SUCCESS, 0)
        }
        EXT_IPI if fid == 0 => match targets(svc, regs[0], regs[1]) {
            Some(t) => {
                hart.send_ipi(t);
                ret(regs, SUCCESS, 0)
            }
            None => ret(regs, INVALID_PARAM, 0),
        },
        EXT_RFENCE => rfence(fid, regs, svc, hart),
        EXT_HSM => hsm(fid, regs, svc, hart),
        EXT_SRST if fid == 0 => srst(regs, svc),
        EXT_DBCN => dbcn(fid, regs, svc, hart),
        LEGACY_PUTCHAR => {
            svc.console(&[regs[0] as u8]);
            regs[0] = 0;
            Outcome::Resume
        }
        LEGACY_SET_TIMER => {
            hart.set_timer(regs[0]);
            regs[0] = 0;
            Outcome::Resume
        }
        // No input through the legacy call: the console device has it.
        LEGACY_GETCHAR => {
            regs[0] = -1i64 as u64;
            Outcome::Resume
        }
        LEGACY_SHUTDOWN => {
            svc.stop_vm(0);
            Outcome::Stopped
        }
        _ => ret(regs, NOT_SUPPORTED, 0),
    }
}

fn supported(ext: u64) -> bool {
    matches!(
        ext,
        EXT_BASE
            | EXT_TIME
            | EXT_IPI
            | EXT_RFENCE
            | EXT_HSM
            | EXT_SRST
            | EXT_DBCN
            | EXT_HV
            | LEGACY_SET_TIMER
            | LEGACY_PUTCHAR
            | LEGACY_GETCHAR
            | LEGACY_SHUTDOWN
    )
}

fn base(fid: u64, regs: &mut SbiRegs) -> Outcome {
    match fid {
        0 => ret(regs, SUCCESS, SPEC_VERSION),
        1 => ret(regs, SUCCESS, IMPL_ID),
        2 => ret(regs, SUCCESS, 0x1_0000),
        3 => {
            let found = supported(regs[0]) as u64;
            ret(regs, SUCCESS, found)
        }
        4..=6 => ret(regs, SUCCESS, MACHINE_IDS),
        _ => ret(regs, NOT_SUPPORTED, 0),
    }
}

/// The vCPUs a (hart_mask, hart_mask_base) pair names, as a mask; `None` when one of them does
/// not exist. A base of -1 names every vCPU (the mask is ignored).
fn targets(svc: &impl Services, mask: u64, base: u64) -> Option<u64> {
    let n = svc.vcpu_count().min(64);
    let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    if base == u64::MAX {
        return Some(all);
    }
    if mask == 0 {
        return Some(0);
    }
    // Bit i names vCPU base + i: every one must exist.
    let top = 63 - mask.leading_zeros() as u64;
    if base.checked_add(top).is_none_or(|t| t >= n as u64) {
        return None;
    }
    Some(mask << base)
}

fn rfence(fid: u64, regs: &mut SbiRegs, svc: &mut impl Services, hart: &mut impl Hart) -> Outcome {
    let fence = match fid {
        0 => Fence::Instructions,
        1 => Fence::Translations { start: regs[2], size: regs[3], asid: None },
        2 => Fence::Translations { start: regs[2], size: regs[3], asid: Some(regs[4]) },
        // The HFENCE functions are for guests that are hypervisors themselves: none here.
        _ => return ret(regs, NOT_SUPPORTED, 0),
    };
    if let Fence::Translations { start, size, .. } = fence {
        if size != u64::MAX && start.checked_add(size).is_none() {
            return ret(regs, INVALID_ADDRESS, 0);
        }
    }
    match targets(svc, regs[0], regs[1]) {
        Some(t) => {
            hart.remote_fence(t, fence);
            ret(regs, SUCCESS, 0)
        }
        None => ret(regs, INVALID_PARAM, 0),
    }
}

/// SBI's code for each reason a hart_start fails.
fn start_code(e: StartError) -> i64 {
    match e {
        StartError::NoSuchVcpu => INVALID_PARAM,
        StartError::AlreadyOn => ALREADY_AVAILABLE,
        StartError::BadEntry => INVALID_ADDRESS,
        StartError::Failed => FAILED,
    }
}

/// A hart ID as a vCPU index (the guest's device tree numbers its harts 0..n).
fn vcpu_of(hartid: u64) -> Option<usize> {
    usize::try_from(hartid).ok()
}

fn hsm(fid: u64, regs: &mut SbiRegs, svc: &mut impl Services, hart: &mut impl Hart) -> Outcome {
    match fid {
        0 => {
            let r = services::cpu_on(svc, vcpu_of(regs[0]), regs[1], regs[2]);
            ret(regs, r.map_or_else(start_code, |()| SUCCESS), 0)
        }
        1 => {
            svc.stop_vcpu();
            Outcome::Stopped
        }
        2 => match services::cpu_status(svc, vcpu_of(regs[0])) {
            Some(on) => ret(regs, SUCCESS, if on { HART_STARTED } else { HART_STOPPED }),
            None => ret(regs, INVALID_PARAM, 0),
        },
        3 => match regs[0] as u32 {
            // The default retentive suspend: like WFI, and returning is its wake-up.
            0 if regs[0] >> 32 == 0 => {
                hart.suspend();
                ret(regs, SUCCESS, 0)
            }
            // Non-retentive and platform-specific types are optional: not implemented.
            0x8000_0000 | 0x1000_0000..=0x7FFF_FFFF | 0x9000_0000..=0xFFFF_FFFF if regs[0] >> 32 == 0 => {
                ret(regs, NOT_SUPPORTED, 0)
            }
            _ => ret(regs, INVALID_PARAM, 0),
        },
        _ => ret(regs, NOT_SUPPORTED, 0),
    }
}

fn srst(regs: &mut SbiRegs, svc: &mut impl Services) -> Outcome {
    let (kind, reason) = (regs[0], regs[1]);
    // Reasons 2..0xDFFFFFFF are reserved; the SBI- and vendor-specific ones are accepted.
    let reason_ok = reason <= REASON_SYSFAIL || (0xE000_0000..=0xFFFF_FFFF).contains(&reason);
    if !reason_ok || kind > u32::MAX as u64 {
        return ret(regs, INVALID_PARAM, 0);
    }
    match kind {
        RESET_SHUTDOWN => {
            svc.stop_vm(if reason == REASON_SYSFAIL { STATUS_SYSFAIL } else { 0 });
            Outcome::Stopped
        }
        RESET_COLD | RESET_WARM => {
            svc.reset_vm();
            Outcome::Stopped
        }
        // Vendor-specific types: none.
        0xF000_0000..=0xFFFF_FFFF => ret(regs, NOT_SUPPORTED, 0),
        _ => ret(regs, INVALID_PARAM, 0),
    }
}

/// Longest DBCN write served in one call (the guest calls again for the rest).
const DBCN_MAX: u64 = 4096;

fn dbcn(fid: u64, regs: &mut SbiRegs, svc: &mut impl Services, hart: &mut impl Hart) -> Outcome {
    match fid {
        0 => {
            let (len, gpa) = (regs[0].min(DBCN_MAX), regs[1]);
            // RV64: the address is base_lo alone; base_hi must be zero.
            if regs[2] != 0 || gpa.checked_add(len).is_none() {
                return ret(regs, INVALID_PARAM, 0);
            }
            let mut buf = [0u8; 256];
            let mut done = 0;
            while done < len {
                let n = (len - done).min(buf.len() as u64) as usize;
                let got = hart.read_phys(gpa + done, &mut buf[..n]);
                svc.console(&buf[..got]);
                done += got as u64;
                if got < n {
                    break;
                }
            }
            if done == 0 && len > 0 {
                return ret(regs, INVALID_PARAM, 0);
            }
            ret(regs, SUCCESS, done)
        }
        // Input is the console device's: nothing to read here.
        1 => ret(regs, SUCCESS, 0),
        2 => {
            svc.console(&[regs[0] as u8]);
            ret(regs, SUCCESS, 0)
        }
        _ => ret(regs, NOT_SUPPORTED, 0),
    }
}

/// hv's own calls, as on AArch64 (docs/hypercalls.md): 0 version, 1 putc, 2 puts (guest-virtual
/// string), 3 exit, 4 nop, 5 ring a channel peer, 6 manage a VM.
fn hv_call(fid: u64, regs: &mut SbiRegs, svc: &mut impl Services) -> Outcome {
    match fid {
        0 => ret(regs, SUCCESS, 0x1_0001),
        1 => {
            svc.console(&[regs[0] as u8]);
            ret(regs, SUCCESS, 0)
        }
        2 => match services::puts(svc, regs[0], regs[1]) {
            Some(n) => ret(regs, SUCCESS, n),
            None => ret(regs, INVALID_PARAM, 0),
        },
        3 => {
            svc.stop_vm(regs[0] as u8);
            Outcome::Stopped
        }
        4 => ret(regs, SUCCESS, 0),
        5 => match svc.ring(regs[0], regs[1], regs[2]) {
            Ok(()) => ret(regs, SUCCESS, 0),
            Err(e) => ret(regs, call_error(e), 0),
        },
        6 => match svc.manage(regs[0], regs[1]) {
            Ok(state) => ret(regs, SUCCESS, state),
            Err(e) => ret(regs, call_error(e), 0),
        },
        _ => ret(regs, NOT_SUPPORTED, 0),
    }
}

/// SBI's codes for a refused ring or management call.
fn call_error(e: services::CallError) -> i64 {
    match e {
        services::CallError::Invalid => INVALID_PARAM,
        services::CallError::Denied => DENIED,
        services::CallError::BadState => INVALID_STATE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fake::FakeSvc;
    extern crate std;
    use std::vec::Vec;

    /// What SBI asks of a hart; guest-physical memory is the services' flat memory.
    #[derive(Default)]
    struct FakeHart {
        timer: Option<u64>,
        ipis: Vec<u64>,
        fences: Vec<(u64, Fence)>,
        suspended: usize,
        mem_base: u64,
        mem: Vec<u8>,
    }

    impl Hart for FakeHart {
        fn set_timer(&mut self, when: u64) {
            self.timer = Some(when);
        }
        fn send_ipi(&mut self, t: u64) {
            self.ipis.push(t);
        }
        fn remote_fence(&mut self, t: u64, f: Fence) {
            self.fences.push((t, f));
        }
        fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> usize {
            let Some(off) = gpa.checked_sub(self.mem_base) else { return 0 };
            let avail = self.mem.get(off as usize..).unwrap_or(&[]);
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        }
        fn suspend(&mut self) {
            self.suspended += 1;
        }
    }

    /// A VM of `vcpus` vCPUs (vCPU 0 on) and its hart.
    struct Fixture {
        svc: FakeSvc,
        hart: FakeHart,
    }

    fn hart(vcpus: usize) -> Fixture {
        let mut v = std::vec![false; vcpus];
        v[0] = true;
        let mem = b"hello".repeat(10);
        Fixture {
            svc: FakeSvc { vcpus: v, mem_base: 0x8000_0000, mem: mem.clone(), ..Default::default() },
            hart: FakeHart { mem_base: 0x8000_0000, mem, ..Default::default() },
        }
    }

    fn call(h: &mut Fixture, ext: u64, fid: u64, args: &[u64]) -> (Outcome, i64, u64) {
        let mut r = [0u64; 8];
        r[..args.len()].copy_from_slice(args);
        r[6] = fid;
        r[7] = ext;
        let o = dispatch(&mut r, &mut h.svc, &mut h.hart);
        (o, r[0] as i64, r[1])
    }

    #[test]
    fn base_reports_sbi_2_and_probes() {
        let mut h = hart(1);
        assert_eq!(call(&mut h, EXT_BASE, 0, &[]).2, 2 << 24);
        for ext in [EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, LEGACY_PUTCHAR] {
            assert_eq!(call(&mut h, EXT_BASE, 3, &[ext]).2, 1, "{ext:#x} is there");
        }
        assert_eq!(call(&mut h, EXT_BASE, 3, &[0x4E41_434C]).2, 0, "NACL is not");
        assert_eq!(call(&mut h, EXT_BASE, 4, &[]).1, SUCCESS);
        assert_eq!(call(&mut h, EXT_BASE, 99, &[]).1, NOT_SUPPORTED);
        assert_eq!(call(&mut h, 0x1234_5678, 0, &[]).1, NOT_SUPPORTED);
        assert_eq!(call(&mut h, EXT_TIME, 1, &[]).1, NOT_SUPPORTED);
    }

    #[test]
    fn hsm_starts_stops_and_reports() {
        let mut h = hart(2);
        assert_eq!(call(&mut h, EXT_HSM, 2, &[1]).2, HART_STOPPED);
        assert_eq!(call(&mut h, EXT_HSM, 0, &[1, 0x10, 7]).1, INVALID_ADDRESS);
        assert_eq!(call(&mut h, EXT_HSM, 0, &[2, 0x4000_0000, 7]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_HSM, 0, &[u64::MAX, 0x4000_0000, 7]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_HSM, 0, &[0, 0x4000_0000, 7]).1, ALREADY_AVAILABLE);
        assert_eq!(call(&mut h, EXT_HSM, 0, &[1, 0x4000_1000, 7]).1, SUCCESS);
        assert_eq!(h.svc.started, [(1, 0x4000_1000, 7)]);
        assert_eq!(call(&mut h, EXT_HSM, 2, &[1]).2, HART_STARTED);
        assert_eq!(call(&mut h, EXT_HSM, 2, &[9]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_HSM, 3, &[0]).1, SUCCESS);
        assert_eq!(h.hart.suspended, 1);
        assert_eq!(call(&mut h, EXT_HSM, 3, &[0x8000_0000]).1, NOT_SUPPORTED);
        assert_eq!(call(&mut h, EXT_HSM, 3, &[1]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_HSM, 3, &[1 << 32]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_HSM, 1, &[]).0, Outcome::Stopped);
    }

    #[test]
    fn ipi_and_fence_targets() {
        let mut h = hart(3);
        assert_eq!(call(&mut h, EXT_IPI, 0, &[0b101, 0]).1, SUCCESS);
        assert_eq!(call(&mut h, EXT_IPI, 0, &[0b1, 2]).1, SUCCESS);
        assert_eq!(call(&mut h, EXT_IPI, 0, &[0, u64::MAX]).1, SUCCESS, "base -1: every hart");
        assert_eq!(h.hart.ipis, [0b101, 0b100, 0b111]);
        assert_eq!(call(&mut h, EXT_IPI, 0, &[0b1, 3]).1, INVALID_PARAM, "no hart 3");
        assert_eq!(call(&mut h, EXT_IPI, 0, &[1 << 63, 1]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_IPI, 0, &[1, u64::MAX - 1]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_RFENCE, 1, &[0b11, 0, 0x1000, 0x2000]).1, SUCCESS);
        assert_eq!(h.hart.fences, [(0b11, Fence::Translations { start: 0x1000, size: 0x2000, asid: None })]);
        assert_eq!(call(&mut h, EXT_RFENCE, 1, &[1, 0, u64::MAX, 2]).1, INVALID_ADDRESS);
        assert_eq!(call(&mut h, EXT_RFENCE, 1, &[1, 0, 5, u64::MAX]).1, SUCCESS, "size -1: everything");
        assert_eq!(call(&mut h, EXT_RFENCE, 3, &[1, 0]).1, NOT_SUPPORTED, "no HFENCE for guests");
    }

    #[test]
    fn reset_and_shutdown() {
        let mut h = hart(1);
        assert_eq!(call(&mut h, EXT_SRST, 0, &[0, 0]).0, Outcome::Stopped);
        assert_eq!(h.svc.stopped, Some(0));
        let mut h = hart(1);
        call(&mut h, EXT_SRST, 0, &[0, 1]);
        assert_eq!(h.svc.stopped, Some(STATUS_SYSFAIL));
        let mut h = hart(1);
        assert_eq!(call(&mut h, EXT_SRST, 0, &[1, 0]).0, Outcome::Stopped);
        assert_eq!((h.svc.stopped, h.svc.resets), (None, 1));
        assert_eq!(call(&mut h, EXT_SRST, 0, &[3, 0]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_SRST, 0, &[0, 2]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_SRST, 0, &[0xF000_0000, 0]).1, NOT_SUPPORTED);
    }

    #[test]
    fn console_calls() {
        let mut h = hart(1);
        assert_eq!(call(&mut h, EXT_DBCN, 0, &[5, 0x8000_0000, 0]), (Outcome::Resume, SUCCESS, 5));
        assert_eq!(call(&mut h, EXT_DBCN, 2, &[b'!' as u64]).1, SUCCESS);
        assert_eq!(call(&mut h, LEGACY_PUTCHAR, 0, &[b'?' as u64]).1, 0);
        assert_eq!(h.svc.out, b"hello!?");
        assert_eq!(call(&mut h, EXT_DBCN, 0, &[5, 0x10, 0]).1, INVALID_PARAM, "not RAM");
        assert_eq!(call(&mut h, EXT_DBCN, 0, &[5, 0x8000_0000, 1]).1, INVALID_PARAM, "base_hi");
        assert_eq!(call(&mut h, EXT_DBCN, 0, &[u64::MAX, u64::MAX, 0]).1, INVALID_PARAM);
        assert_eq!(call(&mut h, EXT_DBCN, 0, &[100, 0x8000_0000 + 40, 0]).2, 10, "up to the end of RAM");
        assert_eq!(call(&mut h, EXT_DBCN, 1, &[8, 0x8000_0000, 0]), (Outcome::Resume, SUCCESS, 0));
        assert_eq!(call(&mut h, LEGACY_GETCHAR, 0, &[]).1, -1);
        assert_eq!(call(&mut h, EXT_TIME, 0, &[1234]).1, SUCCESS);
        assert_eq!(h.hart.timer, Some(1234));
    }

    /// Garbage in every extension and function: an answer, never a panic; only the stop and
    /// reset calls stop; a start only for a vCPU that exists and is off.
    #[test]
    fn fuzz_sbi() {
        crate::fuzz::run("sbi", 50_000, |g| {
            let mut h = hart(1 + g.below(4) as usize);
            let exts =
                [EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM, EXT_SRST, EXT_DBCN, EXT_HV, 0, 1, 2, 8];
            let ext = if g.below(8) == 0 { g.value() } else { g.pick(&exts) };
            let fid = g.below(8);
            let args: Vec<u64> = (0..6).map(|_| g.value()).collect();
            let before: Vec<bool> = h.svc.vcpus.clone();
            let (o, _, _) = call(&mut h, ext, fid, &args);
            if o == Outcome::Stopped {
                assert!(h.svc.stopped.is_some() || h.svc.resets > 0 || !h.svc.vcpus[0]);
            }
            for &(i, entry, _) in &h.svc.started {
                assert!(!before[i] && h.svc.is_ram(entry));
            }
        });
    }
}
