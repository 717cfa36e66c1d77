//! The guest's registers as the trap entry saves them: x1-x31 (x0 reads as zero) and the pc.
//! The layout is shared with the entry code in trap.rs. sstatus and hstatus are not in it: hv
//! leaves the guest's values in the CSRs, and the one place that can change them (a trap taken
//! by a guest-memory probe) puts them back itself (guest.rs).

/// Saved on every exit, in the pCPU's entry (pcpu.rs). On a quick exit (an SBI call, an
/// interrupt) only the registers a Rust call may clobber are written: `x8`, `x9` and
/// `x18`-`x27` then hold stale values, and the handler must not read or write them.
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct GuestRegs {
    /// x0-x31; `x[0]` is never read or written.
    pub x: [u64; 32],
    pub sepc: u64,
}

/// Byte offset of `sepc`, for the entry code.
pub const OFF_SEPC: usize = 32 * 8;

impl GuestRegs {
    pub const fn new() -> Self {
        GuestRegs { x: [0; 32], sepc: 0 }
    }
    /// Register `r`; x0 is zero.
    pub fn get(&self, r: u8) -> u64 {
        if r == 0 {
            0
        } else {
            self.x[r as usize & 31]
        }
    }
    /// Write register `r`; writes to x0 are discarded.
    pub fn set(&mut self, r: u8, v: u64) {
        if r != 0 {
            self.x[r as usize & 31] = v;
        }
    }
}
