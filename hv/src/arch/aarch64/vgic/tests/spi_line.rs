//! Passthrough SPIs are level-sensitive: one whose physical line dropped before the guest took
//! it is not delivered (withdrawn from the list registers where hv looks, at the guest's
//! acknowledge, and from the distributor's view), while a pending state the guest set itself
//! is the GIC's software latch and stays.
use super::*;
use crate::arch::aarch64::vgic::vcpu::withdraw_stale_spis;

const SPI: u32 = 40;

fn vm() -> (VGicd, Fake) {
    let (mut g, mut c) = gic(Version::V3, 1, [0, 1 << (SPI - 32), 0, 0], 0);
    w32(&mut g, &mut c, 0x0, 1 << 1);
    w32(&mut g, &mut c, 0x104, 1 << (SPI - 32)); // enabled, routed to vCPU 0 (IROUTER 0)
    (g, c)
}

fn pending(g: &mut VGicd, c: &mut Fake) -> bool {
    r32(g, c, 0x204) & (1 << (SPI - 32)) != 0
}

#[test]
fn a_delivered_spi_whose_line_dropped_is_withdrawn_at_the_acknowledge() {
    let (mut g, mut c) = vm();
    fire(&mut g, &mut c, 0, SPI);
    assert_eq!(c.lrs(0), [(SPI, LrState::Pending, 0)]);
    let mut released = Vec::new();
    // Line still high: the guest may take it.
    withdraw_stale_spis(&mut c.cpus[0].1, |_| true, |i| released.push(i));
    assert_eq!(c.lrs(0).len(), 1);
    // The guest cleared its device first: nothing to acknowledge, the physical one released.
    withdraw_stale_spis(&mut c.cpus[0].1, |_| false, |i| released.push(i));
    assert!(c.lrs(0).is_empty());
    assert_eq!(released, [SPI]);
}

#[test]
fn an_acknowledged_spi_is_left_to_the_guest() {
    let (mut g, mut c) = vm();
    fire(&mut g, &mut c, 0, SPI);
    c.cpus[0].1.lrs[0] = c.cpus[0].1.lrs[0].with_state(false, true);
    let mut released = Vec::new();
    withdraw_stale_spis(&mut c.cpus[0].1, |_| false, |i| released.push(i));
    assert_eq!(c.lrs(0), [(SPI, LrState::Active, 0)], "its EOI deactivates it");
    assert!(released.is_empty());
}

#[test]
fn ispendr_follows_the_line_of_a_passthrough_spi() {
    let (mut g, mut c) = vm();
    c.high.push(SPI);
    fire(&mut g, &mut c, 0, SPI);
    assert!(pending(&mut g, &mut c));
    c.high.clear();
    c.low.push(SPI);
    assert!(!pending(&mut g, &mut c), "cleared at the device: no longer pending");
    assert!(c.lrs(0).is_empty());
    assert_eq!(c.released, [(0, SPI)]);
    // Latched while disabled in the GIC, then the line drops: gone too.
    w32(&mut g, &mut c, 0x184, 1 << (SPI - 32));
    c.low.clear();
    fire(&mut g, &mut c, 0, SPI);
    assert!(pending(&mut g, &mut c));
    c.low.push(SPI);
    assert!(!pending(&mut g, &mut c));
    w32(&mut g, &mut c, 0x104, 1 << (SPI - 32));
    assert!(c.lrs(0).is_empty(), "re-enabling delivers nothing stale");
}

#[test]
fn a_software_pending_spi_stays_whatever_the_line() {
    let (mut g, mut c) = vm();
    c.low.push(SPI);
    w32(&mut g, &mut c, 0x204, 1 << (SPI - 32)); // ISPENDR
    assert!(pending(&mut g, &mut c), "the software latch holds with the line low");
    assert!(!c.cpus[0].1.lrs[0].is_hw(), "delivered unlinked: no physical interrupt is active");
    w32(&mut g, &mut c, 0x284, 1 << (SPI - 32)); // ICPENDR
    assert!(!pending(&mut g, &mut c));
    assert!(c.released.is_empty());
    // Set again, then the line really rises: one copy, hardware-linked.
    w32(&mut g, &mut c, 0x204, 1 << (SPI - 32));
    c.low.clear();
    fire(&mut g, &mut c, 0, SPI);
    let copies: Vec<_> = c.cpus[0].1.lrs.iter().filter(|l| l.intid() == IntId(SPI)).copied().collect();
    assert!(copies.len() == 1 && copies[0].is_hw(), "{copies:?}");
}
