//! The distributor's host: a `VgicHost` for any vCPU of the VM that also lends each vCPU's own
//! interrupt state (`VcpuIrq`) under that vCPU's lock. Lock order as in host.rs.
use super::host::VgicHost;
use super::redist::VGicr;
use super::vcpu::VgicCpu;

/// The distributor's host: the above for any vCPU of the VM, and each vCPU's private state.
pub trait DistHost: VgicHost {
    /// The host for deliveries to one vCPU while its private state is held.
    type Local<'a>: VgicHost
    where
        Self: 'a;
    /// vCPUs in the VM.
    fn vcpus(&self) -> usize;
    /// Run `f` on vCPU `k`'s private interrupt state (taking its lock); `None` if there is no
    /// vCPU `k`.
    fn private<R>(&mut self, k: usize, f: impl FnOnce(&mut VGicr, &mut Self::Local<'_>) -> R) -> Option<R>;
}

/// One vCPU's own interrupt state: its redistributor (SGIs, PPIs) and what waits for its list
/// registers.
pub struct VcpuIrq {
    pub gicr: VGicr,
    pub queue: VgicCpu,
}

impl VcpuIrq {
    pub const fn new(gicr: VGicr) -> Self {
        VcpuIrq { gicr, queue: VgicCpu::new() }
    }
}
