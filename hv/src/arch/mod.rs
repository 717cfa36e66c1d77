//! Architecture-specific code, one directory per ISA, behind the contract in `contract.rs`:
//! AArch64 at EL2 (non-VHE) and riscv64 in HS-mode; `fake` stands in for an ISA in host tests.
pub mod aarch64;
pub mod contract;
#[cfg(test)]
pub mod fake;
pub mod riscv64;

pub use contract::Arch;

/// The byte sink of hv's console: the board's UART on the target, stdout in host tests.
#[cfg(target_os = "none")]
pub use crate::uart::write_bytes as console_write;

#[cfg(not(target_os = "none"))]
pub fn console_write(b: &[u8]) {
    extern crate std;
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(b);
}
