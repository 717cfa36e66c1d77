//! Console output for hv and for the VMs. When the machine runs more than one VM, each VM's
//! output is gathered into lines and prefixed with its name, so concurrent output stays
//! readable; an unfinished line (a shell prompt) is printed when its VM goes idle. Input flows
//! the other way (console_in.rs); the flag that holds it back while the focused VM is full is
//! here, where devices reach it.
use crate::arch::Arch;
use crate::machine::NUM_VMS;
use crate::vm::Vm;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

/// The byte sink: the board's UART on target, stdout in host tests.
use crate::arch::console_write as write_bytes;

/// The console, and which VM's line is partly printed on it (so another line starts afresh).
static LOCK: spin::Mutex<Cursor> = spin::Mutex::new(Cursor { partial: None });

struct Cursor {
    /// The VM whose output line is open (printed without its newline yet).
    partial: Option<usize>,
}

impl Cursor {
    /// End a line left open by another writer, so what follows starts on its own line.
    fn break_line(&mut self) {
        if self.partial.take().is_some() {
            write_bytes(b"\n");
        }
    }
}

struct Raw;
impl Write for Raw {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// hv's own messages (use `hv_println!`).
pub fn print(args: fmt::Arguments) {
    let mut c = LOCK.lock();
    c.break_line();
    let _ = Raw.write_fmt(args);
}

/// Print `bytes` of VM `vm`'s output line: a new line gets its `[name] ` prefix, and a line of
/// another writer's left open is ended first.
fn emit<I>(c: &mut Cursor, vm: &Vm<I>, bytes: &[u8]) {
    if c.partial != Some(vm.id.0) {
        c.break_line();
        write_bytes(b"[");
        write_bytes(vm.desc.name.as_bytes());
        write_bytes(b"] ");
    }
    write_bytes(bytes);
    c.partial = (bytes.last() != Some(&b'\n')).then_some(vm.id.0);
}

/// Output of VM `vm`. With one VM bytes go straight out; with several, each VM's output is
/// gathered into its line (so lines from different VMs never interleave mid-line) and printed
/// as `[name] line`.
pub fn vm_write<I>(vm: &Vm<I>, bytes: &[u8]) {
    if NUM_VMS == 1 {
        let _g = LOCK.lock();
        return write_bytes(bytes);
    }
    let mut line = vm.line.lock();
    for &b in bytes {
        // Both fit: a full buffer was flushed on the previous byte.
        let _ = line.push(b);
        if b == b'\n' || line.is_full() {
            emit(&mut LOCK.lock(), vm, &line);
            line.clear();
        }
    }
}

/// Print what VM `vm` has of an unfinished line: it went idle (WFI), so the line is a prompt,
/// or an echo of what was typed, that must show now.
pub fn flush<I>(vm: &Vm<I>) {
    if NUM_VMS == 1 {
        return;
    }
    let mut line = vm.line.lock();
    if !line.is_empty() {
        emit(&mut LOCK.lock(), vm, &line);
        line.clear();
    }
}

/// The focused VM's receive FIFO was full, so the UART's receive interrupt is masked.
pub(crate) static INPUT_BLOCKED: AtomicBool = AtomicBool::new(false);

/// The focused VM's console device emptied its receive FIFO: let input flow again.
pub fn rx_ready<A: Arch>() {
    if INPUT_BLOCKED.swap(false, Ordering::SeqCst) {
        A::console_rx_irq(true);
    }
}

#[macro_export]
macro_rules! hv_println {
    ($($t:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($t)*))) };
}
