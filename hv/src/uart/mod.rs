//! The board's console UART, whichever kind the description names (`BOARD.console_kind`): one
//! driver per kind, each behind `Uart`. `BOARD` is a constant, so each call below compiles to
//! the one driver the board has. Adding a kind is a driver file here and a variant of
//! `hv_types::desc::UartKind` (docs/adding-a-board.md).
mod cadence;
mod ns16550;
mod pl011;

use crate::desc::UartKind;
use crate::machine::BOARD;
use core::sync::atomic::{AtomicU8, Ordering};

/// What hv asks of its console UART, at the registers at `base` (identity-mapped for hv).
trait Uart {
    /// Ready to send: a UART that comes out of reset disabled is enabled here. Boot CPU, once,
    /// before the first byte.
    fn init(base: usize);
    /// Send one byte, waiting for room.
    fn put(base: usize, c: u8);
    /// Turn on receiving and its interrupt (boot CPU, once).
    fn init_rx(base: usize);
    /// One received byte, if any is waiting.
    fn read(base: usize) -> Option<u8>;
    /// Mask (`false`) or unmask the receive interrupt.
    fn set_rx_irq(base: usize, on: bool);
}

const BASE: usize = BOARD.console.0 as usize;

/// Call `$f` of the board's driver.
macro_rules! driver {
    ($f:ident($($a:expr),*)) => {
        match BOARD.console_kind {
            UartKind::Pl011 => <pl011::Pl011 as Uart>::$f(BASE $(, $a)*),
            UartKind::Ns16550 => <ns16550::Ns16550 as Uart>::$f(BASE $(, $a)*),
            UartKind::Cadence => <cadence::Cadence as Uart>::$f(BASE $(, $a)*),
        }
    };
}

/// Enable the UART for output (boot CPU, before the first byte).
pub fn init() {
    driver!(init())
}

static LAST: AtomicU8 = AtomicU8::new(0);

/// Write bytes, turning a bare `\n` into `\r\n` for terminals in raw mode. Callers hold the
/// console lock (console.rs).
pub fn write_bytes(bytes: &[u8]) {
    for &c in bytes {
        if c == b'\n' && LAST.load(Ordering::Relaxed) != b'\r' {
            driver!(put(b'\r'));
        }
        driver!(put(c));
        LAST.store(c, Ordering::Relaxed);
    }
}

/// Turn on console input (boot CPU, once).
pub fn init_rx() {
    driver!(init_rx())
}

/// One received byte, if any.
pub fn read_byte() -> Option<u8> {
    driver!(read())
}

/// Mask (`false`) or unmask the receive interrupt: input waits in the UART's FIFO while the VM
/// that has the focus cannot take it.
pub fn set_rx_irq(on: bool) {
    driver!(set_rx_irq(on))
}
