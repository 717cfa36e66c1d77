//! Console input: bytes typed on the board's UART go to the console device of the VM with the
//! input focus, with end-to-end flow control (input waits in the UART's FIFO, and QEMU's
//! behind it, while the VM's receive FIFO is full). The UART's interrupt is routed to the pCPU
//! of the focused VM's vCPU 0, so a single-vCPU VM's devices are only ever touched from its own
//! pCPU. Lock order: `FOCUS`, then the VM's devices, its vGIC, the vCPU queues.
use super::trap::DevCtx;
use super::{firmware, gic, uart};
use crate::input::{self, Escape, Key};
use crate::machine::{console_input, BOARD, VMS};
use crate::{hv_println, vm};
use core::sync::atomic::{AtomicBool, Ordering};
use hv_types::VmId;

struct Focus {
    vm: usize,
    escape: Escape,
}

static FOCUS: spin::Mutex<Focus> = spin::Mutex::new(Focus { vm: 0, escape: Escape::new() });
/// The focused VM's receive FIFO was full, so the UART's receive interrupt is masked.
static BLOCKED: AtomicBool = AtomicBool::new(false);

/// Boot CPU, once: give the focus to the first VM with a console, route the UART to it.
pub fn init() {
    let Some(first) = input::first_focus() else { return };
    FOCUS.lock().vm = first;
    uart::init_rx();
    gic::route_spi(BOARD.console_irq, VMS[first].vcpus[0].0);
    if VMS.len() > 1 {
        hv_println!("hv: console input goes to vm {first} `{}`", VMS[first].name);
        hv_println!("{}", input::HELP);
    }
}

/// The UART's receive interrupt: move what it holds to the focused VM while it has room.
pub fn pump() {
    let mut f = FOCUS.lock();
    loop {
        let vm = VmId(f.vm);
        // Taken here just before the focus moved: the UART's line is still high and now routed
        // to the new focus's pCPU, the only one that may touch its devices.
        if super::cpu_id() != VMS[vm.0].vcpus[0].0 {
            return;
        }
        let mut switch = None;
        let mut next = || loop {
            let b = uart::read_byte()?;
            match f.escape.feed(b) {
                Key::Data(b) => return Some(b),
                Key::Switch(n) => {
                    switch = Some(n);
                    return None;
                }
                Key::Quit => {
                    hv_println!("hv: Ctrl-A x: powering the machine off");
                    firmware::system_off();
                }
                Key::Help => hv_println!("{}", input::HELP),
                Key::Nothing => {}
            }
        };
        // A stopped VM's input is dropped, but its escapes still work.
        let full = if vm::is_stopped(vm) {
            while next().is_some() {}
            false
        } else {
            console_input(vm, &mut DevCtx { vm, vcpu: 0 }, &mut next) == Some(false)
        };
        if let Some(n) = switch {
            // The rest of the input waits for the new focus's pCPU: only it may touch that VM's
            // devices.
            return refocus(&mut f, n);
        }
        if !full {
            return;
        }
        // Full: mask, then look again, so a drain in between is never missed (the device
        // unmasks through `rx_ready` only once it sees BLOCKED).
        BLOCKED.store(true, Ordering::SeqCst);
        uart::set_rx_irq(false);
        if console_input(vm, &mut DevCtx { vm, vcpu: 0 }, &mut || None) == Some(false) {
            return;
        }
        BLOCKED.store(false, Ordering::SeqCst);
        uart::set_rx_irq(true);
    }
}

fn refocus(f: &mut Focus, n: usize) {
    if !input::focusable(n) {
        hv_println!("hv: no VM {n} with a console: input stays with vm {} `{}`", f.vm, VMS[f.vm].name);
        return;
    }
    f.vm = n;
    hv_println!("hv: console input goes to vm {n} `{}`", VMS[n].name);
    BLOCKED.store(false, Ordering::SeqCst);
    uart::set_rx_irq(true);
    gic::route_spi(BOARD.console_irq, VMS[n].vcpus[0].0);
}

/// The focused VM's console device emptied its receive FIFO: let input flow again.
pub fn rx_ready() {
    if BLOCKED.swap(false, Ordering::SeqCst) {
        uart::set_rx_irq(true);
    }
}
