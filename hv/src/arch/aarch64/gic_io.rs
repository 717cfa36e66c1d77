//! Register access to the board's GIC frames, shared by both drivers.
use core::ptr::{read_volatile, write_volatile};

/// Read a 32-bit GIC register.
pub fn rd32(addr: usize) -> u32 {
    // SAFETY: `addr` is inside the GIC frames the description gives, identity-mapped as Device
    // memory at EL2; GIC registers take aligned 32-bit accesses.
    unsafe { read_volatile(addr as *const u32) }
}

pub fn wr32(addr: usize, v: u32) {
    // SAFETY: as for `rd32`.
    unsafe { write_volatile(addr as *mut u32, v) }
}

/// Write one byte of a byte-accessible GIC register (priorities, GICv2 targets).
pub fn wr8(addr: usize, v: u8) {
    // SAFETY: as for `rd32`; callers only name byte-accessible registers.
    unsafe { write_volatile(addr as *mut u8, v) }
}

/// Interrupt lines the physical distributor implements (GICD_TYPER.ITLinesNumber).
pub fn gic_lines() -> u32 {
    use crate::machine::regs::{GicdRegs, GICD};
    use tock_registers::interfaces::Readable;
    // SAFETY: GICD is the board's distributor, identity-mapped as Device memory; TYPER is
    // read-only and reading it has no side effects.
    let d = unsafe { &*(GICD as *const GicdRegs) };
    32 * ((d.typer.get() & 0x1F) + 1)
}
