//! Console output for hv and for the VMs. Each VM's lines are prefixed with its name when the
//! machine runs more than one VM, so interleaved output stays readable.
use crate::machine::{NUM_VMS, VMS};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
use hv_types::VmId;

/// The byte sink: the board's UART on target, stdout in host tests.
#[cfg(target_arch = "aarch64")]
use crate::arch::aarch64::uart::write_bytes;

#[cfg(not(target_arch = "aarch64"))]
fn write_bytes(b: &[u8]) {
    extern crate std;
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(b);
}

static LOCK: spin::Mutex<()> = spin::Mutex::new(());
static AT_LINE_START: [AtomicBool; NUM_VMS] = [const { AtomicBool::new(true) }; NUM_VMS];

struct Raw;
impl Write for Raw {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// hv's own messages (use `hv_println!`).
pub fn print(args: fmt::Arguments) {
    let _g = LOCK.lock();
    let _ = Raw.write_fmt(args);
}

/// Output of VM `vm`.
pub fn vm_write(vm: VmId, bytes: &[u8]) {
    let _g = LOCK.lock();
    if NUM_VMS == 1 {
        return write_bytes(bytes);
    }
    let start = &AT_LINE_START[vm.0];
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if start.load(Ordering::Relaxed) {
            write_bytes(b"[");
            write_bytes(VMS[vm.0].name.as_bytes());
            write_bytes(b"] ");
        }
        write_bytes(line);
        start.store(line.ends_with(b"\n"), Ordering::Relaxed);
    }
}

#[macro_export]
macro_rules! hv_println {
    ($($t:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($t)*))) };
}
