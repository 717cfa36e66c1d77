//! Host tests of the virtual GIC: guest register accesses against a fake hypervisor whose vCPUs
//! all have visible list registers.
extern crate std;
use super::dist::{private_state, VGicd, Version};
use super::dist_host::DistHost;
use super::host::{Delivery, Held, VgicHost};
use super::lr::{Lr, LrState};
use super::private;
use super::redist::VGicr;
use super::vcpu::fake::FakeBank;
use super::vcpu::VgicCpu;
use hv_mmio::{MmioOp, Width};
use hv_types::IntId;
use std::vec::Vec;

struct Fake {
    me: usize,
    n: usize,
    cpus: [(VgicCpu, FakeBank); 2],
    gicr: [VGicr; 2],
    released: Vec<(usize, u32)>,
    /// Hardware INTIDs whose line is low, and whose line is high (others: unknown).
    low: Vec<u32>,
    high: Vec<u32>,
}

/// The level the fake reports for a hardware line.
fn level(low: &[u32], high: &[u32], intid: u32) -> Option<bool> {
    if low.contains(&intid) {
        Some(false)
    } else if high.contains(&intid) {
        Some(true)
    } else {
        None
    }
}

/// A distributor for `n` vCPUs and a fake hypervisor holding their private state.
fn gic(version: Version, n: usize, spis: [u32; 4], ppis: u32) -> (VGicd, Fake) {
    let gicr = [0, 1].map(|k| private_state(version, k, n, ppis));
    let c = Fake {
        me: 0,
        n,
        cpus: Default::default(),
        gicr,
        released: Vec::new(),
        low: Vec::new(),
        high: Vec::new(),
    };
    (VGicd::new(version, n, spis), c)
}

/// A hardware interrupt fires: a PPI of vCPU `k` or an SPI.
fn fire(g: &mut VGicd, c: &mut Fake, k: usize, intid: u32) {
    if intid < 32 {
        private::fire(c, k, intid)
    } else {
        g.fire(c, intid)
    }
}

/// One vCPU's delivery side, as `DistHost::private` lends it.
struct Local<'a> {
    k: usize,
    cpu: &'a mut (VgicCpu, FakeBank),
    released: &'a mut Vec<(usize, u32)>,
    low: &'a [u32],
    high: &'a [u32],
}

impl VgicHost for Local<'_> {
    fn vcpu(&self) -> usize {
        self.k
    }
    fn deliver(&mut self, k: usize, d: Delivery) -> bool {
        assert_eq!(k, self.k, "private state delivers to its own vCPU only");
        let (v, b) = &mut *self.cpu;
        v.inject(b, Lr::pending(IntId(d.intid), d.priority, d.hw, d.source))
    }
    fn held(&mut self, _: usize, intid: u32) -> Held {
        let (v, b) = &*self.cpu;
        v.held(Some(b), IntId(intid))
    }
    fn take(&mut self, _: usize, intid: u32, pending: bool, active: bool) -> Held {
        let (v, b) = &mut *self.cpu;
        v.take(Some(b), IntId(intid), pending, active)
    }
    fn activate(&mut self, _: usize, intid: u32) -> bool {
        let (v, b) = &mut *self.cpu;
        v.activate(b, IntId(intid))
    }
    fn release_hw(&mut self, k: usize, intid: u32) {
        self.released.push((k, intid));
    }
    fn line(&mut self, _: usize, intid: u32) -> Option<bool> {
        level(self.low, self.high, intid)
    }
}

impl Fake {
    fn local(&mut self, k: usize) -> (&mut VGicr, Local<'_>) {
        let Fake { gicr, cpus, released, low, high, .. } = self;
        (&mut gicr[k], Local { k, cpu: &mut cpus[k], released, low, high })
    }
}

impl VgicHost for Fake {
    fn vcpu(&self) -> usize {
        self.me
    }
    fn deliver(&mut self, k: usize, d: Delivery) -> bool {
        self.local(k).1.deliver(k, d)
    }
    fn held(&mut self, k: usize, intid: u32) -> Held {
        self.local(k).1.held(k, intid)
    }
    fn take(&mut self, k: usize, intid: u32, pending: bool, active: bool) -> Held {
        self.local(k).1.take(k, intid, pending, active)
    }
    fn activate(&mut self, k: usize, intid: u32) -> bool {
        self.local(k).1.activate(k, intid)
    }
    fn release_hw(&mut self, k: usize, intid: u32) {
        self.released.push((k, intid));
    }
    fn line(&mut self, _: usize, intid: u32) -> Option<bool> {
        level(&self.low, &self.high, intid)
    }
}

impl DistHost for Fake {
    type Local<'a> = Local<'a>;
    fn vcpus(&self) -> usize {
        self.n
    }
    fn private<R>(&mut self, k: usize, f: impl FnOnce(&mut VGicr, &mut Local<'_>) -> R) -> Option<R> {
        if k >= self.n {
            return None;
        }
        let (r, mut l) = self.local(k);
        Some(f(r, &mut l))
    }
}

impl Fake {
    fn lrs(&self, k: usize) -> Vec<(u32, LrState, u8)> {
        self.cpus[k]
            .1
            .lrs
            .iter()
            .filter(|l| l.state() != LrState::Invalid)
            // The INTID with an SGI's source in 12:10, as a GICv2 guest's IAR shows it.
            .map(|l| (if l.is_hw() { l.intid().0 } else { l.to_v2() & 0x1FFF }, l.state(), l.priority()))
            .collect()
    }
}

fn w32(g: &mut VGicd, c: &mut Fake, off: usize, v: u32) {
    g.access(c, off, Width::B32, MmioOp::Write(v as u64)).unwrap();
}
fn r32(g: &mut VGicd, c: &mut Fake, off: usize) -> u32 {
    g.access(c, off, Width::B32, MmioOp::Read).unwrap() as u32
}
fn rw32(c: &mut Fake, k: usize, off: usize, v: u32) {
    private::redist_access(c, k, off, Width::B32, MmioOp::Write(v as u64)).unwrap();
}
fn rr32(c: &mut Fake, k: usize, off: usize) -> u32 {
    private::redist_access(c, k, off, Width::B32, MmioOp::Read).unwrap() as u32
}

const SGI: usize = 0x1_0000;

#[test]
fn gicv3_sgi_through_redistributor_state() {
    let (mut g, mut c) = gic(Version::V3, 2, [0; 4], 1 << 27);
    assert_eq!(r32(&mut g, &mut c, 0xFFE8) >> 4 & 0xF, 3, "PIDR2.ArchRev");
    assert_eq!(rr32(&mut c, 1, 0x8) & 0x10, 0x10, "vCPU 1's redistributor is the last");
    w32(&mut g, &mut c, 0x0, 0x2);
    // SGI 5 enabled on vCPU 0 at priority 0x90 (byte write), sent to itself.
    rw32(&mut c, 0, SGI + 0x100, 1 << 5);
    private::redist_access(&mut c, 0, SGI + 0x405, Width::B8, MmioOp::Write(0x90)).unwrap();
    private::sgi1r(&mut c, 0, 5 << 24 | 1);
    assert_eq!(c.lrs(0), [(5, LrState::Pending, 0x90)]);
    assert_eq!(rr32(&mut c, 0, SGI + 0x200), 1 << 5, "ISPENDR0 sees the list register");
    rw32(&mut c, 0, SGI + 0x280, 1 << 5);
    assert!(c.lrs(0).is_empty(), "ICPENDR0 takes it back");
    // Broadcast (IRM) reaches the other vCPU only, and only once it enables the SGI.
    private::sgi1r(&mut c, 0, 1 << 40 | 3 << 24);
    assert!(c.lrs(1).is_empty());
    assert_eq!(rr32(&mut c, 1, SGI + 0x200), 1 << 3, "latched while disabled");
    rw32(&mut c, 1, SGI + 0x100, 1 << 3);
    assert_eq!(c.lrs(1), [(3, LrState::Pending, 0)]);
    assert!(c.lrs(0).is_empty());
}

#[test]
fn spi_enable_pending_active_round_trip() {
    let (mut g, mut c) = gic(Version::V3, 2, [0; 4], 0);
    // SPI 40 routed to vCPU 1, made pending while disabled: latched, visible, not delivered.
    g.access(&mut c, 0x6000 + 8 * 40, Width::B64, MmioOp::Write(1)).unwrap();
    w32(&mut g, &mut c, 0x0, 0x2);
    w32(&mut g, &mut c, 0x204, 1 << 8);
    assert_eq!(r32(&mut g, &mut c, 0x204), 1 << 8);
    assert!(c.lrs(1).is_empty());
    // Set active while pending: still not delivered (active interrupts are not signalled again).
    w32(&mut g, &mut c, 0x304, 1 << 8);
    w32(&mut g, &mut c, 0x104, 1 << 8);
    assert_eq!(r32(&mut g, &mut c, 0x104), 1 << 8);
    assert_eq!(r32(&mut g, &mut c, 0x304), 1 << 8);
    assert!(c.lrs(1).is_empty());
    // Deactivate: now it goes to vCPU 1.
    w32(&mut g, &mut c, 0x384, 1 << 8);
    assert_eq!(c.lrs(1), [(40, LrState::Pending, 0)]);
    assert_eq!(r32(&mut g, &mut c, 0x304), 0);
    // Disable takes it back into the distributor; clearing pending drops it.
    w32(&mut g, &mut c, 0x184, 1 << 8);
    assert!(c.lrs(1).is_empty());
    assert_eq!(r32(&mut g, &mut c, 0x204), 1 << 8);
    w32(&mut g, &mut c, 0x284, 1 << 8);
    assert_eq!(r32(&mut g, &mut c, 0x204), 0);
}

#[test]
fn gicv2_banked_registers_sgir_and_source() {
    let (mut g, mut c) = gic(Version::V2, 2, [0; 4], 1 << 27);
    assert_eq!(r32(&mut g, &mut c, 0x4) & 0xE0, 1 << 5, "TYPER.CPUNumber = 2 CPUs");
    w32(&mut g, &mut c, 0x0, 1);
    c.me = 1;
    w32(&mut g, &mut c, 0x100, 1 << 7); // vCPU 1 enables SGI 7 in its bank
    g.access(&mut c, 0x407, Width::B8, MmioOp::Write(0xA8)).unwrap();
    assert_eq!(r32(&mut g, &mut c, 0x800), 0x0202_0202, "banked ITARGETSR names the reader");
    c.me = 0;
    assert_eq!(r32(&mut g, &mut c, 0x100), 0, "vCPU 0's bank is separate");
    assert_eq!(r32(&mut g, &mut c, 0x404) >> 24, 0, "and so are its priorities");
    w32(&mut g, &mut c, 0xF00, 1 << 24 | 7); // "all but me" from vCPU 0
    assert_eq!(c.lrs(1), [(7, LrState::Pending, 0xA8)], "source vCPU 0 in bits 12:10");
    c.me = 1;
    c.cpus[1].1.retire(0);
    w32(&mut g, &mut c, 0xF00, 2 << 24 | 7); // "only me" from vCPU 1
    assert_eq!(c.lrs(1), [(1 << 10 | 7, LrState::Pending, 0xA8)]);
    // SPI targets: only existing vCPUs stick.
    w32(&mut g, &mut c, 0x800 + 40, 0xFFFF_FFFF);
    assert_eq!(r32(&mut g, &mut c, 0x800 + 40), 0x0303_0303);
}

#[test]
fn hardware_timer_is_latched_then_released() {
    let (mut g, mut c) = gic(Version::V3, 2, [0; 4], 1 << 27);
    w32(&mut g, &mut c, 0x0, 0x2);
    fire(&mut g, &mut c, 0, 27); // the guest has not enabled it yet
    assert!(c.lrs(0).is_empty());
    rw32(&mut c, 0, SGI + 0x100, 1 << 27);
    let lr = c.cpus[0].1.lrs[0];
    assert!(lr.is_hw() && lr.intid() == IntId(27), "delivered HW-linked once enabled");
    rw32(&mut c, 0, SGI + 0x280, 1 << 27);
    assert_eq!(c.released, [(0, 27)], "cleared before the guest took it: physical deactivated");
}

#[test]
fn garbage_everywhere_is_survivable_and_reserved_space_is_raz_wi() {
    for version in [Version::V2, Version::V3] {
        let (mut g, mut c) = gic(version, 2, [0; 4], 1 << 27);
        for off in (0..0x1_0000).step_by(4) {
            let _ = g.access(&mut c, off, Width::B32, MmioOp::Write(0xFFFF_FFFF));
            let _ = private::redist_access(&mut c, off & 1, off, Width::B32, MmioOp::Write(0xFFFF_FFFF));
            let _ = private::redist_access(&mut c, 1, 0x1_0000 + off, Width::B32, MmioOp::Write(0xFFFF_FFFF));
        }
        for off in (0..0x1_0000).step_by(4) {
            let _ = g.access(&mut c, off, Width::B32, MmioOp::Read);
        }
        for reserved in [0x10, 0x7C, 0xF04, 0xF30, 0x5000, 0xFFFC] {
            assert_eq!(
                g.access(&mut c, reserved, Width::B32, MmioOp::Read),
                Ok(0),
                "{version:?} {reserved:#x}"
            );
        }
        assert_eq!(rr32(&mut c, 0, 0x20), 0);
        assert!(c.cpus.iter().all(|(v, _)| v.queued() <= super::vcpu::QUEUE));
    }
}

#[test]
fn overflow_is_kept_pending_in_the_distributor_not_lost() {
    let (mut g, mut c) = gic(Version::V3, 2, [0; 4], 0);
    w32(&mut g, &mut c, 0x0, 0x2);
    for w in 1..4 {
        w32(&mut g, &mut c, 0x100 + 4 * w, u32::MAX);
    }
    // 96 SPIs pending at once at vCPU 0: 4 list registers, 32 queued, 60 refused and latched.
    for w in 1..4 {
        w32(&mut g, &mut c, 0x200 + 4 * w, u32::MAX);
    }
    assert_eq!((c.lrs(0).len(), c.cpus[0].0.queued()), (4, super::vcpu::QUEUE));
    assert!((1..4).all(|w| r32(&mut g, &mut c, 0x200 + 4 * w) == u32::MAX), "all 96 read as pending");
    // The guest takes everything it can; each refill plus sweep moves the rest along.
    let mut seen = 0;
    for _ in 0..100 {
        for i in 0..4 {
            if c.cpus[0].1.lrs[i].state() != LrState::Invalid {
                c.cpus[0].1.retire(i);
                seen += 1;
            }
        }
        let (v, b) = &mut c.cpus[0];
        v.refill(b);
        g.sweep(&mut c);
    }
    assert_eq!(seen, 96, "every interrupt reached the guest exactly once");
    assert!((1..4).all(|w| r32(&mut g, &mut c, 0x200 + 4 * w) == 0));
}

#[test]
fn reset_returns_to_the_power_on_state() {
    let (mut g, mut c) = gic(Version::V3, 2, [1 << 8, 0, 0, 0], 1 << 27);
    let fresh: Vec<u32> = [0x0, 0x4, 0x104, 0x204, 0x6000 + 8 * 40].map(|o| r32(&mut g, &mut c, o)).to_vec();
    w32(&mut g, &mut c, 0x0, 1 << 1); // EnableGrp1
    w32(&mut g, &mut c, 0x104, 1 << 9); // enable SPI 41
    w32(&mut g, &mut c, 0x204, 1 << 10); // SPI 42 pending, not enabled: latched here
    w32(&mut g, &mut c, 0x6000 + 8 * 40, 1); // SPI 40 to vCPU 1
    assert_ne!(r32(&mut g, &mut c, 0x104), fresh[2]);
    g.reset();
    let after: Vec<u32> = [0x0, 0x4, 0x104, 0x204, 0x6000 + 8 * 40].map(|o| r32(&mut g, &mut c, o)).to_vec();
    assert_eq!(after, fresh, "CTLR, TYPER, enables, pending and routing as at power-on");
}

#[test]
fn a_timer_whose_line_dropped_is_no_longer_pending() {
    let (mut g, mut c) = gic(Version::V3, 1, [0; 4], 1 << 27 | 1 << 30);
    w32(&mut g, &mut c, 0x0, 1 << 1);
    rw32(&mut c, 0, 0x1_0100, 1 << 27 | 1 << 30); // enable both timers
    fire(&mut g, &mut c, 0, 27);
    fire(&mut g, &mut c, 0, 30);
    assert_eq!(c.lrs(0).len(), 2, "both ticks delivered");
    let pending = |c: &mut Fake| private::redist_access(c, 0, 0x1_0200, Width::B32, MmioOp::Read).unwrap();
    assert_eq!(pending(&mut c), 1 << 27 | 1 << 30);
    // The guest disables its virtual timer before taking the tick: the line drops.
    c.low.push(27);
    assert_eq!(pending(&mut c), 1 << 30, "only the physical timer is still pending");
    assert_eq!(c.lrs(0), [(30, LrState::Pending, 0)], "the stale tick left its list register");
    assert_eq!(c.released, [(0, 27)], "and its physical twin was deactivated");
    // One the guest already took (active) stays until it deactivates it.
    c.cpus[0].1.lrs[1] = c.cpus[0].1.lrs[1].with_state(false, true);
    c.low.push(30);
    private::drop_stale(&mut c, 0);
    assert_eq!(c.released, [(0, 27)]);
}

/// One thing a hostile guest (or the hardware) can do to a VM's virtual GIC.
#[derive(Debug, Clone)]
enum Step {
    /// A distributor access by vCPU `k`: offset, width (bytes), and a write's value.
    Dist(usize, usize, u8, Option<u64>),
    /// An access to vCPU `k`'s redistributor frames (GICv3).
    Redist(usize, usize, u8, Option<u64>),
    /// A hardware interrupt fires for vCPU `k`: a timer PPI or the passthrough SPI.
    Fire(usize, u32),
    /// vCPU `k`'s guest acknowledges (pending -> active) or deactivates list register `i`.
    Guest(usize, usize, bool),
    /// A GICv3 SGI write (ICC_SGI1R_EL1) from vCPU `k`.
    Sgi(usize, u64),
}

fn step(g: &mut crate::fuzz::Rng) -> Step {
    let width = g.pick(&[1u8, 2, 4, 8]);
    let value = match g.below(4) {
        0 => None,
        _ => Some(g.value()),
    };
    // Offsets: mostly the registers that change state (CTLR, enables, pending, active,
    // priorities, targets, config, SGIR, routing), sometimes anywhere in the frame.
    let hot = |g: &mut crate::fuzz::Rng, max: u64| {
        let base =
            g.pick(&[0x0, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x800, 0xC00, 0xF00, 0x6000]);
        if g.below(4) == 0 {
            g.below(max) as usize
        } else {
            base + g.below(0x40) as usize
        }
    };
    match g.below(5) {
        0 => Step::Dist(g.below(2) as usize, hot(g, 0x1_0000), width, value),
        1 => {
            let frame = if g.bool() { 0x1_0000 } else { 0 };
            let off = frame + hot(g, 0x1_0000);
            Step::Redist(g.below(3) as usize, off, width, value)
        }
        2 => Step::Fire(g.below(2) as usize, g.pick(&[27, 30, 40])),
        3 => Step::Guest(g.below(2) as usize, g.below(4) as usize, g.bool()),
        _ => Step::Sgi(g.below(2) as usize, g.value()),
    }
}

fn width_of(w: u8) -> Width {
    match w {
        1 => Width::B8,
        2 => Width::B16,
        4 => Width::B32,
        _ => Width::B64,
    }
}

/// Whatever two vCPUs and the hardware do, hv does not panic (overflow checks are on in tests),
/// every list register names a vINTID the VM has, and no vINTID is in two list registers of one
/// vCPU (UNPREDICTABLE in the GIC architecture).
#[test]
fn fuzz_vgic() {
    crate::fuzz::run("vgic", 5_000, |r| {
        let v3 = r.bool();
        let steps: Vec<Step> = (0..1 + r.below(200)).map(|_| step(r)).collect();
        let version = if v3 { Version::V3 } else { Version::V2 };
        // SPI 40 is a passthrough (hardware) interrupt; the timers are hardware PPIs.
        let (mut g, mut c) = gic(version, 2, [0, 1 << 8, 0, 0], 1 << 27 | 1 << 30);
        for s in steps {
            match s {
                Step::Dist(k, off, w, v) => {
                    c.me = k;
                    let off = off & !(w as usize - 1);
                    let op = v.map_or(MmioOp::Read, MmioOp::Write);
                    let _ = g.access(&mut c, off, width_of(w), op);
                }
                Step::Redist(k, off, w, v) => {
                    c.me = k.min(1);
                    let off = off & !(w as usize - 1);
                    let op = v.map_or(MmioOp::Read, MmioOp::Write);
                    let _ = private::redist_access(&mut c, k, off, width_of(w), op);
                }
                Step::Fire(k, intid) => fire(&mut g, &mut c, k, intid),
                Step::Guest(k, i, deactivate) => {
                    let lr = c.cpus[k].1.lrs[i];
                    c.cpus[k].1.lrs[i] = if deactivate {
                        lr.with_state(lr.is_pending() && lr.is_active(), false)
                    } else if lr.is_pending() {
                        lr.with_state(false, true)
                    } else {
                        lr
                    };
                }
                Step::Sgi(k, v) => {
                    c.me = k;
                    if v3 {
                        private::sgi1r(&mut c, k, v);
                    }
                }
            }
            for (k, (_, bank)) in c.cpus.iter().enumerate() {
                let valid: Vec<_> = bank.lrs.iter().filter(|l| l.state() != LrState::Invalid).collect();
                for (i, a) in valid.iter().enumerate() {
                    assert!((a.intid().0 as usize) < super::LINES, "vCPU {k}: {a:?}");
                    assert!(
                        valid[i + 1..].iter().all(|b| b.intid() != a.intid()),
                        "vCPU {k} holds {:?} twice: {:?}",
                        a.intid(),
                        bank.lrs
                    );
                }
            }
        }
    });
}

mod spi_line;
mod timer_line;
