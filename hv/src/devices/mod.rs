//! Emulated devices, one file each, each a `#[derive(MmioDevice)]` struct with `const fn new()`.
//! codegen finds them here by reading the sources: a VM names one by its struct name in `kind`.
pub mod vpl011;
