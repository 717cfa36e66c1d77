//! hv: a static-partitioning hypervisor for AArch64 at EL2 and riscv64 in HS-mode.
//!
//! Everything knowable before boot comes from the machine description through codegen
//! (`machine`): memory maps, stage-2 tables, MMIO routing, register blocks, guest images. This
//! crate switches contexts and emulates what the description says it must. It allocates
//! nothing: all state is static and sized by generated constants. Modules outside `arch` and
//! `uart` (the board's console drivers) are plain logic and run in host tests.
#![cfg_attr(not(test), no_std)]

pub mod boot;
pub mod caller;
pub mod channel;
pub mod console;
pub mod console_in;
pub mod input;
pub mod lifecycle;
pub mod manage;
pub mod mmio;
pub mod services;
pub mod vm;

pub use hv_mmio::cell;
pub use hv_types::desc;

/// The fuzz driver the tests here share with the devices' (`fuzz/`).
#[cfg(test)]
pub use hv_fuzz as fuzz;

/// Generated from the machine description by codegen (see hv/build.rs).
#[allow(clippy::all)]
pub mod machine {
    include!(concat!(env!("OUT_DIR"), "/machine.rs"));
}

pub mod arch;
/// The board's console UART drivers (MMIO: target only).
#[cfg(target_os = "none")]
pub mod uart;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hv_println!("hv: PANIC: {info}");
    arch::aarch64::firmware::system_off()
}

#[cfg(all(target_arch = "riscv64", target_os = "none"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hv_println!("hv: PANIC: {info}");
    arch::riscv64::firmware::system_off()
}
