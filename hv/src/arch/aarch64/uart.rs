//! The board's console UART and GIC distributor, through the register structs codegen generated
//! for the addresses in the description.
use crate::machine::regs::{Console, GicdRegs, CONSOLE, GICD};
use core::sync::atomic::{AtomicU8, Ordering};
use tock_registers::interfaces::{Readable, Writeable};

const FR_TXFF: u32 = 1 << 5;
static LAST: AtomicU8 = AtomicU8::new(0);

fn console() -> &'static Console {
    // SAFETY: CONSOLE is the board's PL011, identity-mapped as Device memory at EL2, and the
    // register struct matches its layout; the device is only written under the console lock.
    unsafe { &*(CONSOLE as *const Console) }
}

fn put(c: u8) {
    let u = console();
    while u.fr.get() & FR_TXFF != 0 {}
    u.dr.set(c as u32);
}

/// Write bytes, turning a bare `\n` into `\r\n` for terminals in raw mode.
pub fn write_bytes(bytes: &[u8]) {
    for &c in bytes {
        if c == b'\n' && LAST.load(Ordering::Relaxed) != b'\r' {
            put(b'\r');
        }
        put(c);
        LAST.store(c, Ordering::Relaxed);
    }
}

/// Interrupt lines the physical distributor implements (GICD_TYPER.ITLinesNumber).
pub fn gic_lines() -> u32 {
    // SAFETY: GICD is the board's distributor, identity-mapped as Device memory; TYPER is
    // read-only and reading it has no side effects.
    let d = unsafe { &*(GICD as *const GicdRegs) };
    32 * ((d.typer.get() & 0x1F) + 1)
}
