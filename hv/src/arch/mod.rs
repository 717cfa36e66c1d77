//! Architecture-specific code. Only AArch64 at EL2 (non-VHE) is supported.
pub mod aarch64;
