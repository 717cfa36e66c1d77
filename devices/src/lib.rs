//! Emulated devices, one file each, each a `#[derive(MmioDevice)]` struct with `const fn new()`.
//! codegen finds them here by reading the sources: a VM names one by its struct name in `kind`.
//! Devices know no architecture and no hypervisor internals: the same ones serve AArch64 and
//! riscv64 VMs, through `hv_mmio::MmioCtx` only.
#![cfg_attr(not(test), no_std)]
pub mod fifo;
pub mod vns16550;
pub mod vpl011;

#[cfg(test)]
mod test_ctx;
