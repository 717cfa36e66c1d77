//! Fuzz targets over the public decoding, injection and call-dispatch entry points. The targets
//! that need a module's private fakes (data aborts, the vPL011, the vGIC) live in that module's
//! tests and use the same driver.
extern crate std;
use crate::arch::aarch64::calls::{self, SmcccRegs};
use crate::arch::aarch64::exit::{self, Exit, SysRegAccess};
use crate::arch::aarch64::inject::{fake::FakeEl1, inject, Fault};
use crate::arch::aarch64::insn;
use crate::arch::aarch64::regs::GuestRegs;
use crate::fuzz::{run, Rng};
use crate::services::{Outcome, Services, StartError};
use hv_mmio::Width;
use std::vec::Vec;

/// Any ESR, any instruction word: decoding is total and every field names something that exists.
#[test]
fn fuzz_decode() {
    run("decode", 200_000, |r| {
        let esr = r.value();
        let _ = exit::mmio_syndrome(esr);
        assert!(matches!(exit::insn_len(esr), 2 | 4));
        match exit::decode(esr) {
            Exit::DataAbort(d) => {
                if let Some(s) = d.access {
                    assert!(s.reg < 32);
                }
                assert!(matches!(d.len, 2 | 4));
            }
            Exit::SysReg { iss } => {
                let a = SysRegAccess::decode(iss);
                assert!(
                    a.rt < 32 && a.reg.0 < 4 && a.reg.1 < 8 && a.reg.2 < 16 && a.reg.3 < 16 && a.reg.4 < 8
                );
            }
            _ => {}
        }
        // Half the words are load/store encodings with random fields, half anything.
        let word = if r.bool() { r.u32() } else { ldst(r) };
        if let Some(i) = insn::decode(word) {
            assert!(i.rt < 32 && i.rn < 32 && i.rt2.is_none_or(|t| t < 32));
            assert!(matches!(i.width, Width::B8 | Width::B16 | Width::B32 | Width::B64));
            let base = r.value();
            let _ = (i.address(base), i.new_base(base));
        }
    });
}

/// A load/store word: a pre/post-indexed single register or a pair, other fields random.
pub fn ldst(r: &mut Rng) -> u32 {
    let (mask, value) = r.pick(&[(0x3F20_0400u32, 0x3800_0400u32), (0x3C00_0000, 0x2800_0000)]);
    (r.u32() & !mask) | value
}

/// Any fault from any guest state: the guest lands on one of its four synchronous vectors, with
/// the syndrome's EC matching the fault and the state it came from saved.
#[test]
fn fuzz_inject() {
    run("inject", 200_000, |r| {
        let (elr, spsr) = (r.value(), r.value());
        let mut regs = GuestRegs { elr, spsr, ..Default::default() };
        let mut el1 = FakeEl1 { vbar: r.value(), ..Default::default() };
        let fault = match r.below(3) {
            0 => Fault::Data { far: r.value(), write: r.bool() },
            1 => Fault::Instr { far: r.value() },
            _ => Fault::Undefined,
        };
        let v = inject(&mut regs, &mut el1, fault);
        assert!(matches!(v.wrapping_sub(el1.vbar), 0x000 | 0x200 | 0x400 | 0x600), "{v:#x}");
        assert_eq!((regs.elr, regs.el()), (v, 1));
        let (esr, _, saved_elr, saved_spsr) = el1.exception.expect("an exception was set");
        assert_eq!((saved_elr, saved_spsr), (elr, spsr));
        let ec = esr >> 26;
        match fault {
            Fault::Data { .. } => assert!(ec == 0x24 || ec == 0x25),
            Fault::Instr { .. } => assert!(ec == 0x20 || ec == 0x21),
            Fault::Undefined => assert_eq!(ec, 0),
        }
    });
}

/// A VM of `count` vCPUs as the call dispatcher sees it; records every effect.
struct Svc {
    me: usize,
    on: Vec<bool>,
    started: Vec<(usize, u64, u64)>,
    stopped: Option<u8>,
    off: bool,
    resets: usize,
    out: usize,
}

impl Services for Svc {
    fn vcpu_index(&self) -> usize {
        self.me
    }
    fn vcpu_count(&self) -> usize {
        self.on.len()
    }
    fn console(&mut self, b: &[u8]) {
        self.out += b.len();
    }
    /// RAM is 0x4000_0000..0x4001_0000.
    fn read_guest(&mut self, va: u64, buf: &mut [u8]) -> usize {
        let end = 0x4001_0000u64;
        if !(0x4000_0000..end).contains(&va) {
            return 0;
        }
        let n = (end - va).min(buf.len() as u64) as usize;
        buf[..n].fill(b'.');
        n
    }
    fn stop_vm(&mut self, s: u8) {
        self.stopped = Some(s);
    }
    fn reset_vm(&mut self) {
        self.resets += 1;
    }
    fn stop_vcpu(&mut self) {
        self.off = true;
    }
    fn vcpu_on(&self, i: usize) -> bool {
        self.on[i]
    }
    fn start_vcpu(&mut self, i: usize, entry: u64, ctx: u64) -> Result<(), StartError> {
        self.started.push((i, entry, ctx));
        self.on[i] = true;
        Ok(())
    }
    fn is_ram(&self, ipa: u64) -> bool {
        (0x4000_0000..0x4001_0000).contains(&ipa)
    }
    /// Garbage channels and VMs: refused, as hv refuses what a VM was not given.
    fn ring(&mut self, _: u64, _: u64, _: u64) -> Result<(), crate::services::CallError> {
        Err(crate::services::CallError::Denied)
    }
    fn manage(&mut self, _: u64, _: u64) -> Result<u64, crate::services::CallError> {
        Err(crate::services::CallError::Denied)
    }
}

/// Garbage in every function-ID range hv serves (its own, PSCI 32/64, SMCCC arch) and outside
/// them, with garbage upper halves and arguments: an answer, never a panic; only a stop call
/// stops; CPU_ON starts only a vCPU that exists and is off, at an entry in RAM; SMC32 calls see
/// only the low halves of their arguments.
#[test]
fn fuzz_dispatch() {
    run("dispatch", 200_000, |r| {
        let count = 1 + r.below(4) as usize;
        let mut svc = Svc {
            me: r.below(count as u64) as usize,
            on: (0..count).map(|_| r.bool()).collect(),
            started: Vec::new(),
            stopped: None,
            off: false,
            resets: 0,
            out: 0,
        };
        let was_on = svc.on.clone();
        let base: u32 = r.pick(&[0xC600_0000, 0x8400_0000, 0xC400_0000, 0x8000_0000, 0x8600_0000, 0]);
        let fid = base | (r.u32() & if r.bool() { 0x1F } else { 0xFF_FFFF });
        let fid = if r.below(8) == 0 { r.u32() } else { fid };
        let mut regs: SmcccRegs = [(r.value() & !0xFFFF_FFFF) | fid as u64, r.value(), r.value(), r.value()];
        if r.below(4) == 0 {
            regs[1] = r.below(count as u64 + 1); // a plausible MPIDR
            regs[2] = 0x4000_0000 + r.below(0x2_0000) - 0x8000; // an entry near RAM
        }
        let args = regs;
        let outcome = calls::dispatch(&mut regs, &mut svc);
        let stops = svc.stopped.is_some() || svc.off || svc.resets > 0;
        assert_eq!(outcome == Outcome::Stopped, stops, "{fid:#x}");
        assert!(svc.started.len() <= 1);
        for &(i, entry, ctx) in &svc.started {
            assert!(!was_on[i] && svc.is_ram(entry), "CPU_ON {i} at {entry:#x}");
            let wide = fid & (1 << 30) != 0;
            assert_eq!(i as u64, if wide { args[1] } else { args[1] & 0xFFFF_FFFF });
            assert!(wide || ctx >> 32 == 0);
        }
        assert!(svc.out <= calls::PUTS_MAX as usize);
        if outcome == Outcome::Resume {
            let x0 = regs[0] as i64;
            // SMCCC results: a success value, or one of the errors PSCI and hv use.
            assert!(x0 >= -9, "{fid:#x} returned {x0}");
        }
    });
}
