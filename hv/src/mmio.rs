//! A VM's emulated MMIO space as the exit path sees it: an access at an IPA either reaches a
//! device (the generated `route_mmio`, the interrupt controller's frames) or nothing. Each
//! architecture's trap decoder turns a fault into such an access.
use hv_mmio::{MmioFault, MmioOp, Width};
use hv_types::Ipa;

/// The VM's emulated MMIO space (generated `route_mmio`, or a fake in tests).
pub trait Bus {
    /// `None` when no device decodes `ipa`.
    fn access(&mut self, ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>>;
}
