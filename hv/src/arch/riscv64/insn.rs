//! The loads and stores a guest page fault can be emulated for: decoded from the transformed
//! instruction the hart leaves in `htinst`, or from the instruction itself (fetched with
//! HLVX.HU when `htinst` is zero). Only the access matters (direction, width, sign, register,
//! instruction length): the address comes from `htval`/`stval`. Integer loads and stores in all
//! their forms, compressed ones included; anything else (floating point, atomics, vector) is
//! refused, and the guest gets an access fault.
use hv_mmio::Width;

/// One decoded load or store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemAccess {
    pub load: bool,
    pub width: Width,
    /// A load that sign-extends into the 64-bit register.
    pub signed: bool,
    /// The destination (load) or source (store) register, x0 to x31.
    pub reg: u8,
    /// Bytes of the trapping instruction: 2 (compressed) or 4.
    pub len: u8,
}

const OP_LOAD: u32 = 0b000_0011;
const OP_STORE: u32 = 0b010_0011;

/// A 32-bit load or store encoding (`len` is the original instruction's length).
fn standard(insn: u32, len: u8) -> Option<MemAccess> {
    let funct3 = (insn >> 12) & 7;
    match insn & 0x7F {
        OP_LOAD => {
            let (width, signed) = match funct3 {
                0 => (Width::B8, true),
                1 => (Width::B16, true),
                2 => (Width::B32, true),
                3 => (Width::B64, false),
                4 => (Width::B8, false),
                5 => (Width::B16, false),
                6 => (Width::B32, false),
                _ => return None,
            };
            Some(MemAccess { load: true, width, signed, reg: ((insn >> 7) & 0x1F) as u8, len })
        }
        OP_STORE => {
            let width = match funct3 {
                0 => Width::B8,
                1 => Width::B16,
                2 => Width::B32,
                3 => Width::B64,
                _ => return None,
            };
            Some(MemAccess { load: false, width, signed: false, reg: ((insn >> 20) & 0x1F) as u8, len })
        }
        _ => None,
    }
}

/// A 16-bit (C extension, RV64) integer load or store.
fn compressed(insn: u16) -> Option<MemAccess> {
    let insn = insn as u32;
    let funct3 = (insn >> 13) & 7;
    // rd'/rs2' in bits 4:2 name x8-x15; the stack-pointer forms name any register.
    let short = (((insn >> 2) & 7) + 8) as u8;
    let rd = ((insn >> 7) & 0x1F) as u8;
    let rs2 = ((insn >> 2) & 0x1F) as u8;
    let (load, width, reg) = match (insn & 3, funct3) {
        (0b00, 0b010) => (true, Width::B32, short),  // C.LW
        (0b00, 0b011) => (true, Width::B64, short),  // C.LD
        (0b00, 0b110) => (false, Width::B32, short), // C.SW
        (0b00, 0b111) => (false, Width::B64, short), // C.SD
        // C.LWSP and C.LDSP with rd = x0 are reserved.
        (0b10, 0b010) if rd != 0 => (true, Width::B32, rd),
        (0b10, 0b011) if rd != 0 => (true, Width::B64, rd),
        (0b10, 0b110) => (false, Width::B32, rs2), // C.SWSP
        (0b10, 0b111) => (false, Width::B64, rs2), // C.SDSP
        _ => return None,
    };
    // C.LW sign-extends its word into the 64-bit register, as LW does.
    Some(MemAccess { load, width, signed: load && width == Width::B32, reg, len: 2 })
}

/// Decode the instruction at the faulting pc: a 32-bit one when its low bits are 0b11, else
/// the compressed one in its low half.
pub fn decode(insn: u32) -> Option<MemAccess> {
    if insn & 3 == 3 {
        standard(insn, 4)
    } else {
        compressed(insn as u16)
    }
}

/// What `htinst` says about a guest load or store page fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Htinst {
    /// Nothing (zero): hv fetches the instruction itself.
    Fetch,
    /// A transformed load or store.
    Access(MemAccess),
    /// Not a load or store a device can serve: a pseudoinstruction for an implicit access of
    /// the guest's page-table walk, an atomic, a custom value.
    Other,
}

/// Decode `htinst`. A transformed standard instruction has bit 0 set, and bit 1 says whether
/// the original was 32 bits (1) or compressed (0); its address-offset field is not needed.
pub fn decode_htinst(htinst: u64) -> Htinst {
    if htinst == 0 {
        return Htinst::Fetch;
    }
    let insn = htinst as u32;
    if htinst >> 32 != 0 || insn & 1 == 0 {
        return Htinst::Other;
    }
    let len = if insn & 2 != 0 { 4 } else { 2 };
    standard(insn | 3, len).map_or(Htinst::Other, Htinst::Access)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(width: Width, signed: bool, reg: u8, len: u8) -> Option<MemAccess> {
        Some(MemAccess { load: true, width, signed, reg, len })
    }
    fn st(width: Width, reg: u8, len: u8) -> Option<MemAccess> {
        Some(MemAccess { load: false, width, signed: false, reg, len })
    }

    #[test]
    fn standard_loads_and_stores() {
        assert_eq!(decode(0x0005_2503), ld(Width::B32, true, 10, 4)); // lw a0, 0(a0)
        assert_eq!(decode(0x0005_6503), ld(Width::B32, false, 10, 4)); // lwu a0, 0(a0)
        assert_eq!(decode(0x0085_3583), ld(Width::B64, false, 11, 4)); // ld a1, 8(a0)
        assert_eq!(decode(0x0005_4283), ld(Width::B8, false, 5, 4)); // lbu t0, 0(a0)
        assert_eq!(decode(0x0005_1283), ld(Width::B16, true, 5, 4)); // lh t0, 0(a0)
        assert_eq!(decode(0x00b5_0023), st(Width::B8, 11, 4)); // sb a1, 0(a0)
        assert_eq!(decode(0x00b5_3423), st(Width::B64, 11, 4)); // sd a1, 8(a0)
        assert_eq!(decode(0x0005_7503), None, "funct3 7 is no load");
        assert_eq!(decode(0x00b5_4023), None, "funct3 4 is no store");
        assert_eq!(decode(0x0005_2507), None, "FLW is not emulated");
        assert_eq!(decode(0x1005_252f), None, "LR.W is not emulated");
    }

    #[test]
    fn compressed_forms() {
        assert_eq!(decode(0x4108), ld(Width::B32, true, 10, 2)); // c.lw a0, 0(a0)
        assert_eq!(decode(0x6508), ld(Width::B64, false, 10, 2)); // c.ld a0, 8(a0)
        assert_eq!(decode(0xc10c), st(Width::B32, 11, 2)); // c.sw a1, 0(a0)
        assert_eq!(decode(0xe50c), st(Width::B64, 11, 2)); // c.sd a1, 8(a0)
        assert_eq!(decode(0x4502), ld(Width::B32, true, 10, 2)); // c.lwsp a0, 0(sp)
        assert_eq!(decode(0x6522), ld(Width::B64, false, 10, 2)); // c.ldsp a0, 8(sp)
        assert_eq!(decode(0xc02a), st(Width::B32, 10, 2)); // c.swsp a0, 0(sp)
        assert_eq!(decode(0xe42a), st(Width::B64, 10, 2)); // c.sdsp a0, 8(sp)
        assert_eq!(decode(0x4002), None, "c.lwsp x0 is reserved");
        assert_eq!(decode(0x2108), None, "c.fld is not emulated");
        assert_eq!(decode(0x0001), None, "c.nop");
        // The upper half of a compressed fetch is the next instruction: ignored.
        assert_eq!(decode(0xFFFF_4108), ld(Width::B32, true, 10, 2));
    }

    #[test]
    fn transformed_instructions_from_htinst() {
        let access = |a: Option<MemAccess>| Htinst::Access(a.unwrap());
        assert_eq!(decode_htinst(0), Htinst::Fetch, "nothing given: fetch the instruction");
        // lw a0 with rs1/offset zeroed, from a 32-bit original and from a compressed one.
        assert_eq!(decode_htinst(0x0000_2503), access(ld(Width::B32, true, 10, 4)));
        assert_eq!(decode_htinst(0x0000_2501), access(ld(Width::B32, true, 10, 2)));
        assert_eq!(decode_htinst(0x00b0_3023), access(st(Width::B64, 11, 4)));
        assert_eq!(decode_htinst(0x0000_2000), Htinst::Other, "a pseudoinstruction (bit 0 clear)");
        assert_eq!(decode_htinst(0x0000_3020), Htinst::Other, "the implicit page-table-walk write");
        assert_eq!(decode_htinst(1 << 40 | 0x2503), Htinst::Other);
        assert_eq!(decode_htinst(0x1000_252f), Htinst::Other, "an AMO is not emulated");
    }

    /// Any word: decoding is total, registers are in range, lengths match the encoding.
    #[test]
    fn fuzz_riscv_decode() {
        crate::fuzz::run("riscv_decode", 200_000, |g| {
            let word = if g.bool() { g.u32() } else { (g.u32() & !0x7F) | g.pick(&[OP_LOAD, OP_STORE]) };
            if let Some(a) = decode(word) {
                assert!(a.reg < 32);
                assert_eq!(a.len, if word & 3 == 3 { 4 } else { 2 });
                assert!(!a.signed || a.load);
            }
            if let Htinst::Access(a) = decode_htinst(g.value()) {
                assert!(a.reg < 32 && matches!(a.len, 2 | 4));
            }
        });
    }
}
