//! Injecting exceptions into the guest's EL1: the architectural answer to accesses hv refuses
//! (synchronous external aborts) and to instructions it does not emulate (undefined).
use crate::arch::aarch64::regs::{El1, GuestRegs, SPSR_DAIF, SPSR_EL1H};

/// What to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Data abort, synchronous external, at `far`.
    Data {
        far: u64,
        write: bool,
    },
    /// Instruction abort, synchronous external, at `far`.
    Instr {
        far: u64,
    },
    Undefined,
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Fault::Data { far, write: true } => write!(f, "a data abort (write to {far:#x})"),
            Fault::Data { far, write: false } => write!(f, "a data abort (read of {far:#x})"),
            Fault::Instr { far } => write!(f, "an instruction abort (fetch from {far:#x})"),
            Fault::Undefined => write!(f, "an undefined instruction"),
        }
    }
}

const FSC_SEA: u64 = 0x10;
const IL: u64 = 1 << 25;

/// Redirect the guest to its EL1 synchronous vector with the fault's syndrome. Returns the
/// vector address it will run, for the caller's sanity check.
pub fn inject(regs: &mut GuestRegs, el1: &mut impl El1, fault: Fault) -> u64 {
    let from_el1 = regs.el() == 1;
    // EC: "current EL" variants when the guest kernel itself faulted.
    let (ec, iss, far) = match fault {
        Fault::Data { far, write } => {
            (if from_el1 { 0x25 } else { 0x24 }, FSC_SEA | ((write as u64) << 6), far)
        }
        Fault::Instr { far } => (if from_el1 { 0x21 } else { 0x20 }, FSC_SEA, far),
        Fault::Undefined => (0x00, 0, 0),
    };
    el1.set_exception((ec << 26) | IL | iss, far, regs.elr, regs.spsr);
    // Vector offset: current EL with SP_EL0 (M=EL1t) 0x000, with SP_ELx 0x200; lower EL in
    // AArch64 0x400, in AArch32 (SPSR.M[4]) 0x600.
    let offset = match (from_el1, regs.spsr & 1, regs.spsr & 0x10 != 0) {
        (true, 0, _) => 0x000,
        (true, _, _) => 0x200,
        (false, _, false) => 0x400,
        (false, _, true) => 0x600,
    };
    // VBAR_EL1 is the guest's: near 2^64 it wraps, as the hardware's address would.
    let vector = el1.vbar().wrapping_add(offset);
    regs.elr = vector;
    regs.spsr = SPSR_DAIF | SPSR_EL1H;
    vector
}

#[cfg(test)]
pub mod fake {
    use super::*;

    /// A fake EL1 for host tests: registers as fields, identity translation inside `ram`.
    #[derive(Default, Debug)]
    pub struct FakeEl1 {
        pub sp_el0: u64,
        pub sp_el1: u64,
        pub vbar: u64,
        pub exception: Option<(u64, u64, u64, u64)>,
        pub ram: core::ops::Range<u64>,
        /// (VA, instruction) pairs `fetch_insn` returns.
        pub code: [(u64, u32); 2],
    }

    impl El1 for FakeEl1 {
        fn sp(&self, regs: &GuestRegs) -> u64 {
            if regs.spsr & 1 == 1 {
                self.sp_el1
            } else {
                self.sp_el0
            }
        }
        fn set_sp(&mut self, regs: &GuestRegs, v: u64) {
            if regs.spsr & 1 == 1 {
                self.sp_el1 = v
            } else {
                self.sp_el0 = v
            }
        }
        fn vbar(&self) -> u64 {
            self.vbar
        }
        fn set_exception(&mut self, esr: u64, far: u64, elr: u64, spsr: u64) {
            self.exception = Some((esr, far, elr, spsr));
        }
        fn translate(&mut self, va: u64) -> Option<u64> {
            self.ram.contains(&va).then_some(va)
        }
        fn fetch_insn(&mut self, va: u64) -> Option<u32> {
            self.code.iter().find(|c| c.0 == va).map(|c| c.1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeEl1;
    use super::*;

    #[test]
    fn data_abort_from_el1h() {
        let mut r = GuestRegs { elr: 0x4000_1000, spsr: 0x3C5, ..Default::default() };
        let mut e = FakeEl1 { vbar: 0x4000_8000, ..Default::default() };
        let v = inject(&mut r, &mut e, Fault::Data { far: 0x1000_0000, write: true });
        assert_eq!(v, 0x4000_8200);
        assert_eq!(r.elr, 0x4000_8200);
        assert_eq!(r.spsr, 0x3C5);
        let (esr, far, elr, spsr) = e.exception.unwrap();
        assert_eq!(esr, (0x25 << 26) | (1 << 25) | (1 << 6) | 0x10);
        assert_eq!((far, elr, spsr), (0x1000_0000, 0x4000_1000, 0x3C5));
    }

    #[test]
    fn a_vector_table_near_the_top_wraps() {
        let mut r = GuestRegs { elr: 0x4000_1000, spsr: 0x3C5, ..Default::default() };
        let mut e = FakeEl1 { vbar: u64::MAX - 0x7FF, ..Default::default() };
        assert_eq!(inject(&mut r, &mut e, Fault::Undefined), u64::MAX - 0x5FF);
        let mut r = GuestRegs { spsr: 0x0, ..Default::default() };
        assert_eq!(inject(&mut r, &mut e, Fault::Undefined), u64::MAX - 0x3FF);
        // QEMU keeps VBAR_EL1 bits 10:5, so a guest can get this close to the top: the vector
        // address wraps, as the hardware's would, instead of panicking hv.
        e.vbar = u64::MAX - 0x1F;
        let mut r = GuestRegs { spsr: 0x3C5, ..Default::default() };
        assert_eq!(inject(&mut r, &mut e, Fault::Undefined), 0x1E0);
    }

    #[test]
    fn from_el0_uses_lower_el_vector() {
        let mut r = GuestRegs { elr: 0x1000, spsr: 0x0, ..Default::default() };
        let mut e = FakeEl1 { vbar: 0x8000, ..Default::default() };
        assert_eq!(inject(&mut r, &mut e, Fault::Instr { far: 0x1000 }), 0x8400);
        assert_eq!(e.exception.unwrap().0 >> 26, 0x20);
        let mut r = GuestRegs { spsr: 0x3C4, ..Default::default() };
        assert_eq!(inject(&mut r, &mut e, Fault::Undefined), 0x8000);
        // An AArch32 EL0 (SPSR.M = 0b10000, User) uses the lower-EL AArch32 vector.
        let mut r = GuestRegs { spsr: 0x10, ..Default::default() };
        assert_eq!(inject(&mut r, &mut e, Fault::Undefined), 0x8600);
        assert_eq!(e.exception.unwrap().0, 1 << 25);
    }
}
