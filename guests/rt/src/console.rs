//! Console output: the UART named by the DTB's `stdout-path` (or the first PL011 or NS16550A),
//! or hv's putc call when there is none.
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static UART: AtomicUsize = AtomicUsize::new(0);
/// The console is an NS16550A (byte registers), not a PL011.
static NS16550: AtomicBool = AtomicBool::new(false);

const DR: usize = 0x00;
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;
const THR: usize = 0;
const LSR: usize = 5;
const LSR_THRE: u8 = 1 << 5;

/// Base address of the console UART, 0 if none.
pub fn uart_base() -> usize {
    UART.load(Ordering::Relaxed)
}

/// What the console UART is, for messages.
pub fn uart_kind() -> &'static str {
    if NS16550.load(Ordering::Relaxed) {
        "NS16550A"
    } else {
        "PL011"
    }
}

pub fn init(fdt: Option<&fdt::Fdt>) {
    let Some(fdt) = fdt else { return };
    let node = fdt.chosen().stdout().or_else(|| fdt.find_compatible(&["arm,pl011", "ns16550a"]));
    let ns = node.and_then(|n| n.compatible()).is_some_and(|c| c.all().any(|c| c == "ns16550a"));
    if let Some(base) = node.and_then(|n| n.reg()).and_then(|mut r| r.next()) {
        NS16550.store(ns, Ordering::Relaxed);
        UART.store(base.starting_address as usize, Ordering::Relaxed);
    }
}

fn put(c: u8) {
    let base = uart_base();
    if base == 0 {
        return crate::hvc::putc(c);
    }
    if NS16550.load(Ordering::Relaxed) {
        // SAFETY: `base` is the NS16550A the DTB describes, trapped by the hypervisor; its
        // registers are bytes.
        unsafe {
            while core::ptr::read_volatile((base + LSR) as *const u8) & LSR_THRE == 0 {}
            core::ptr::write_volatile((base + THR) as *mut u8, c);
        }
        return;
    }
    // SAFETY: `base` is the PL011 the DTB describes, mapped (trapped) by the hypervisor; MMIO
    // accesses are volatile and aligned.
    unsafe {
        while core::ptr::read_volatile((base + FR) as *const u32) & FR_TXFF != 0 {}
        core::ptr::write_volatile((base + DR) as *mut u32, c as u32);
    }
}

pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(put);
        Ok(())
    }
}

#[macro_export]
macro_rules! print {
    ($($t:tt)*) => {{ let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($t)*)); }};
}

#[macro_export]
macro_rules! println {
    ($($t:tt)*) => {{ $crate::print!($($t)*); $crate::print!("\n"); }};
}
