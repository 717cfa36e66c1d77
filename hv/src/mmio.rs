//! A VM's emulated MMIO space as the exit path sees it: an access at an IPA either reaches a
//! device (the generated `route_mmio`, the interrupt controller's frames) or nothing. Each
//! architecture's trap decoder turns a fault into such an access. `DevCtx` is what a device
//! may ask of hv while it serves one.
use crate::arch::Arch;
use crate::console;
use core::marker::PhantomData;
use hv_mmio::{MmioCtx, MmioFault, MmioOp, Width};
use hv_types::{Ipa, VmId};

/// The VM's emulated MMIO space (generated `route_mmio`, or a fake in tests).
pub trait Bus {
    /// `None` when no device decodes `ipa`.
    fn access(&mut self, ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>>;
}

/// What a device access may ask of hv on behalf of vCPU `vcpu` of `vm`: its console, its
/// interrupt lines (into the VM's virtual interrupt controller), the accessing vCPU.
pub struct DevCtx<A> {
    pub vm: VmId,
    pub vcpu: usize,
    arch: PhantomData<A>,
}

impl<A: Arch> DevCtx<A> {
    pub const fn new(vm: VmId, vcpu: usize) -> Self {
        DevCtx { vm, vcpu, arch: PhantomData }
    }
}

impl<A: Arch> MmioCtx for DevCtx<A> {
    fn console_write(&mut self, bytes: &[u8]) {
        console::vm_write(A::vm(self.vm), bytes);
    }
    fn console_rx_ready(&mut self) {
        console::rx_ready::<A>();
    }
    /// Devices reach this through `hv_mmio::Wired`, which turns lines into interrupt numbers.
    fn set_irq(&mut self, _line: usize, _level: bool) {}
    fn vcpu(&self) -> usize {
        self.vcpu
    }
    fn irq_level(&mut self, intid: u32, level: bool) {
        A::set_line(self.vm, intid, level);
    }
}

/// hv's own register pages in `vm`: its channels' doorbells and its management page (after
/// the generated devices and the interrupt controller, whose accesses are the frequent ones).
pub fn hv_pages<A: Arch>(vm: VmId, ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
    crate::channel::route::<A>(vm, ipa, width, op).or_else(|| crate::manage::route::<A>(vm, ipa, width, op))
}
