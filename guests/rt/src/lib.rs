//! Runtime for hv's bare-metal guests: boot at EL1 with the MMU off, exception vectors that can
//! expect a fault, a PL011 console found through the device tree, hypercalls and a tiny test
//! harness whose last line is `N passed, N failed`.
#![no_std]

pub mod console;
pub mod exception;
pub mod gic;
pub mod hvc;
pub mod mmu;
pub mod smp;
mod start;
pub mod test;

pub use fdt;

/// Declare the guest's `fn main(dtb: Option<fdt::Fdt<'static>>) -> u8`; its result is the VM's
/// exit status.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        extern "C" fn guest_main(dtb: usize) -> ! {
            let fdt = $crate::init(dtb);
            let f: fn(Option<$crate::fdt::Fdt<'static>>) -> u8 = $main;
            $crate::hvc::exit(f(fdt))
        }
    };
}

/// Parse the DTB and bring up the console. Called by `entry!`.
pub fn init(dtb: usize) -> Option<fdt::Fdt<'static>> {
    let fdt = if dtb == 0 {
        None
    } else {
        // SAFETY: hv passes the IPA of a DTB it placed in our RAM (or 0); the MMU is off so the
        // IPA is the address, and nothing writes to the DTB.
        unsafe { fdt::Fdt::from_ptr(dtb as *const u8).ok() }
    };
    console::init(fdt.as_ref());
    fdt
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("guest panic: {}", info);
    hvc::exit(101)
}
