//! Architecture-specific code, one directory per ISA. Only AArch64 at EL2 (non-VHE) is
//! supported today.
pub mod aarch64;
