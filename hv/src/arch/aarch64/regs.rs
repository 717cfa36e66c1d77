//! The guest's general-purpose registers as the exit path saved them, and the EL1 state hv
//! reads or writes to emulate and inject. The trait lets host tests use a fake.

/// Saved on every exit by the vector stub (layout shared with arch/aarch64/vectors.rs).
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct GuestRegs {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    pub _pad: u64,
}

/// Bytes of the frame; the vector stub reserves this much.
pub const FRAME_SIZE: usize = core::mem::size_of::<GuestRegs>();
const _: () = assert!(FRAME_SIZE == 272 && FRAME_SIZE.is_multiple_of(16));

/// SPSR_EL2.M values for AArch64 EL1 with SP_EL1, and DAIF all masked.
pub const SPSR_EL1H: u64 = 0b0101;
pub const SPSR_DAIF: u64 = 0xF << 6;

impl GuestRegs {
    /// Read Rt; 31 is XZR.
    pub fn get(&self, r: u8) -> u64 {
        if r == 31 {
            0
        } else {
            self.x[r as usize]
        }
    }
    /// Write Rt; writes to XZR are discarded.
    pub fn set(&mut self, r: u8, v: u64) {
        if r != 31 {
            self.x[r as usize] = v;
        }
    }
    /// Exception level the guest was in (0 or 1).
    pub fn el(&self) -> u8 {
        ((self.spsr >> 2) & 3) as u8
    }
}

/// x0-x3 of the caller: all an SMCCC call reads (function ID, arguments) or writes (results).
pub type SmcccRegs = [u64; 4];

/// EL1 system state hv touches on the guest's behalf.
pub trait El1 {
    /// The stack pointer the guest was using (SP_EL0 or SP_EL1, per SPSR.M).
    fn sp(&self, regs: &GuestRegs) -> u64;
    fn set_sp(&mut self, regs: &GuestRegs, v: u64);
    fn vbar(&self) -> u64;
    /// Write ESR_EL1, FAR_EL1, ELR_EL1 and SPSR_EL1 for an injected exception.
    fn set_exception(&mut self, esr: u64, far: u64, elr: u64, spsr: u64);
    /// Translate a guest VA through stage 1 and 2 for a read (AT S12E1R); PA or `None`.
    fn translate(&mut self, va: u64) -> Option<u64>;
    /// The instruction at guest VA `va`, if it is in the VM's RAM.
    fn fetch_insn(&mut self, va: u64) -> Option<u32>;
}
