//! List-register values. hv keeps them in the GICv3 ICH_LR<n>_EL2 layout; the GICv2 bank
//! converts to and from GICH_LR<n> (`to_v2`/`from_v2`), so the injection logic is written once.
use hv_types::IntId;

/// One list register (ICH_LR<n>_EL2 layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Lr(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LrState {
    Invalid,
    Pending,
    Active,
    PendingActive,
}

const STATE_SHIFT: u32 = 62;
const STATE_MASK: u64 = 3 << STATE_SHIFT;
const PENDING: u64 = 1 << STATE_SHIFT;
const ACTIVE: u64 = 2 << STATE_SHIFT;
const HW: u64 = 1 << 61;
const GROUP1: u64 = 1 << 60;
const PRIO_SHIFT: u32 = 48;
/// GICv2 only: an SGI's source CPU. hv keeps it in bits 59:57, RES0 in ICH_LR<n>_EL2, so a
/// GICv3 guest never sees it in its INTID (`to_v3` clears it); GICH_LR<n> shows it in 12:10.
const SOURCE_SHIFT: u32 = 57;
const SOURCE_MASK: u64 = 7 << SOURCE_SHIFT;
/// GICH_LR<n>'s CPUID field (12:10) and EOI bit (19, maintenance on deactivation).
const V2_CPUID: u32 = 0x1C00;
const V2_EOI: u32 = 1 << 19;

impl Lr {
    /// A pending interrupt. With `hw`, the guest's deactivation of `intid` deactivates the
    /// same physical INTID, so its EOI needs no trap. `source` is the sending vCPU of an SGI
    /// (GICv2 shows it to the guest; GICv3 ignores it).
    pub const fn pending(intid: IntId, priority: u8, hw: bool, source: u8) -> Lr {
        let phys = if hw { HW | ((intid.0 as u64 & 0x3FF) << 32) } else { 0 };
        let src = if !hw && intid.0 < 16 { ((source as u64) & 7) << SOURCE_SHIFT } else { 0 };
        Lr(PENDING | phys | GROUP1 | ((priority as u64) << PRIO_SHIFT) | src | intid.0 as u64)
    }

    /// The value for ICH_LR<n>_EL2 (GICv3): hv's private source bits cleared.
    pub const fn to_v3(self) -> u64 {
        self.0 & !SOURCE_MASK
    }

    /// The virtual INTID.
    pub const fn intid(self) -> IntId {
        IntId(self.0 as u32 & 0x3FF)
    }

    pub const fn state(self) -> LrState {
        match self.0 >> STATE_SHIFT {
            0 => LrState::Invalid,
            1 => LrState::Pending,
            2 => LrState::Active,
            _ => LrState::PendingActive,
        }
    }

    pub const fn is_pending(self) -> bool {
        self.0 & PENDING != 0
    }

    pub const fn is_active(self) -> bool {
        self.0 & ACTIVE != 0
    }

    /// The same interrupt with its pending and active bits replaced.
    pub const fn with_state(self, pending: bool, active: bool) -> Lr {
        let s = if pending { PENDING } else { 0 } | if active { ACTIVE } else { 0 };
        if s == 0 {
            Lr(0)
        } else {
            Lr((self.0 & !STATE_MASK) | s)
        }
    }

    pub const fn is_hw(self) -> bool {
        self.0 & HW != 0
    }

    /// A passthrough SPI: hardware-linked, INTID 32 and up (the timers are the linked PPIs).
    pub const fn is_hw_spi(self) -> bool {
        self.is_hw() && self.intid().0 >= 32
    }

    pub const fn priority(self) -> u8 {
        (self.0 >> PRIO_SHIFT) as u8
    }

    /// GICH_LR<n> (GICv2): VirtualID 9:0, CPUID 12:10, EOI 19, Priority 27:23 (top five bits),
    /// State 29:28, Grp1 30 (clear: a GICv2 guest enables Group 0), HW 31.
    ///
    /// A hardware interrupt is *not* written HW-linked on GICv2: it goes in as a software one
    /// with EOI set, so the guest's deactivation raises a maintenance interrupt and hv
    /// deactivates the physical INTID itself (`GichBank`). A GIC-400 re-signals a level
    /// interrupt still asserted at a HW-linked deactivation, but QEMU's GICv2 model does not,
    /// and a timer rearmed in the past would then never fire again. The virtual INTID equals
    /// the physical one, so `from_v2` recovers the HW link from the EOI bit.
    pub const fn to_v2(self) -> u32 {
        let low = if self.is_hw() { V2_EOI } else { ((self.0 >> SOURCE_SHIFT) as u32) << 10 & V2_CPUID };
        (((self.0 >> STATE_SHIFT) as u32 & 3) << 28)
            | ((self.priority() as u32 >> 3) << 23)
            | low
            | (self.0 as u32 & 0x3FF)
    }

    pub const fn from_v2(v: u32) -> Lr {
        if (v >> 28) & 3 == 0 {
            return Lr(0);
        }
        let low = if v & V2_EOI != 0 {
            HW | (((v & 0x3FF) as u64) << 32)
        } else {
            ((v & V2_CPUID) as u64 >> 10) << SOURCE_SHIFT
        };
        Lr((((v >> 28) as u64 & 3) << STATE_SHIFT)
            | GROUP1
            | ((((v >> 23) & 0x1F) as u64) << (PRIO_SHIFT + 3))
            | low
            | (v & 0x3FF) as u64)
    }

    /// A GICH_LR<n> value the guest has deactivated whose physical INTID hv must now
    /// deactivate: state invalid, EOI set (see `to_v2`). Returns that INTID.
    pub const fn v2_eoi_done(v: u32) -> Option<u32> {
        if (v >> 28) & 3 == 0 && v & V2_EOI != 0 && v & (1 << 31) == 0 {
            Some(v & 0x3FF)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        let lr = Lr::pending(IntId(27), 0xA0, true, 0);
        assert_eq!(lr.0, (1 << 62) | (1 << 61) | (1 << 60) | (0xA0 << 48) | (27 << 32) | 27);
        assert_eq!((lr.intid(), lr.state(), lr.is_hw()), (IntId(27), LrState::Pending, true));
        let sw = Lr::pending(IntId(3), 0x80, false, 2);
        assert_eq!(sw.0 >> 32 & 0x3FF, 0);
        assert_eq!((sw.intid(), sw.0 as u32), (IntId(3), 3), "the INTID carries no source bits");
        assert_eq!(sw.to_v3() as u32, 3, "nor does ICH_LR: a GICv3 guest reads INTID 3");
        assert_eq!(sw.to_v3() & (0xF << 56 | 0xFFFF << 32), 0, "ICH_LR's RES0 and pINTID bits stay clear");
        assert_eq!(sw.to_v2() & 0x1FFF, 2 << 10 | 3, "GICH_LR shows the source in 12:10");
        assert!(!sw.is_hw());
        assert_eq!(Lr(2 << 62).state(), LrState::Active);
        assert_eq!(Lr::default().state(), LrState::Invalid);
        assert_eq!(lr.with_state(true, true).state(), LrState::PendingActive);
        assert_eq!(lr.with_state(false, false), Lr(0), "no state is an empty register");
    }

    #[test]
    fn gicv2_layout_round_trips() {
        let hw = Lr::pending(IntId(27), 0xA0, true, 0);
        assert_eq!(hw.to_v2(), 1 << 28 | (0xA0 >> 3) << 23 | 1 << 19 | 27, "software, EOI maintenance");
        assert_eq!(Lr::from_v2(hw.to_v2()), hw);
        assert_eq!(Lr::v2_eoi_done(hw.to_v2()), None, "still pending");
        assert_eq!(Lr::v2_eoi_done(hw.to_v2() & !(3 << 28)), Some(27), "deactivated by the guest");
        let sgi = Lr::pending(IntId(5), 0x80, false, 3).with_state(true, true);
        assert_eq!(sgi.to_v2(), 3 << 28 | (0x80 >> 3) << 23 | 3 << 10 | 5);
        assert_eq!(Lr::from_v2(sgi.to_v2()), sgi);
        assert_eq!(Lr::v2_eoi_done(sgi.to_v2() & !(3 << 28)), None);
        assert_eq!(Lr::from_v2(0).state(), LrState::Invalid);
    }
}
