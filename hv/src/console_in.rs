//! Console input: bytes typed on the board's UART go to the console device of the VM with the
//! input focus, with end-to-end flow control (input waits in the UART's FIFO, and QEMU's
//! behind it, while the VM's receive FIFO is full). The UART's interrupt is routed to the pCPU
//! of the focused VM's vCPU 0, so a single-vCPU VM's devices are only ever touched from its own
//! pCPU. Lock order: `FOCUS`, then the VM's devices, its interrupt controller, the vCPU queues.
use crate::arch::Arch;
use crate::console::INPUT_BLOCKED as BLOCKED;
use crate::hv_println;
use crate::input::{self, Escape, Key};
use crate::machine::{console_input, VMS};
use crate::mmio::DevCtx;
use crate::vm::Control as Op;
use core::sync::atomic::Ordering;
use hv_types::VmId;

struct Focus {
    vm: usize,
    escape: Escape,
}

static FOCUS: spin::Mutex<Focus> = spin::Mutex::new(Focus { vm: 0, escape: Escape::new() });

/// Boot CPU, once: give the focus to the first VM with a console, route the UART to it.
pub fn init<A: Arch>() {
    let Some(first) = input::first_focus() else { return };
    FOCUS.lock().vm = first;
    A::console_init_rx();
    A::console_route(VMS[first].vcpus[0]);
    if VMS.len() > 1 {
        hv_println!("hv: console input goes to vm {first} `{}`", VMS[first].name);
        hv_println!("{}", input::HELP);
    }
}

/// The UART's receive interrupt: move what it holds to the focused VM while it has room, and
/// carry out a management command typed meanwhile (once the focus is released: a restart of
/// this pCPU's own VM does not come back).
pub fn pump<A: Arch>() {
    let command = pump_locked::<A>(&mut FOCUS.lock());
    if let Some((op, n)) = command {
        crate::manage::console::<A>(op, n);
    }
}

fn pump_locked<A: Arch>(f: &mut Focus) -> Option<(Op, usize)> {
    let mut command = None;
    loop {
        let vm = VmId(f.vm);
        // Taken here just before the focus moved: the UART's line is still high and now routed
        // to the new focus's pCPU, the only one that may touch its devices.
        if A::cpu_id() != VMS[vm.0].vcpus[0].0 {
            return command;
        }
        let mut switch = None;
        let mut next = || loop {
            let b = A::console_read()?;
            match f.escape.feed(b) {
                Key::Data(b) => return Some(b),
                Key::Switch(n) => {
                    switch = Some(n);
                    return None;
                }
                Key::Quit => {
                    hv_println!("hv: Ctrl-A x: powering the machine off");
                    A::system_off();
                }
                Key::Help => hv_println!("{}", input::HELP),
                Key::Status => crate::manage::print_status::<A>(),
                Key::Manage(op, n) => {
                    command = Some((op, n));
                    return None;
                }
                Key::Nothing => {}
            }
        };
        // A stopped VM's input is dropped, but its escapes still work.
        let full = if A::vm(vm).is_stopped() {
            while next().is_some() {}
            false
        } else {
            console_input(vm, &mut DevCtx::<A>::new(vm, 0), &mut next) == Some(false)
        };
        if let Some(n) = switch {
            // The rest of the input waits for the new focus's pCPU: only it may touch that VM's
            // devices.
            refocus::<A>(f, n);
            return command;
        }
        if !full || command.is_some() {
            return command;
        }
        // Full: mask, then look again, so a drain in between is never missed (the device
        // unmasks through `rx_ready` only once it sees BLOCKED).
        BLOCKED.store(true, Ordering::SeqCst);
        A::console_rx_irq(false);
        if console_input(vm, &mut DevCtx::<A>::new(vm, 0), &mut || None) == Some(false) {
            return command;
        }
        BLOCKED.store(false, Ordering::SeqCst);
        A::console_rx_irq(true);
    }
}

fn refocus<A: Arch>(f: &mut Focus, n: usize) {
    if !input::focusable(n) {
        hv_println!("hv: no VM {n} with a console: input stays with vm {} `{}`", f.vm, VMS[f.vm].name);
        return;
    }
    f.vm = n;
    hv_println!("hv: console input goes to vm {n} `{}`", VMS[n].name);
    BLOCKED.store(false, Ordering::SeqCst);
    A::console_rx_irq(true);
    A::console_route(VMS[n].vcpus[0]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::{ends_in, run_as, serial, take_log, type_in, Call, Fake};

    /// Input the focused VM cannot take waits in the UART: its receive interrupt is masked
    /// until the VM's device drains, and the rest of what was typed is still there.
    #[test]
    fn input_waits_in_the_uart_while_the_vm_is_full() {
        let _g = serial();
        let Some(first) = input::first_focus() else { return };
        let cpu = VMS[first].vcpus[0];
        run_as(cpu.0, VmId(first), 0);
        init::<Fake>();
        assert_eq!(take_log(), [Call::InitRx, Call::Route(cpu)]);
        type_in(&[b'a'; 100]);
        pump::<Fake>();
        assert_eq!(take_log(), [Call::RxIrq(false)], "full: the receive interrupt is masked");
        let left = core::iter::from_fn(Fake::console_read).count();
        assert!(left > 0 && left < 100, "some input went in, the rest waits ({left} left)");
        crate::console::rx_ready::<Fake>();
        assert_eq!(take_log(), [Call::RxIrq(true)], "a drain lets input flow again");
        crate::console::rx_ready::<Fake>();
        assert!(take_log().is_empty(), "once");
    }

    /// Ctrl-A x powers the machine off from the keyboard; Ctrl-A and a VM that does not exist
    /// leaves the focus where it was.
    #[test]
    fn escapes_power_off_and_refocus() {
        let _g = serial();
        let Some(first) = input::first_focus() else { return };
        run_as(VMS[first].vcpus[0].0, VmId(first), 0);
        type_in(&[input::ESCAPE, b'9']);
        pump::<Fake>();
        assert_eq!(FOCUS.lock().vm, first);
        type_in(&[input::ESCAPE, b'x']);
        assert_eq!(ends_in(pump::<Fake>), "system_off");
    }

    /// Input taken on a pCPU that is not the focused VM's (the focus just moved) is left for
    /// that pCPU.
    #[test]
    fn only_the_focused_vms_pcpu_takes_input() {
        let _g = serial();
        let Some(first) = input::first_focus() else { return };
        run_as(VMS[first].vcpus[0].0 + 1, VmId(first), 0);
        type_in(b"x");
        pump::<Fake>();
        assert_eq!(Fake::console_read(), Some(b'x'));
    }
}
