//! A hostile guest: makes hv walk its page tables through a device page or a hole, points its
//! exception vectors at nothing, then touches memory it does not own. The hypervisor must answer
//! the first with an error, stop this VM (status 255) for the rest, and keep every other VM
//! running. One file per architecture.
#![no_std]
#![no_main]

#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod arch;

guest_rt::entry!(main);

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    arch::run()
}
