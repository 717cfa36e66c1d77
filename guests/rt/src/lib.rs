//! Runtime for hv's bare-metal guests: boot at EL1 (AArch64) or in VS-mode (riscv64) with
//! translation off, exception vectors that can expect a fault, a console UART (PL011 or
//! NS16550A) found through the device tree, hypercalls and a tiny test harness whose last line
//! is `N passed, N failed`.
#![no_std]

pub mod console;
pub mod test;

#[cfg(target_arch = "aarch64")]
pub mod counter;
#[cfg(target_arch = "aarch64")]
pub mod exception;
#[cfg(target_arch = "aarch64")]
pub mod gic;
#[cfg(target_arch = "aarch64")]
pub mod hvc;
#[cfg(target_arch = "aarch64")]
pub mod mmu;
#[cfg(target_arch = "aarch64")]
pub mod smp;
#[cfg(target_arch = "aarch64")]
mod start;

#[cfg(target_arch = "riscv64")]
#[path = "riscv64/hvc.rs"]
pub mod hvc;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64/smp.rs"]
pub mod smp;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64/start.rs"]
mod start;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64/sv39.rs"]
pub mod sv39;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64/trap.rs"]
pub mod trap;

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
    #[cfg(target_arch = "aarch64")]
    gic::init(fdt.as_ref());
    fdt
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("guest panic: {}", info);
    hvc::exit(101)
}
