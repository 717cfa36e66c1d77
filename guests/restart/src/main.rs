//! A VM's restart, seen from inside it. Every boot first checks that it starts from power-on
//! state: its `.data` as linked, RAM beyond its image zero, its virtual distributor, timer and
//! UART as reset. Then it waits for a key on its console (hv's console input): `r` dirties all
//! of that and asks for PSCI SYSTEM_RESET, `q` ends with `N passed, N failed`. The QEMU
//! scenario types `r` at the first boot and `q` at the second.
#![no_std]
#![no_main]

use guest_rt::gic;
use guest_rt::test::check_eq;

guest_rt::entry!(main);

const UART_FR: usize = 0x18;
const UART_IMSC: usize = 0x38;
const FR_RXFE: u32 = 1 << 4;
const PSCI_SYSTEM_RESET: u64 = 0x8400_0009;
/// RAM this guest never loads anything into (past its image, below the DTB of its 16 MiB VM).
const SCRATCH: usize = 0x40A0_0000;
const LINKED: u32 = 0x1234_5678;

/// In `.data`: a restart must bring back the linked value.
static mut DATA: u32 = LINKED;

fn rd(addr: usize) -> u32 {
    // SAFETY: an aligned word of this VM's RAM or of a device the DTB names.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn wr(addr: usize, v: u32) {
    // SAFETY: as for `rd`.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

fn cntv_ctl() -> u64 {
    let v: u64;
    // SAFETY: reads this vCPU's virtual timer control.
    unsafe { core::arch::asm!("mrs {}, cntv_ctl_el0", out(reg) v) };
    v
}

/// One byte from the console (the vPL011's receive FIFO), polled.
fn getc(uart: usize) -> u8 {
    while rd(uart + UART_FR) & FR_RXFE != 0 {
        core::hint::spin_loop();
    }
    rd(uart) as u8
}

/// Change everything a restart must undo.
fn dirty(uart: usize) {
    // SAFETY: single-threaded guest; nothing else refers to DATA.
    unsafe { core::ptr::write_volatile(&raw mut DATA, 0xDEAD) };
    wr(SCRATCH, 0xFFFF_FFFF);
    gic::init_cpu_interface();
    gic::enable_distributor();
    wr(uart + UART_IMSC, 1 << 4);
    // SAFETY: arms this vCPU's virtual timer far in the future, enabled.
    unsafe {
        core::arch::asm!("msr cntv_tval_el0, {t}", "msr cntv_ctl_el0, {c}", "isb", t = in(reg) u32::MAX as u64, c = in(reg) 1u64)
    };
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let uart = guest_rt::console::uart_base();
    // SAFETY: a volatile read of our own static.
    check_eq(".data holds its linked value", unsafe { core::ptr::read_volatile(&raw const DATA) }, LINKED);
    check_eq("RAM beyond the image reads zero", rd(SCRATCH), 0);
    check_eq("the virtual distributor is off", rd(gic::GICD) & 3, 0);
    check_eq("the virtual timer is off", cntv_ctl() & 1, 0);
    check_eq("the vPL011 has no interrupt enabled", rd(uart + UART_IMSC), 0);
    guest_rt::println!("restart: ready (r: dirty everything and reset, q: finish)");
    loop {
        match getc(uart) {
            b'r' => {
                dirty(uart);
                guest_rt::println!("restart: asking for PSCI SYSTEM_RESET");
                guest_rt::hvc::hvc(PSCI_SYSTEM_RESET, 0, 0, 0);
                guest_rt::println!("restart: SYSTEM_RESET returned");
                return 1;
            }
            b'q' => return guest_rt::test::summary(),
            _ => {}
        }
    }
}
