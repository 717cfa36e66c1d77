//! The board's NS16550A console, through the register struct codegen generated for its address.
use crate::machine::regs::{Console, CONSOLE};
use core::sync::atomic::{AtomicU8, Ordering};
use tock_registers::interfaces::{Readable, Writeable};

const LSR_DR: u8 = 1 << 0;
const LSR_THRE: u8 = 1 << 5;
const IER_RDI: u8 = 1 << 0;
static LAST: AtomicU8 = AtomicU8::new(0);

fn console() -> &'static Console {
    // SAFETY: CONSOLE is the board's NS16550A, which hv reaches untranslated, and the register
    // struct matches its byte-wide layout; the device is only written under the console lock.
    unsafe { &*(CONSOLE as *const Console) }
}

fn put(c: u8) {
    let u = console();
    while u.lsr.get() & LSR_THRE == 0 {}
    u.rbr_thr.set(c);
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

/// Is the transmitter ready (the firmware left the UART set up)?
pub fn ready() -> bool {
    console().lsr.get() & LSR_THRE != 0
}

/// Turn on console input: the received-data interrupt (boot hart, once).
pub fn init_rx() {
    console().ier.set(IER_RDI);
}

/// One received byte, if any is waiting.
pub fn read_byte() -> Option<u8> {
    let u = console();
    (u.lsr.get() & LSR_DR != 0).then(|| u.rbr_thr.get())
}

/// Mask (`false`) or unmask the received-data interrupt.
pub fn set_rx_irq(on: bool) {
    console().ier.set(if on { IER_RDI } else { 0 });
}
