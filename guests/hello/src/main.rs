//! The smallest useful guest: greets through the virtual UART and hv's console call, exits 0.
#![no_std]
#![no_main]

use guest_rt::{hvc, println};

guest_rt::entry!(main);

fn main(fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let model = fdt.as_ref().map(|f| f.root().model()).unwrap_or("no device tree");
    println!("Hello from {} in {model}", level());
    println!(
        "console: {} at {:#x} (emulated by the hypervisor)",
        guest_rt::console::uart_kind(),
        guest_rt::console::uart_base()
    );
    hvc::puts(b"hello: and hello through the HV_PUTS hypercall\n");
    0
}

/// Where the guest runs: its exception level, or its privilege mode.
#[cfg(target_arch = "aarch64")]
fn level() -> &'static str {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { core::arch::asm!("mrs {}, CurrentEL", out(reg) el) };
    ["EL0", "EL1", "EL2", "EL3"][((el >> 2) & 3) as usize]
}

/// A guest cannot read its privilege; under hv it is VS-mode (the guest's S-mode).
#[cfg(target_arch = "riscv64")]
fn level() -> &'static str {
    "VS-mode"
}
