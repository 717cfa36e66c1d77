//! The virtual GIC's host on this machine: each VM's distributor behind the VM's lock, each
//! vCPU's private interrupts and queue in its pCPU's entry (pcpu.rs), and delivery through this
//! pCPU's list registers or, for a vCPU elsewhere, its queue and a kick. Lock order (also in
//! vgic/host.rs and docs/interrupts.md): device state, then the VM's distributor, then one `VcpuIrq`.
use super::gic::{self, Bank};
use super::vgic_config::ARM;
use super::{cpu_id, pcpu, timer, vms};
use crate::arch::aarch64::vgic::host::{Delivery, Held};
use crate::arch::aarch64::vgic::{private, DistHost, Lr, VGicr, VcpuIrq, VgicCpu, VgicHost};
use crate::desc::GicDesc;
use crate::machine::VMS;
use core::sync::atomic::Ordering;
use hv_mmio::{MmioFault, MmioOp, Width};
use hv_types::{IntId, Ipa, VmId, GICD_SIZE, GICR_STRIDE};

/// The pCPU running vCPU `k` of `vm`.
fn pcpu_of(vm: VmId, k: usize) -> Option<usize> {
    VMS[vm.0].vcpus.get(k).map(|c| c.0)
}

/// The vGIC's host for `vm`, accessed by its vCPU `vcpu`. `here`: that vCPU runs on this pCPU
/// (a trapped access or a tick), so its own state is reached without a lookup.
pub struct VmHost {
    pub vm: VmId,
    pub vcpu: usize,
    here: bool,
}

impl VmHost {
    /// For the vCPU running on this pCPU.
    #[inline(always)]
    pub fn here() -> Self {
        let (vm, vcpu) = pcpu::this().vcpu.expect("a vCPU runs on this pCPU");
        VmHost { vm, vcpu, here: true }
    }
    /// For vCPU `k` of `vm`, which runs on this pCPU (the caller knows it already).
    #[inline(always)]
    pub fn running(vm: VmId, k: usize) -> Self {
        VmHost { vm, vcpu: k, here: true }
    }
    /// For `vm` from wherever (a passthrough SPI taken on any pCPU).
    pub fn of(vm: VmId) -> Self {
        VmHost { vm, vcpu: 0, here: false }
    }
    /// With `f` holding vCPU `k`'s `VcpuIrq`.
    #[inline(always)]
    fn with<R>(&mut self, k: usize, f: impl FnOnce(&mut VGicr, &mut Local<'_>) -> R) -> Option<R> {
        let (entry, p) = if self.here && k == self.vcpu {
            let me = pcpu::this();
            (me, me.index)
        } else {
            let p = pcpu_of(self.vm, k)?;
            (pcpu::of(p), p)
        };
        let mut g = entry.irq.lock();
        let VcpuIrq { gicr, queue } = &mut *g;
        Some(f(gicr, &mut Local { vm: self.vm, k, p, queue }))
    }
}

impl VgicHost for VmHost {
    fn vcpu(&self) -> usize {
        self.vcpu
    }
    fn deliver(&mut self, k: usize, d: Delivery) -> bool {
        self.with(k, |_, l| l.deliver(k, d)).unwrap_or(false)
    }
    fn held(&mut self, k: usize, intid: u32) -> Held {
        self.with(k, |_, l| l.held(k, intid)).unwrap_or_default()
    }
    fn take(&mut self, k: usize, intid: u32, pending: bool, active: bool) -> Held {
        self.with(k, |_, l| l.take(k, intid, pending, active)).unwrap_or_default()
    }
    fn activate(&mut self, k: usize, intid: u32) -> bool {
        self.with(k, |_, l| l.activate(k, intid)).unwrap_or(false)
    }
    fn release_hw(&mut self, k: usize, intid: u32) {
        if let Some(p) = pcpu_of(self.vm, k) {
            gic::release(intid, p, cpu_id());
        }
    }
    fn line(&mut self, k: usize, intid: u32) -> Option<bool> {
        level(pcpu_of(self.vm, k)?, intid)
    }
}

impl DistHost for VmHost {
    type Local<'a> = Local<'a>;
    fn vcpus(&self) -> usize {
        VMS[self.vm.0].vcpus.len()
    }
    #[inline(always)]
    fn private<R>(&mut self, k: usize, f: impl FnOnce(&mut VGicr, &mut Local<'_>) -> R) -> Option<R> {
        self.with(k, f)
    }
}

/// Deliveries to vCPU `k` (on pCPU `p`) while its `VcpuIrq` is held.
pub struct Local<'a> {
    vm: VmId,
    k: usize,
    p: usize,
    queue: &'a mut VgicCpu,
}

impl Local<'_> {
    fn here(&self) -> bool {
        self.p == cpu_id()
    }
}

impl VgicHost for Local<'_> {
    fn vcpu(&self) -> usize {
        self.k
    }
    /// Into a list register when the vCPU runs here, else its queue and a kick to its pCPU.
    /// A passthrough SPI (hardware-linked, level-sensitive) has hv watch the vCPU's next
    /// acknowledge, where a line that dropped meanwhile is withdrawn (`irq::check_acks`).
    fn deliver(&mut self, _k: usize, d: Delivery) -> bool {
        let lr = Lr::pending(IntId(d.intid), d.priority, d.hw, d.source);
        let passthrough = d.hw && d.intid >= 32;
        let ok = if self.here() {
            let ok = self.queue.inject(&mut Bank, lr);
            if passthrough {
                gic::watch_acks(self.vm, self.p);
            }
            ok
        } else {
            let posted = self.queue.post(lr);
            if posted == Some(true) {
                if passthrough {
                    gic::watch_acks(self.vm, self.p); // and kicks it
                } else {
                    gic::kick(self.p);
                }
            }
            posted.is_some()
        };
        if !ok {
            vms::vm(self.vm).irqs.refused.store(true, Ordering::Release);
        }
        ok
    }
    /// A vCPU on another pCPU shows only its queue (its list registers are that pCPU's).
    fn held(&mut self, _k: usize, intid: u32) -> Held {
        let bank = self.here().then_some(&Bank);
        self.queue.held(bank, IntId(intid))
    }
    fn take(&mut self, _k: usize, intid: u32, pending: bool, active: bool) -> Held {
        let mut bank = Bank;
        let local = self.here().then_some(&mut bank);
        self.queue.take(local, IntId(intid), pending, active)
    }
    fn activate(&mut self, _k: usize, intid: u32) -> bool {
        self.here() && self.queue.activate(&mut Bank, IntId(intid))
    }
    fn release_hw(&mut self, _k: usize, intid: u32) {
        gic::release(intid, self.p, cpu_id());
    }
    fn line(&mut self, _k: usize, intid: u32) -> Option<bool> {
        level(self.p, intid)
    }
}

/// The level of hardware interrupt `intid` of the vCPU on pCPU `p`. A passthrough SPI's is its
/// pending state at the physical distributor. A PPI's is its timer's, read directly when
/// it runs here; on GICv3, its redistributor's pending bit otherwise (a level interrupt is
/// pending while its line is high, whether active or not); on GICv2 another pCPU's banked
/// state cannot be read, so unknown.
fn level(p: usize, intid: u32) -> Option<bool> {
    if intid >= 32 {
        Some(gic::spi_pending(intid))
    } else if p == cpu_id() {
        timer::line(intid)
    } else if gic::V3 && (intid == ARM.timer_virt || intid == ARM.timer_phys) {
        Some(gic::ppi_pending(p, intid))
    } else {
        None
    }
}

/// A guest access to its virtual GIC's frames: the distributor, or (GICv3) a redistributor;
/// `None` outside them.
#[inline(never)]
pub fn route(ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
    let mut host = VmHost::here();
    let (dist, redist) = match ARM.gic {
        GicDesc::V2 { dist, .. } => (dist.0, None),
        GicDesc::V3 { dist, redist } => (dist.0, Some(redist.0)),
    };
    let off = ipa.0.wrapping_sub(dist);
    if off < GICD_SIZE {
        return Some(vms::vm(host.vm).irqs.dist.lock().access(&mut host, off as usize, width, op));
    }
    redist_route(host, ipa.0.wrapping_sub(redist?), width, op)
}

/// A redistributor frame access, apart so it adds nothing to the distributor's path.
#[inline(never)]
fn redist_route(mut host: VmHost, off: u64, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
    if off < GICR_STRIDE * host.vcpus() as u64 {
        let (k, off) = ((off / GICR_STRIDE) as usize, (off % GICR_STRIDE) as usize);
        return Some(private::redist_access(&mut host, k, off, width, op));
    }
    None
}
