//! Checks, from inside a VM, what the foundation promises: hypercalls, PSCI on both conduits, the
//! virtual PL011's registers and access widths, loads/stores the syndrome cannot describe, and
//! injected aborts for accesses outside the VM's windows. Ends with `N passed, N failed`.
#![no_std]
#![no_main]

mod faults;
mod features;
mod hypercalls;
mod uart;

use guest_rt::test;

guest_rt::entry!(main);

fn main(fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let Some(fdt) = fdt else {
        guest_rt::println!("selftest needs a device tree");
        return 100;
    };
    test::check("device tree has a memory node", fdt.memory().regions().next().is_some());
    hypercalls::run();
    uart::run(guest_rt::console::uart_base());
    faults::run(&fdt);
    features::run();
    test::summary()
}
