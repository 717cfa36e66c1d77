//! Console output: the PL011 named by the DTB's `stdout-path` (or the first `arm,pl011`), or the
//! HV_PUTC hypercall when there is none.
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};

static UART: AtomicUsize = AtomicUsize::new(0);

const DR: usize = 0x00;
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;

/// Base address of the console UART, 0 if none.
pub fn uart_base() -> usize {
    UART.load(Ordering::Relaxed)
}

pub fn init(fdt: Option<&fdt::Fdt>) {
    let Some(fdt) = fdt else { return };
    let node = fdt.chosen().stdout().or_else(|| fdt.find_compatible(&["arm,pl011"]));
    if let Some(base) = node.and_then(|n| n.reg()).and_then(|mut r| r.next()) {
        UART.store(base.starting_address as usize, Ordering::Relaxed);
    }
}

fn put(c: u8) {
    let base = uart_base();
    if base == 0 {
        return crate::hvc::putc(c);
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
