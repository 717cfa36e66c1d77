//! riscv64 checks from inside a VM on 2 vCPUs: the SBI hv implements (errors included), faults
//! reflected to the guest, loads and stores decoded for emulated devices (compressed forms and
//! sign extension included, and from user mode through the guest's page tables), and
//! interrupts: the timer through Sstc, the UART through the virtual PLIC, and an IPI from
//! vCPU 1 to vCPU 0. Prints `N passed, N failed`; exits with the
//! number of failures.
#![no_std]
#![no_main]

mod decode;
mod faults;
mod irq;
mod sbi;
mod user;

use guest_rt::test;

guest_rt::entry!(main);

fn main(fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    test::check(
        "device tree has a memory node",
        fdt.as_ref().is_some_and(|f| f.memory().regions().next().is_some()),
    );
    sbi::run();
    faults::run();
    decode::run();
    user::run();
    irq::run();
    test::summary()
}
