//! A fallback decoder for loads and stores the data-abort syndrome cannot describe (ISV=0):
//! pre/post-indexed single-register forms and load/store pair. Anything else is refused and the
//! guest gets an abort.
use hv_mmio::Width;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writeback {
    None,
    /// Address = base + offset, then base = address.
    Pre,
    /// Address = base, then base += offset.
    Post,
}

/// One decoded load/store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemInsn {
    pub load: bool,
    pub width: Width,
    /// Sign-extend loads to 32 (`Some(false)`) or 64 (`Some(true)`) bits.
    pub sign_extend: Option<bool>,
    pub rt: u8,
    /// Second register of a pair.
    pub rt2: Option<u8>,
    /// Base register; 31 means SP.
    pub rn: u8,
    pub offset: i64,
    pub writeback: Writeback,
}

fn sext(v: u32, bits: u32) -> i64 {
    ((v as i64) << (64 - bits)) >> (64 - bits)
}

pub fn decode(insn: u32) -> Option<MemInsn> {
    let rt = (insn & 0x1F) as u8;
    let rn = ((insn >> 5) & 0x1F) as u8;
    // LDR/STR (immediate), pre/post-indexed, general registers: size 111 0 00 opc 0 imm9 idx Rn Rt.
    if insn & 0x3F20_0400 == 0x3800_0400 {
        let size = insn >> 30;
        let opc = (insn >> 22) & 3;
        let width = Width::from_sas(size as u64);
        let (load, sign_extend) = match (opc, size) {
            (0, _) => (false, None),
            (1, _) => (true, None),
            (2, 0..=2) => (true, Some(true)),
            (3, 0..=1) => (true, Some(false)),
            _ => return None, // PRFM and unallocated
        };
        let writeback = if insn & (1 << 11) != 0 { Writeback::Pre } else { Writeback::Post };
        if writeback_conflicts(load, rt, None, rn) {
            return None;
        }
        return Some(MemInsn {
            load,
            width,
            sign_extend,
            rt,
            rt2: None,
            rn,
            offset: sext((insn >> 12) & 0x1FF, 9),
            writeback,
        });
    }
    // LDP/STP/LDPSW, general registers: opc 101 0 idx L imm7 Rt2 Rn Rt with idx in {01, 10, 11}.
    if insn & 0x3C00_0000 == 0x2800_0000 {
        let opc = insn >> 30;
        let load = insn & (1 << 22) != 0;
        let (width, sign_extend) = match (opc, load) {
            (0, _) => (Width::B32, None),
            (1, true) => (Width::B32, Some(true)),
            (2, _) => (Width::B64, None),
            _ => return None,
        };
        let writeback = match (insn >> 23) & 7 {
            1 => Writeback::Post,
            2 => Writeback::None,
            3 => Writeback::Pre,
            _ => return None, // no-allocate pair: treat as unsupported
        };
        let rt2 = ((insn >> 10) & 0x1F) as u8;
        if load && rt == rt2 {
            return None; // CONSTRAINED UNPREDICTABLE
        }
        if writeback != Writeback::None && writeback_conflicts(load, rt, Some(rt2), rn) {
            return None;
        }
        let offset = sext((insn >> 15) & 0x7F, 7) * width.bytes() as i64;
        return Some(MemInsn { load, width, sign_extend, rt, rt2: Some(rt2), rn, offset, writeback });
    }
    None
}

/// Writeback to a register that is also loaded (or stored) is CONSTRAINED UNPREDICTABLE: refuse.
fn writeback_conflicts(load: bool, rt: u8, rt2: Option<u8>, rn: u8) -> bool {
    rn != 31 && (rt == rn || rt2 == Some(rn)) && (load || rt != 31)
}

impl MemInsn {
    /// Address of the first element given the base register value.
    pub fn address(&self, base: u64) -> u64 {
        match self.writeback {
            Writeback::Post => base,
            _ => base.wrapping_add(self.offset as u64),
        }
    }
    /// The base register's new value, if it is written back.
    pub fn new_base(&self, base: u64) -> Option<u64> {
        match self.writeback {
            Writeback::None => None,
            _ => Some(base.wrapping_add(self.offset as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_register_forms() {
        // ldr w1, [x0], #4
        let i = decode(0xB840_4401).unwrap();
        assert_eq!(
            (i.load, i.width, i.rt, i.rn, i.offset, i.writeback),
            (true, Width::B32, 1, 0, 4, Writeback::Post)
        );
        // str w9, [x8, #8]!
        let i = decode(0xB800_8D09).unwrap();
        assert_eq!((i.load, i.rt, i.rn, i.offset, i.writeback), (false, 9, 8, 8, Writeback::Pre));
        // ldrsb x2, [x3], #-1
        let i = decode(0x389F_F462).unwrap();
        assert_eq!((i.width, i.sign_extend, i.offset), (Width::B8, Some(true), -1));
        // ldrsh w2, [x3, #2]!
        let i = decode(0x78C0_2C62).unwrap();
        assert_eq!((i.width, i.sign_extend, i.writeback), (Width::B16, Some(false), Writeback::Pre));
        // ldr x0, [x0], #8: writeback into the loaded register is refused.
        assert_eq!(decode(0xF840_8400), None);
    }

    #[test]
    fn pairs() {
        // ldp w1, w2, [x0]
        let i = decode(0x2940_0801).unwrap();
        assert_eq!(
            (i.load, i.width, i.rt, i.rt2, i.offset, i.writeback),
            (true, Width::B32, 1, Some(2), 0, Writeback::None)
        );
        // stp x3, x4, [sp, #-16]!
        let i = decode(0xA9BF_13E3).unwrap();
        assert_eq!(
            (i.load, i.width, i.rn, i.offset, i.writeback),
            (false, Width::B64, 31, -16, Writeback::Pre)
        );
        // ldp x1, x2, [x5], #32
        let i = decode(0xA8C2_08A1).unwrap();
        assert_eq!(
            (i.offset, i.writeback, i.address(0x1000), i.new_base(0x1000)),
            (32, Writeback::Post, 0x1000, Some(0x1020))
        );
        // ldpsw x1, x2, [x0, #8]
        let i = decode(0x6941_0801).unwrap();
        assert_eq!((i.sign_extend, i.offset), (Some(true), 8));
        // ldp x1, x1, [x0] is unpredictable
        assert_eq!(decode(0xA940_0401), None);
    }

    #[test]
    fn not_loads_or_stores() {
        assert_eq!(decode(0xD503_201F), None); // nop
        assert_eq!(decode(0xD400_0002), None); // hvc #0
        assert_eq!(decode(0xB940_0001), None); // ldr w1, [x0] (unsigned offset has ISV=1)
        assert_eq!(decode(0xAD40_0400), None); // ldp q0, q1 (SIMD)
    }
}
