//! The smallest useful guest: greets through the virtual PL011 and the hypercall console, exits 0.
#![no_std]
#![no_main]

use guest_rt::{hvc, println};

guest_rt::entry!(main);

fn main(fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { core::arch::asm!("mrs {}, CurrentEL", out(reg) el) };
    let model = fdt.as_ref().map(|f| f.root().model()).unwrap_or("no device tree");
    println!("Hello from EL{} in {model}", (el >> 2) & 3);
    println!("console: PL011 at {:#x} (emulated by the hypervisor)", guest_rt::console::uart_base());
    hvc::puts(b"hello: and hello through the HV_PUTS hypercall\n");
    0
}
