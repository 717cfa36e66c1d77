//! The guest's registers as the trap entry saves them: x1-x31 (x0 reads as zero) and the pc.
//! The layout is shared with the entry code in trap.rs.

/// Saved on every exit, in the pCPU's entry (pcpu.rs).
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct GuestRegs {
    /// x0-x31; `x[0]` is never read or written.
    pub x: [u64; 32],
    pub sepc: u64,
    /// The guest's sstatus and hstatus at the exit, put back on return: hv's own accesses to
    /// guest memory (HLV) may take a trap that changes them.
    pub sstatus: u64,
    pub hstatus: u64,
}

/// Byte offsets the entry code uses.
pub const OFF_SEPC: usize = 32 * 8;
pub const OFF_SSTATUS: usize = 33 * 8;
pub const OFF_HSTATUS: usize = 34 * 8;

impl GuestRegs {
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
