//! A VM's restart, seen from inside it. Every boot first checks that it starts from power-on
//! state: its `.data` as linked, RAM beyond its image zero, its virtual interrupt controller,
//! timer and UART as reset. Then it waits for a key on its console (hv's console input): `r`
//! dirties all of that and asks its firmware for a reset (PSCI SYSTEM_RESET, SBI system reset),
//! `q` ends with `N passed, N failed`. The QEMU scenarios type `r` at the first boot and `q` at
//! the second, on both architectures.
#![no_std]
#![no_main]

use guest_rt::test::check_eq;

#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod arch;

guest_rt::entry!(main);

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

/// Change everything a restart must undo.
fn dirty(uart: usize) {
    // SAFETY: single-threaded guest; nothing else refers to DATA.
    unsafe { core::ptr::write_volatile(&raw mut DATA, 0xDEAD) };
    wr(arch::SCRATCH, 0xFFFF_FFFF);
    arch::dirty_devices(uart);
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let uart = guest_rt::console::uart_base();
    // SAFETY: a volatile read of our own static.
    check_eq(".data holds its linked value", unsafe { core::ptr::read_volatile(&raw const DATA) }, LINKED);
    check_eq("RAM beyond the image reads zero", rd(arch::SCRATCH), 0);
    arch::check_devices_reset(uart);
    guest_rt::println!("restart: ready (r: dirty everything and reset, q: finish)");
    loop {
        match arch::getc(uart) {
            b'r' => {
                dirty(uart);
                guest_rt::println!("restart: asking for {}", arch::RESET_CALL);
                arch::reset();
                guest_rt::println!("restart: the reset call returned");
                return 1;
            }
            b'q' => return guest_rt::test::summary(),
            _ => {}
        }
    }
}
