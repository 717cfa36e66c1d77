//! Address and identifier newtypes, shared by codegen and hv so generated tables and runtime code
//! cannot mix up a guest-physical with a physical address, or a vCPU with a pCPU.
#![no_std]

pub mod desc;

/// Intermediate physical address: what a guest believes is physical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipa(pub u64);

/// Physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pa(pub u64);

/// Index of a VM in the machine description (also its VMID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmId(pub usize);

/// Index of a physical CPU (MPIDR Aff0 on the boards we support).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuId(pub usize);

/// INTIDs each VM's virtual GIC implements: 16 SGIs, 16 PPIs and 96 SPIs (`Spi(0)`..=`Spi(95)`).
/// codegen rejects routes beyond it; hv sizes the virtual distributor by it.
pub const VGIC_INTIDS: u32 = 128;
/// Bytes of a GIC distributor frame, and of one GICv3 redistributor (RD_base + SGI_base).
pub const GICD_SIZE: u64 = 0x1_0000;
pub const GICR_STRIDE: u64 = 0x2_0000;

/// Most peers a channel has (its GPIO doorbells have one line each way per peer).
pub const CHANNEL_PEERS: usize = 4;
/// Bytes of a channel's state table, its first section (docs/channels.md).
pub const CHANNEL_STATE: u64 = 0x1000;

/// A GIC interrupt ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntId(pub u32);

/// The three classes of GIC interrupt that a description can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqClass {
    Sgi,
    Ppi,
    Spi,
}

impl IntId {
    pub const fn sgi(n: u32) -> IntId {
        IntId(n)
    }
    pub const fn ppi(n: u32) -> IntId {
        IntId(16 + n)
    }
    pub const fn spi(n: u32) -> IntId {
        IntId(32 + n)
    }
    /// `None` for special (1020..) and LPI INTIDs.
    pub const fn class(self) -> Option<IrqClass> {
        match self.0 {
            0..=15 => Some(IrqClass::Sgi),
            16..=31 => Some(IrqClass::Ppi),
            32..=1019 => Some(IrqClass::Spi),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn classes() {
        assert_eq!(IntId::ppi(11), IntId(27));
        assert_eq!(IntId::spi(1).class(), Some(IrqClass::Spi));
        assert_eq!(IntId(1020).class(), None);
    }
}
