//! Virtual interrupts: what each vCPU has pending and how it reaches the guest through the GIC's
//! list registers. Pure logic over an `LrBank`, so host tests run it against a fake bank; the
//! hardware banks (GICv3 ICH_LR<n>_EL2) live in arch/aarch64.
pub mod lr;
pub mod vcpu;

pub use lr::{Lr, LrState};
pub use vcpu::{LrBank, VgicCpu};
