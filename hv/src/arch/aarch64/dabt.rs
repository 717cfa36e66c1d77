//! Data aborts on emulated windows: take the access from the syndrome (ISV=1) or decode the
//! instruction (ISV=0), run it against the VM's devices, write back registers. Anything that
//! cannot be emulated becomes an injected abort, never a hypervisor error.
use crate::arch::aarch64::exit::{DataAbort, Syndrome};
use crate::arch::aarch64::inject::Fault;
use crate::arch::aarch64::insn;
use crate::arch::aarch64::regs::{El1, GuestRegs};
pub use crate::mmio::Bus;
use hv_mmio::{MmioOp, Width};
use hv_types::Ipa;

/// The IPA a data abort reports: page from HPFAR_EL2.FIPA, offset from FAR_EL2.
pub fn fault_ipa(hpfar: u64, far: u64) -> Ipa {
    Ipa(((hpfar >> 4) & 0xFF_FFFF_FFFF) << 12 | (far & 0xFFF))
}

/// Zero- or sign-extend a loaded value into a W (`to64` false) or X register.
fn extend(v: u64, width: Width, sign: bool, to64: bool) -> u64 {
    // Shift the value to the top and back: arithmetically to sign-extend, logically to zero-extend.
    let sh = 64 - width.bits();
    let v = if sign { (((v << sh) as i64) >> sh) as u64 } else { (v << sh) >> sh };
    if to64 {
        v
    } else {
        v & 0xFFFF_FFFF
    }
}

/// The access an ISV=1 syndrome describes; `rt` is the transfer register's value (for stores).
/// `Some(Some(v))`: a load, write `v` to Rt. `Some(None)`: a store, done. `None`: refused, with no
/// side effects (no device there, or the device refused before running any handler).
#[inline(always)]
pub fn by_syndrome(s: Syndrome, write: bool, rt: u64, ipa: Ipa, bus: &mut impl Bus) -> Option<Option<u64>> {
    let op = if write { MmioOp::Write(rt & s.width.mask()) } else { MmioOp::Read };
    match bus.access(ipa, s.width, op) {
        Some(Ok(_)) if write => Some(None),
        Some(Ok(v)) => Some(Some(extend(v, s.width, s.sign_extend, s.sixty_four))),
        Some(Err(_)) | None => None,
    }
}

fn one(bus: &mut impl Bus, ipa: Ipa, width: Width, op: MmioOp, fault: Fault) -> Result<u64, Fault> {
    match bus.access(ipa, width, op) {
        Some(Ok(v)) => Ok(v),
        Some(Err(_)) | None => Err(fault),
    }
}

/// Emulate the access behind a stage-2 data abort at `ipa` (guest VA `far`). On success the
/// guest's registers hold the result and ELR has moved past the instruction.
pub fn data_abort(
    regs: &mut GuestRegs,
    el1: &mut impl El1,
    da: DataAbort,
    far: u64,
    ipa: Ipa,
    bus: &mut impl Bus,
) -> Result<(), Fault> {
    let fault = Fault::Data { far, write: da.write };
    // Only holes in stage 2 can be devices; permission faults (read-only RAM) and faults on the
    // guest's own table walks are the guest's problem.
    if !da.is_translation() || da.s1ptw {
        return Err(fault);
    }
    // Cache maintenance by VA (DC CIVAC and friends) on an IPA with nothing mapped: an emulated
    // device has no cache lines and a hole holds no data, so it completes with no effect, as
    // on a device register of real hardware.
    if da.cm {
        regs.elr = regs.elr.wrapping_add(da.len as u64);
        return Ok(());
    }
    match da.access {
        Some(s) => {
            if let Some(v) = by_syndrome(s, da.write, regs.get(s.reg), ipa, bus).ok_or(fault)? {
                regs.set(s.reg, v);
            }
        }
        None => {
            // The fallback decoder reads A64 only: an AArch32 (A32/T32) access without a
            // syndrome is refused, not misread.
            if regs.spsr & SPSR_AARCH32 != 0 {
                return Err(fault);
            }
            let m = el1.fetch_insn(regs.elr).and_then(insn::decode).ok_or(fault)?;
            let base = if m.rn == 31 { el1.sp(regs) } else { regs.get(m.rn) };
            let va = m.address(base);
            // The decoded address must be the faulting one or the pair's first element before it.
            let delta = far.wrapping_sub(va);
            if delta != 0 && !(m.rt2.is_some() && delta == m.width.bytes() as u64) {
                return Err(fault);
            }
            let first = Ipa(ipa.0.wrapping_sub(delta));
            let rts = [Some(m.rt), m.rt2];
            let mut loaded = [0u64; 2];
            for (k, rt) in rts.iter().enumerate() {
                let Some(rt) = *rt else { continue };
                // Guest-controlled: an address pair may wrap, the arithmetic must not panic.
                let at = Ipa(first.0.wrapping_add((k * m.width.bytes()) as u64));
                let op = if m.load { MmioOp::Read } else { MmioOp::Write(regs.get(rt) & m.width.mask()) };
                loaded[k] = one(bus, at, m.width, op, fault)?;
            }
            if m.load {
                for (k, rt) in rts.iter().enumerate() {
                    if let Some(rt) = *rt {
                        let to64 = m.sign_extend.unwrap_or(m.width == Width::B64);
                        regs.set(rt, extend(loaded[k], m.width, m.sign_extend.is_some(), to64));
                    }
                }
            }
            if let Some(nb) = m.new_base(base) {
                if m.rn == 31 {
                    el1.set_sp(regs, nb);
                } else {
                    regs.set(m.rn, nb);
                }
            }
        }
    }
    regs.elr = regs.elr.wrapping_add(da.len as u64);
    Ok(())
}

/// SPSR.M[4]: the exception came from AArch32.
const SPSR_AARCH32: u64 = 1 << 4;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::aarch64::exit::{decode, Exit};
    use crate::arch::aarch64::inject::fake::FakeEl1;
    use hv_mmio::MmioFault;
    extern crate std;
    use std::vec::Vec;

    /// A 16-byte device at 0x900_0000 with 32-bit registers; logs accesses.
    #[derive(Default)]
    struct FakeBus {
        regs: [u32; 4],
        log: Vec<(u64, Width, MmioOp)>,
    }

    impl Bus for FakeBus {
        fn access(&mut self, ipa: Ipa, w: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
            self.log.push((ipa.0, w, op));
            let off = ipa.0.checked_sub(0x900_0000).filter(|&o| o < 16)? as usize;
            if w != Width::B32 && w != Width::B8 {
                return Some(Err(MmioFault::BadWidth));
            }
            Some(Ok(match op {
                MmioOp::Read => self.regs[off / 4] as u64 | if w == Width::B8 { 0x80 } else { 0 },
                MmioOp::Write(v) => {
                    self.regs[off / 4] = v as u32;
                    0
                }
            }))
        }
    }

    fn abort(esr: u64) -> DataAbort {
        match decode(esr) {
            Exit::DataAbort(d) => d,
            e => panic!("{e:?}"),
        }
    }

    /// A lower-EL data abort from a 32-bit instruction (IL set).
    const DABT: u64 = (0x24 << 26) | (1 << 25);
    const XLATE: u64 = 0x06;

    #[test]
    fn syndrome_load_store_and_sign_extension() {
        let mut bus = FakeBus::default();
        let mut el1 = FakeEl1::default();
        let mut r = GuestRegs { elr: 0x100, ..Default::default() };
        r.x[2] = 0xAABB_CCDD_1234_5678;
        // str w2 -> reg 1
        let st = abort(DABT | (1 << 24) | (2 << 22) | (2 << 16) | (1 << 6) | XLATE);
        data_abort(&mut r, &mut el1, st, 0x900_0004, Ipa(0x900_0004), &mut bus).unwrap();
        assert_eq!(bus.regs[1], 0x1234_5678);
        assert_eq!(r.elr, 0x104);
        // ldrsb x3 (SSE, SF) of a byte with bit 7 set -> negative
        let ld = abort(DABT | (1 << 24) | (1 << 21) | (3 << 16) | (1 << 15) | XLATE);
        data_abort(&mut r, &mut el1, ld, 0x900_0000, Ipa(0x900_0000), &mut bus).unwrap();
        assert_eq!(r.x[3], 0xFFFF_FFFF_FFFF_FF80);
        // ldrsb w4 (SSE, !SF): sign-extended to 32 bits only
        let ld = abort(DABT | (1 << 24) | (1 << 21) | (4 << 16) | XLATE);
        data_abort(&mut r, &mut el1, ld, 0x900_0000, Ipa(0x900_0000), &mut bus).unwrap();
        assert_eq!(r.x[4], 0xFFFF_FF80);
    }

    #[test]
    fn refusals_become_aborts() {
        let mut bus = FakeBus::default();
        let mut el1 = FakeEl1::default();
        let mut r = GuestRegs { elr: 0x100, ..Default::default() };
        // No device there.
        let ld = abort(DABT | (1 << 24) | (2 << 22) | XLATE);
        assert_eq!(
            data_abort(&mut r, &mut el1, ld, 0x1000_0000, Ipa(0x1000_0000), &mut bus),
            Err(Fault::Data { far: 0x1000_0000, write: false })
        );
        // Device refuses the width.
        let ld = abort(DABT | (1 << 24) | (1 << 22) | XLATE);
        assert!(data_abort(&mut r, &mut el1, ld, 0x900_0000, Ipa(0x900_0000), &mut bus).is_err());
        // Permission fault (read-only RAM): never reaches the bus.
        let st = abort(DABT | (1 << 24) | (2 << 22) | (1 << 6) | 0x0F);
        let n = bus.log.len();
        assert!(data_abort(&mut r, &mut el1, st, 0x4000_0000, Ipa(0x4000_0000), &mut bus).is_err());
        assert_eq!(bus.log.len(), n);
        // ISV=0 and an instruction we cannot decode (or cannot fetch).
        let x = abort(DABT | XLATE);
        assert!(data_abort(&mut r, &mut el1, x, 0x900_0000, Ipa(0x900_0000), &mut bus).is_err());
        assert_eq!(r.elr, 0x100);
    }

    #[test]
    fn guest_values_at_the_edges_never_panic() {
        let mut bus = FakeBus::default();
        // A 16-bit T32 store (IL clear) steps the PC by 2, and an ELR near 2^64 wraps.
        let mut el1 = FakeEl1::default();
        let mut r = GuestRegs { elr: u64::MAX - 1, ..Default::default() };
        let st = abort((0x24 << 26) | (1 << 24) | (2 << 22) | (2 << 16) | (1 << 6) | XLATE);
        data_abort(&mut r, &mut el1, st, 0x900_0004, Ipa(0x900_0004), &mut bus).unwrap();
        assert_eq!(r.elr, 0, "0xFFFF_FFFF_FFFF_FFFE + 2 wraps");
        // An AArch32 access with no syndrome is refused, not read as an A64 instruction.
        let mut el1 = FakeEl1 { code: [(0x200, 0x2940_0801), (0, 0)], ..Default::default() };
        let mut r = GuestRegs { elr: 0x200, spsr: 0x10, ..Default::default() };
        r.x[0] = 0x900_0008;
        let got = data_abort(&mut r, &mut el1, abort(DABT | XLATE), 0x900_0008, Ipa(0x900_0008), &mut bus);
        assert_eq!(got, Err(Fault::Data { far: 0x900_0008, write: false }));
        assert_eq!(r.elr, 0x200);
        // An LDP whose second element faults at IPA 0: its first element would be at -4.
        let mut r = GuestRegs { elr: 0x200, ..Default::default() };
        r.x[0] = u64::MAX - 3;
        let got = data_abort(&mut r, &mut el1, abort(DABT | XLATE), 0, Ipa(0), &mut bus);
        assert!(got.is_err(), "nothing decodes there: an abort, not a panic");
    }

    #[test]
    fn fallback_decoder_pairs_and_writeback() {
        let mut bus = FakeBus { regs: [1, 2, 3, 4], ..Default::default() };
        // ldp w1, w2, [x0] at 0x200; stp x3, x4, [sp, #-16]! at 0x204 (64-bit: refused by bus)
        let mut el1 = FakeEl1 { code: [(0x200, 0x2940_0801), (0x204, 0xB840_4401)], ..Default::default() };
        let mut r = GuestRegs { elr: 0x200, ..Default::default() };
        r.x[0] = 0x900_0008;
        data_abort(&mut r, &mut el1, abort(DABT | XLATE), 0x900_0008, Ipa(0x900_0008), &mut bus).unwrap();
        assert_eq!((r.x[1], r.x[2], r.elr), (3, 4, 0x204));
        // ldr w1, [x0], #4: post-index writes back x0.
        r.x[0] = 0x900_0004;
        data_abort(&mut r, &mut el1, abort(DABT | XLATE), 0x900_0004, Ipa(0x900_0004), &mut bus).unwrap();
        assert_eq!((r.x[1], r.x[0]), (2, 0x900_0008));
        // A second-element fault of a pair maps back to the first element.
        el1.code[0] = (0x300, 0x2900_0801); // stp w1, w2, [x0]
        r.elr = 0x300;
        r.x[0] = 0x900_0000;
        r.x[1] = 0x11;
        r.x[2] = 0x22;
        data_abort(&mut r, &mut el1, abort(DABT | (1 << 6) | XLATE), 0x900_0004, Ipa(0x900_0004), &mut bus)
            .unwrap();
        assert_eq!(&bus.regs[..2], &[0x11, 0x22]);
    }

    #[test]
    fn cache_maintenance_on_a_device_completes() {
        let mut bus = FakeBus::default();
        let mut el1 = FakeEl1::default();
        let mut r = GuestRegs { elr: 0x100, ..Default::default() };
        // DC CIVAC at the device: CM and WnR set, no syndrome, translation fault.
        let dc = abort(DABT | (1 << 8) | (1 << 6) | XLATE);
        data_abort(&mut r, &mut el1, dc, 0x900_0000, Ipa(0x900_0000), &mut bus).unwrap();
        assert_eq!((r.elr, bus.log.len()), (0x104, 0), "skipped, with no access");
        // On a stage-1 walk or a permission fault it is still the guest's abort.
        assert!(data_abort(&mut r, &mut el1, abort(DABT | (1 << 8) | 0x0F), 0, Ipa(0), &mut bus).is_err());
    }

    #[test]
    fn ipa_from_hpfar() {
        // HPFAR_EL2.FIPA (bits 39:4) holds IPA[51:12].
        assert_eq!(fault_ipa((0x0900_0000 >> 12) << 4, 0xFFFF_0123), Ipa(0x0900_0123));
    }

    /// Any instruction word (half of them load/store encodings), any registers, syndrome and
    /// fault address: the data-abort path answers or refuses, never panics (overflow checks are
    /// on), steps the PC by the instruction's length or leaves it, and touches only the device
    /// at the faulting IPA with a width that exists.
    #[test]
    fn fuzz_data_abort() {
        crate::fuzz::run("data_abort", 100_000, |g| {
            let elr = g.value();
            let insn = if g.bool() { g.u32() } else { crate::arch::aarch64::fuzz::ldst(g) };
            let mut bus = FakeBus::default();
            let mut el1 = FakeEl1 { code: [(elr, insn), (0, 0)], ..Default::default() };
            let mut r = GuestRegs { elr, spsr: g.value(), ..Default::default() };
            r.x.iter_mut().for_each(|x| *x = if g.bool() { 0x900_0000 + g.below(32) } else { g.value() });
            let far = if g.bool() { 0x900_0000 + g.below(32) } else { g.value() };
            let esr = (0x24u64 << 26) | (g.u32() as u64 & 0x3FF_FFFF);
            let da = abort(esr);
            let ipa = Ipa(far & 0xFF_FFFF_FFFF);
            match data_abort(&mut r, &mut el1, da, far, ipa, &mut bus) {
                Ok(()) => assert_eq!(r.elr, elr.wrapping_add(da.len as u64)),
                Err(_) => assert_eq!(r.elr, elr),
            }
            assert!(bus.log.len() <= 2, "at most a pair: {:?}", bus.log);
        });
    }
}
