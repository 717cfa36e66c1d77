//! The board's console UART and GIC distributor, through the register structs codegen generated
//! for the addresses in the description.
use crate::machine::regs::{Console, GicdRegs, CONSOLE, GICD};
use core::sync::atomic::{AtomicU8, Ordering};
use tock_registers::interfaces::{Readable, Writeable};

const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// LCR_H: 8 data bits, FIFOs on.
const LCR_H_8N1_FIFO: u32 = (3 << 5) | (1 << 4);
/// IMSC/ICR: receive and receive-timeout interrupts.
const INT_RX_RT: u32 = (1 << 4) | (1 << 6);
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

/// Turn on console input: FIFOs on, receive interrupts unmasked (boot CPU, once).
pub fn init_rx() {
    let u = console();
    u.lcr_h.set(LCR_H_8N1_FIFO);
    u.icr.set(INT_RX_RT);
    u.imsc.set(INT_RX_RT);
}

/// One received byte, if any is waiting.
pub fn read_byte() -> Option<u8> {
    let u = console();
    (u.fr.get() & FR_RXFE == 0).then(|| u.dr.get() as u8)
}

/// Mask (`false`) or unmask the receive interrupts: input waits in the UART's FIFO while the
/// VM that has the focus cannot take it.
pub fn set_rx_irq(on: bool) {
    console().imsc.set(if on { INT_RX_RT } else { 0 });
}

/// Interrupt lines the physical distributor implements (GICD_TYPER.ITLinesNumber).
pub fn gic_lines() -> u32 {
    // SAFETY: GICD is the board's distributor, identity-mapped as Device memory; TYPER is
    // read-only and reading it has no side effects.
    let d = unsafe { &*(GICD as *const GicdRegs) };
    32 * ((d.typer.get() & 0x1F) + 1)
}
