//! The paths that touch only one vCPU's private interrupts (SGIs, PPIs), and so take only that
//! vCPU's lock, never the VM's: a timer tick, an SGI, a redistributor access, and the check
//! before WFI sleeps. These are the frequent ones.
use super::dist_host::DistHost;
use hv_mmio::{MmioFault, MmioOp, Width};

/// A hardware PPI (an EL1 timer) fired for vCPU `k`.
#[inline(always)]
pub fn fire<H: DistHost>(host: &mut H, k: usize, intid: u32) {
    host.private(k, |r, h| r.fire(h, intid));
}

/// vCPU `k` is about to sleep in WFI: a timer interrupt whose line dropped must not wake it.
pub fn drop_stale<H: DistHost>(host: &mut H, k: usize) {
    host.private(k, |r, h| r.drop_stale(h));
}

/// An access to vCPU `k`'s redistributor frames (GICv3). Beyond the last: reserved, RAZ/WI.
pub fn redist_access<H: DistHost>(
    host: &mut H,
    k: usize,
    offset: usize,
    width: Width,
    op: MmioOp,
) -> Result<u64, MmioFault> {
    host.private(k, |r, h| r.mmio_access(h, offset, width, op)).unwrap_or(Ok(0))
}

/// SGI `intid` from vCPU `sender` to the vCPUs in `targets` (bit k = vCPU k).
pub fn send_sgi<H: DistHost>(host: &mut H, sender: usize, intid: u32, targets: u32) {
    for k in 0..host.vcpus().min(32) {
        if targets & (1 << k) != 0 {
            host.private(k, |r, h| r.send_sgi(h, intid, sender));
        }
    }
}

/// GICv3 ICC_SGI1R_EL1 written by vCPU `sender`: TargetList 15:0, Aff1 23:16, INTID 27:24,
/// Aff2 39:32, IRM 40, RS 47:44, Aff3 55:48. vCPU k has Aff0 = k and no higher affinity.
pub fn sgi1r<H: DistHost>(host: &mut H, sender: usize, v: u64) {
    let intid = ((v >> 24) & 0xF) as u32;
    let targets = if v & (1 << 40) != 0 {
        !(1u32 << (sender & 31))
    } else if v & 0xFF_F0FF_00FF_0000 == 0 {
        (v & 0xFFFF) as u32
    } else {
        0 // a cluster this VM does not have
    };
    send_sgi(host, sender, intid, targets);
}

/// Retry vCPU `k`'s latched private interrupts (its distributor group was just enabled).
pub fn sweep<H: DistHost>(host: &mut H, k: usize) {
    host.private(k, |r, h| r.sweep(h));
}
