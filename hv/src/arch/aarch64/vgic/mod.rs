//! Virtual interrupts: each VM's virtual GIC (distributor and, on GICv3, redistributors), what
//! each vCPU has pending, and how it reaches the guest through the GIC's list registers. Pure
//! logic over a `VgicHost` and an `LrBank`, so host tests run it against fakes; the hardware
//! banks (GICv3 ICH_LR<n>_EL2, GICv2 GICH_LR<n>) are in gicv3.rs and gicv2.rs beside this directory.
pub mod dist;
pub mod dist_host;
pub mod host;
pub mod lines;
pub mod lr;
pub mod private;
pub mod redist;
pub mod vcpu;

pub use dist::{VGicd, Version, LINES};
pub use dist_host::{DistHost, VcpuIrq};
pub use host::VgicHost;
pub use lr::{Lr, LrState};
pub use redist::VGicr;
pub use vcpu::{LrBank, VgicCpu};

#[cfg(test)]
mod tests;
