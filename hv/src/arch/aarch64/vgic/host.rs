//! What the virtual GIC asks of the hypervisor, apart from what devices see (`MmioCtx`):
//! delivering into a vCPU's list registers or queue, looking at and taking back what a vCPU
//! holds, and the physical side of hardware-backed interrupts. The distributor's wider host,
//! which also lends each vCPU's private state, is in dist_host.rs.
//!
//! Ownership: a VM's distributor (SPIs, distributor registers) is shared by its vCPUs and sits
//! behind the VM's lock. Each vCPU's private interrupts (SGIs, PPIs: its redistributor) and its
//! pending queue are that vCPU's own (`VcpuIrq`), behind a lock of their own that other vCPUs
//! take only to send it an SGI, route an SPI to it, or access its redistributor. Lock order: a
//! device's state, then the VM's distributor, then one vCPU's `VcpuIrq`; never the reverse, and
//! never two vCPUs' at once.
/// Delivery to, and queries of, the vCPUs of one VM.
pub trait VgicHost {
    /// The vCPU making the current access (for banked registers).
    fn vcpu(&self) -> usize;
    /// Make `d` pending for vCPU `k`: a list register if it runs here, else its queue. False
    /// when there is no room: the caller keeps it latched and hv retries once room frees up.
    fn deliver(&mut self, k: usize, d: Delivery) -> bool;
    /// What vCPU `k` holds of `intid` (delivered, not yet retired).
    fn held(&mut self, k: usize, intid: u32) -> Held;
    /// Take back the pending and/or active state vCPU `k` holds of `intid`; returns what it had.
    fn take(&mut self, k: usize, intid: u32, pending: bool, active: bool) -> Held;
    /// Mark a delivered `intid` active on vCPU `k`; false if no copy hv can change.
    fn activate(&mut self, k: usize, intid: u32) -> bool;
    /// A hardware interrupt held back from vCPU `k` was cleared: deactivate the physical one.
    fn release_hw(&mut self, k: usize, intid: u32);
    /// The level of hardware PPI `intid` of vCPU `k` (an EL1 timer's output) at this moment;
    /// `None` where hv cannot see it (a vCPU on another pCPU, on GICv2).
    fn line(&mut self, k: usize, intid: u32) -> Option<bool>;
}

/// A virtual interrupt on its way to a vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub intid: u32,
    pub priority: u8,
    /// Linked to the same physical INTID: the guest's deactivation deactivates it.
    pub hw: bool,
    /// The sending vCPU of an SGI (GICv2 guests read it from IAR).
    pub source: u8,
}

/// What a vCPU holds of one delivered interrupt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub pending: bool,
    pub active: bool,
    pub hw: bool,
}
