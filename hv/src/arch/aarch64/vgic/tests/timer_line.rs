//! The EL1 timers' PPIs read as pending exactly while the timer's output is high, whatever hv
//! or the guest has done with the interrupt meanwhile (GIC level-sensitive semantics; the ARM
//! ARM's timer output is ENABLE, not IMASK, and the condition met). Every transition, on the
//! GICv3 redistributor and on GICv2's banked distributor word.
use super::*;

const VT: u32 = 27;
const PT: u32 = 30;

/// A one-vCPU VM whose distributor forwards, both timers enabled in the GIC.
fn vm(version: Version) -> (VGicd, Fake) {
    let (mut g, mut c) = gic(version, 1, [0; 4], 1 << VT | 1 << PT);
    w32(&mut g, &mut c, 0x0, if version == Version::V3 { 1 << 1 } else { 1 });
    set(&mut g, &mut c, version, 0x100, 1 << VT | 1 << PT);
    (g, c)
}

/// Write the private word at set/clear register `reg` (0x100 ISENABLER, 0x200 ISPENDR, ...).
fn set(g: &mut VGicd, c: &mut Fake, version: Version, reg: usize, v: u32) {
    match version {
        Version::V3 => rw32(c, 0, SGI + reg, v),
        Version::V2 => w32(g, c, reg, v),
    }
}

fn get(g: &mut VGicd, c: &mut Fake, version: Version, reg: usize) -> u32 {
    match version {
        Version::V3 => rr32(c, 0, SGI + reg),
        Version::V2 => r32(g, c, reg),
    }
}

/// The timers' bits of ISPENDR0, checked to equal ICPENDR0's.
fn pending(g: &mut VGicd, c: &mut Fake, version: Version) -> u32 {
    let set = get(g, c, version, 0x200);
    assert_eq!(set, get(g, c, version, 0x280), "ISPENDR0 and ICPENDR0 read the same");
    set & (1 << VT | 1 << PT)
}

fn line(c: &mut Fake, intid: u32, high: bool) {
    c.low.retain(|&i| i != intid);
    c.high.retain(|&i| i != intid);
    if high {
        c.high.push(intid)
    } else {
        c.low.push(intid)
    }
}

fn each_version(f: impl Fn(Version)) {
    for v in [Version::V3, Version::V2] {
        f(v)
    }
}

#[test]
fn a_firing_timer_reads_pending_before_hv_takes_its_interrupt() {
    each_version(|v| {
        let (mut g, mut c) = vm(v);
        line(&mut c, VT, false);
        line(&mut c, PT, false);
        assert_eq!(pending(&mut g, &mut c, v), 0, "deadline in the future");
        // The deadline passes (or the guest moves it into the past): the line rises, and the
        // guest reads it before the physical interrupt reached hv.
        line(&mut c, VT, true);
        assert_eq!(pending(&mut g, &mut c, v), 1 << VT, "{v:?}");
        line(&mut c, PT, true);
        assert_eq!(pending(&mut g, &mut c, v), 1 << VT | 1 << PT, "{v:?}");
        assert!(c.lrs(0).is_empty(), "reading delivers nothing by itself");
    });
}

#[test]
fn disabling_masking_or_moving_the_deadline_withdraws_a_delivered_tick() {
    // The three ways the guest lowers the line all look the same from the GIC: the output drops.
    for way in ["ENABLE cleared", "IMASK set", "CVAL moved into the future"] {
        each_version(|v| {
            let (mut g, mut c) = vm(v);
            line(&mut c, VT, true);
            fire(&mut g, &mut c, 0, VT);
            assert_eq!(c.lrs(0).len(), 1, "the tick waits in a list register");
            assert_eq!(pending(&mut g, &mut c, v), 1 << VT);
            line(&mut c, VT, false);
            assert_eq!(pending(&mut g, &mut c, v), 0, "{way}, {v:?}: no longer pending");
            assert!(c.lrs(0).is_empty(), "{way}: the stale tick left its list register");
            assert_eq!(c.released, [(0, VT)], "{way}: its physical twin was deactivated");
            // The line rises again: pending again, before and after hv takes it.
            line(&mut c, VT, true);
            assert_eq!(pending(&mut g, &mut c, v), 1 << VT);
            fire(&mut g, &mut c, 0, VT);
            assert_eq!(pending(&mut g, &mut c, v), 1 << VT);
        });
    }
}

#[test]
fn an_active_tick_whose_line_is_still_high_is_also_pending() {
    each_version(|v| {
        let (mut g, mut c) = vm(v);
        line(&mut c, VT, true);
        fire(&mut g, &mut c, 0, VT);
        // The guest acknowledges it: active, and, the line still being high, pending too.
        c.cpus[0].1.lrs[0] = c.cpus[0].1.lrs[0].with_state(false, true);
        assert_eq!(pending(&mut g, &mut c, v), 1 << VT, "{v:?}: active and pending");
        assert_eq!(get(&mut g, &mut c, v, 0x300) & (1 << VT), 1 << VT, "and active");
        // Its handler disables the timer: active only; nothing is released before its EOI.
        line(&mut c, VT, false);
        assert_eq!(pending(&mut g, &mut c, v), 0);
        assert_eq!(get(&mut g, &mut c, v, 0x300) & (1 << VT), 1 << VT);
        assert!(c.released.is_empty(), "the guest's deactivation releases it");
    });
}

#[test]
fn a_tick_latched_while_disabled_in_the_gic_follows_the_line() {
    each_version(|v| {
        let (mut g, mut c) = vm(v);
        set(&mut g, &mut c, v, 0x180, 1 << VT); // ICENABLER: disabled in the GIC
        line(&mut c, VT, true);
        fire(&mut g, &mut c, 0, VT);
        assert!(c.lrs(0).is_empty(), "not forwarded while disabled");
        assert_eq!(pending(&mut g, &mut c, v), 1 << VT, "but pending");
        line(&mut c, VT, false);
        assert_eq!(pending(&mut g, &mut c, v), 0, "{v:?}: the latch went with the line");
        assert_eq!(c.released, [(0, VT)]);
        set(&mut g, &mut c, v, 0x100, 1 << VT);
        assert!(c.lrs(0).is_empty(), "re-enabling delivers nothing stale");
    });
}

#[test]
fn a_pending_state_the_guest_set_itself_stays_until_taken_or_cleared() {
    each_version(|v| {
        let (mut g, mut c) = vm(v);
        line(&mut c, PT, false);
        set(&mut g, &mut c, v, 0x200, 1 << PT); // ISPENDR with the line low
        assert_eq!(pending(&mut g, &mut c, v), 1 << PT, "{v:?}: the software latch holds");
        assert_eq!(c.lrs(0), [(PT, LrState::Pending, 0)]);
        assert!(!c.cpus[0].1.lrs[0].is_hw(), "no physical interrupt is active to link to");
        set(&mut g, &mut c, v, 0x280, 1 << PT); // ICPENDR
        assert_eq!(pending(&mut g, &mut c, v), 0);
        assert!(c.lrs(0).is_empty() && c.released.is_empty());
        // Set again and taken by the guest: the latch is gone, and the next real tick is
        // hardware-linked again.
        set(&mut g, &mut c, v, 0x200, 1 << PT);
        c.cpus[0].1.lrs[0] = c.cpus[0].1.lrs[0].with_state(false, false);
        assert_eq!(pending(&mut g, &mut c, v), 0);
        line(&mut c, PT, true);
        fire(&mut g, &mut c, 0, PT);
        let lr = c.cpus[0].1.lrs.iter().find(|l| l.intid() == IntId(PT)).copied();
        assert!(lr.is_some_and(|l| l.is_hw()), "{v:?}: {lr:?}");
    });
}

#[test]
fn a_real_tick_replaces_the_guests_own_unlinked_copy() {
    let v = Version::V3;
    let (mut g, mut c) = vm(v);
    set(&mut g, &mut c, v, 0x200, 1 << VT);
    line(&mut c, VT, true);
    fire(&mut g, &mut c, 0, VT);
    let held: Vec<_> = c.cpus[0].1.lrs.iter().filter(|l| l.intid() == IntId(VT)).copied().collect();
    assert_eq!(held.len(), 1, "one copy");
    assert!(held[0].is_hw(), "linked, so the guest's EOI releases the physical interrupt");
}

#[test]
fn clearing_a_latch_over_a_real_tick_releases_the_tick() {
    let v = Version::V3;
    let (mut g, mut c) = vm(v);
    line(&mut c, VT, true);
    fire(&mut g, &mut c, 0, VT); // a real tick: linked, its physical twin active
    set(&mut g, &mut c, v, 0x200, 1 << VT); // the guest's own ISPENDR merges into it
    set(&mut g, &mut c, v, 0x280, 1 << VT); // and ICPENDR takes it back
    assert!(c.lrs(0).is_empty());
    assert_eq!(c.released, [(0, VT)], "the physical tick is not left active forever");
}
