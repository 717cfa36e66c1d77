//! A hostile guest: points its exception vectors at nothing, then touches memory it does not
//! own. The hypervisor must stop this VM (status 255) and keep every other VM running.
#![no_std]
#![no_main]

use guest_rt::println;

guest_rt::entry!(main);

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    println!("wild: unmapping my vectors and writing outside my RAM");
    // SAFETY: deliberately hostile: VBAR_EL1 at an unmapped IPA, then a store to a hole. The
    // hypervisor's answer (stopping this VM) is what the test checks.
    unsafe {
        core::arch::asm!("msr vbar_el1, {v}", "isb", v = in(reg) 0x1000_0000u64);
        core::ptr::write_volatile(0x2000_0000 as *mut u64, 0xBAD);
    }
    println!("wild: still running: the hypervisor failed to stop me");
    0
}
