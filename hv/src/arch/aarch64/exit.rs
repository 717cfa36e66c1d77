//! Exit reasons decoded from ESR_EL2 (EC and ISS) into a typed enum.
use hv_mmio::Width;

/// Exception classes hv handles (ARM ARM D17.2.37).
pub mod ec {
    pub const UNKNOWN: u64 = 0x00;
    pub const WFX: u64 = 0x01;
    pub const HVC64: u64 = 0x16;
    pub const SMC64: u64 = 0x17;
    pub const SYSREG: u64 = 0x18;
    pub const IABT_LOWER: u64 = 0x20;
    pub const IABT_CUR: u64 = 0x21;
    pub const DABT_LOWER: u64 = 0x24;
    pub const DABT_CUR: u64 = 0x25;
}

/// A data abort's syndrome. `access` is present only when ISV=1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataAbort {
    pub access: Option<Syndrome>,
    pub write: bool,
    /// Fault status code (DFSC).
    pub fsc: u8,
    /// Fault on the stage-1 table walk (guest page tables in a hole).
    pub s1ptw: bool,
    /// A cache maintenance instruction (DC by VA), not a load or store.
    pub cm: bool,
    /// Bytes of the faulting instruction (ESR.IL: a T32 one may be 2).
    pub len: u8,
}

/// What ISV=1 tells about the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syndrome {
    pub width: Width,
    pub sign_extend: bool,
    /// Rt; 31 means XZR.
    pub reg: u8,
    /// Rt is a 64-bit register.
    pub sixty_four: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Hvc { imm: u16 },
    Smc { imm: u16 },
    DataAbort(DataAbort),
    InstrAbort { fsc: u8 },
    Wfx { wfe: bool },
    SysReg { iss: u32 },
    Other { ec: u8 },
}

/// A trapped MSR/MRS (EC 0x18): the register's encoding, the transfer register, direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysRegAccess {
    /// (op0, op1, CRn, CRm, op2)
    pub reg: (u8, u8, u8, u8, u8),
    pub rt: u8,
    pub read: bool,
}

/// ICC_SGI1R_EL1: generate Group 1 SGIs (GICv3). Writes trap to EL2 while HCR_EL2.IMO is set.
pub const ICC_SGI1R_EL1: (u8, u8, u8, u8, u8) = (3, 0, 12, 11, 5);
/// ICC_ASGI1R_EL1 and ICC_SGI0R_EL1: SGIs for the other security state / Group 0.
pub const ICC_ASGI1R_EL1: (u8, u8, u8, u8, u8) = (3, 0, 12, 11, 6);
pub const ICC_SGI0R_EL1: (u8, u8, u8, u8, u8) = (3, 0, 12, 11, 7);

impl SysRegAccess {
    /// ISS: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5, CRm 4:1, Direction 0 (1 = read).
    pub fn decode(iss: u32) -> Self {
        let f = |sh: u32, bits: u32| ((iss >> sh) & ((1 << bits) - 1)) as u8;
        SysRegAccess {
            reg: (f(20, 2), f(14, 3), f(10, 4), f(1, 4), f(17, 3)),
            rt: ((iss >> 5) & 0x1F) as u8,
            read: iss & 1 != 0,
        }
    }
}

impl DataAbort {
    /// Translation fault at any level: nothing is mapped, so it may be emulated MMIO.
    pub fn is_translation(&self) -> bool {
        self.fsc & 0x3C == 0x04
    }
}

/// For an ESR_EL2 already known to be a lower-EL data abort: the syndrome and direction when it is
/// the common emulated-MMIO case (`is_mmio`). The fast path asks `is_mmio` and `syndrome`
/// apart, without building an `Exit`.
#[inline(always)]
pub fn mmio_syndrome(esr: u64) -> Option<(Syndrome, bool)> {
    is_mmio(esr).then(|| syndrome(esr))
}

/// The access an ESR_EL2 with ISV=1 describes, and whether it is a store: its fields only,
/// nothing checked (`is_mmio` checks).
#[inline(always)]
pub fn syndrome(esr: u64) -> (Syndrome, bool) {
    let s = Syndrome {
        width: Width::from_sas(esr >> 22),
        sign_extend: esr & (1 << 21) != 0,
        reg: ((esr >> 16) & 0x1F) as u8,
        sixty_four: esr & (1 << 15) != 0,
    };
    (s, esr & (1 << 6) != 0)
}

/// Is this ESR_EL2 (a lower-EL data abort) the common emulated-MMIO case: ISV=1, a
/// translation fault, not on a stage-1 walk?
#[inline(always)]
pub fn is_mmio(esr: u64) -> bool {
    const ISV: u64 = 1 << 24;
    const S1PTW: u64 = 1 << 7;
    esr & (ISV | S1PTW | 0x3C) == ISV | 0x04
}

/// Bytes of the trapped instruction, which the PC steps over: 4, or 2 for a 16-bit T32
/// instruction (ESR_ELx.IL clear).
#[inline(always)]
pub const fn insn_len(esr: u64) -> u64 {
    if esr & (1 << 25) != 0 {
        4
    } else {
        2
    }
}

/// Decode ESR_EL2.
#[inline(always)]
pub fn decode(esr: u64) -> Exit {
    let class = (esr >> 26) & 0x3F;
    let iss = esr & 0x1FF_FFFF;
    match class {
        ec::HVC64 => Exit::Hvc { imm: iss as u16 },
        ec::SMC64 => Exit::Smc { imm: iss as u16 },
        ec::DABT_LOWER => {
            let isv = iss & (1 << 24) != 0;
            Exit::DataAbort(DataAbort {
                access: isv.then(|| Syndrome {
                    width: Width::from_sas(iss >> 22),
                    sign_extend: iss & (1 << 21) != 0,
                    reg: ((iss >> 16) & 0x1F) as u8,
                    sixty_four: iss & (1 << 15) != 0,
                }),
                write: iss & (1 << 6) != 0,
                fsc: (iss & 0x3F) as u8,
                s1ptw: iss & (1 << 7) != 0,
                cm: iss & (1 << 8) != 0,
                len: insn_len(esr) as u8,
            })
        }
        ec::IABT_LOWER => Exit::InstrAbort { fsc: (iss & 0x3F) as u8 },
        ec::WFX => Exit::Wfx { wfe: iss & 1 != 0 },
        ec::SYSREG => Exit::SysReg { iss: iss as u32 },
        other => Exit::Other { ec: other as u8 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgi1r_write() {
        // msr icc_sgi1r_el1, x3
        let iss = (3 << 20) | (5 << 17) | (12 << 10) | (3 << 5) | (11 << 1);
        assert_eq!(SysRegAccess::decode(iss), SysRegAccess { reg: ICC_SGI1R_EL1, rt: 3, read: false });
        assert!(SysRegAccess::decode(iss | 1).read);
    }

    #[test]
    fn hvc_and_smc() {
        assert_eq!(decode(0x5A00_0000), Exit::Hvc { imm: 0 });
        assert_eq!(decode((0x17 << 26) | 5), Exit::Smc { imm: 5 });
    }

    #[test]
    fn data_abort_with_syndrome() {
        // ldr w3, [x0] from a translation fault at level 2: ISV, SAS=2, SRT=3, DFSC=6.
        let esr = (0x24 << 26) | (1 << 25) | (1 << 24) | (2 << 22) | (3 << 16) | 0x06;
        let Exit::DataAbort(da) = decode(esr) else { panic!() };
        assert!(da.is_translation());
        assert!(!da.write);
        assert_eq!(
            da.access,
            Some(Syndrome { width: Width::B32, sign_extend: false, reg: 3, sixty_four: false })
        );
        // strb w1: WnR, SAS=0, 64-bit flag clear; permission fault level 3 (0x0F).
        let esr = (0x24 << 26) | (1 << 24) | (1 << 16) | (1 << 6) | 0x0F;
        let Exit::DataAbort(da) = decode(esr) else { panic!() };
        assert!(da.write && !da.is_translation());
        assert_eq!(da.access.unwrap().width, Width::B8);
        // No ISV: no access syndrome.
        let Exit::DataAbort(da) = decode((0x24 << 26) | 0x07) else { panic!() };
        assert_eq!(da.access, None);
    }

    #[test]
    fn instruction_length_follows_il() {
        assert_eq!(insn_len((0x24 << 26) | (1 << 25)), 4);
        assert_eq!(insn_len(0x24 << 26), 2, "a 16-bit T32 load or store");
        let Exit::DataAbort(da) = decode((0x24 << 26) | (1 << 24) | 0x04) else { panic!() };
        assert_eq!(da.len, 2);
    }

    #[test]
    fn mmio_syndrome_agrees_with_decode() {
        for esr in [
            (0x24 << 26) | (1 << 24) | (2 << 22) | (3 << 16) | 0x06,
            (0x24 << 26) | (1 << 24) | (1 << 16) | (1 << 6) | 0x0F,
            (0x24 << 26) | (1 << 24) | (1 << 7) | 0x05,
            (0x24 << 26) | 0x07,
            (0x24u64 << 26) | (1 << 24) | (1 << 21) | (31 << 16) | (1 << 15) | (1 << 6) | 0x04,
        ] {
            let Exit::DataAbort(da) = decode(esr) else { panic!() };
            let want = da.access.filter(|_| da.is_translation() && !da.s1ptw).map(|s| (s, da.write));
            assert_eq!(mmio_syndrome(esr), want, "{esr:#x}");
        }
    }

    #[test]
    fn others() {
        assert_eq!(decode((0x01 << 26) | 1), Exit::Wfx { wfe: true });
        assert_eq!(decode(0x20 << 26 | 0x10), Exit::InstrAbort { fsc: 0x10 });
        assert_eq!(decode(0x07 << 26), Exit::Other { ec: 7 });
    }
}
