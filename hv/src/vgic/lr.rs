//! List-register values in the GICv3 ICH_LR<n>_EL2 layout.
use hv_types::IntId;

/// One list register.
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
const HW: u64 = 1 << 61;
const GROUP1: u64 = 1 << 60;
const PRIO_SHIFT: u32 = 48;

impl Lr {
    /// A pending Group 1 interrupt. With `hw`, the guest's deactivation of `intid` deactivates
    /// the same physical INTID, so its EOI needs no trap.
    pub const fn pending(intid: IntId, priority: u8, hw: bool) -> Lr {
        let phys = if hw { HW | ((intid.0 as u64 & 0x3FF) << 32) } else { 0 };
        Lr((1 << STATE_SHIFT) | phys | GROUP1 | ((priority as u64) << PRIO_SHIFT) | intid.0 as u64)
    }

    pub const fn intid(self) -> IntId {
        IntId(self.0 as u32)
    }

    pub const fn state(self) -> LrState {
        match self.0 >> STATE_SHIFT {
            0 => LrState::Invalid,
            1 => LrState::Pending,
            2 => LrState::Active,
            _ => LrState::PendingActive,
        }
    }

    pub const fn is_hw(self) -> bool {
        self.0 & HW != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        let lr = Lr::pending(IntId(27), 0xA0, true);
        assert_eq!(lr.0, (1 << 62) | (1 << 61) | (1 << 60) | (0xA0 << 48) | (27 << 32) | 27);
        assert_eq!((lr.intid(), lr.state(), lr.is_hw()), (IntId(27), LrState::Pending, true));
        let sw = Lr::pending(IntId(3), 0x80, false);
        assert_eq!(sw.0 >> 32 & 0x3FF, 0);
        assert!(!sw.is_hw());
        assert_eq!(Lr(2 << 62).state(), LrState::Active);
        assert_eq!(Lr::default().state(), LrState::Invalid);
    }
}
