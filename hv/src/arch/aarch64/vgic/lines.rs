//! The state machine behind every set/clear register pair of a virtual GIC (enable, pending,
//! active), for 32 INTIDs at a time. Interrupts that can be delivered go to a vCPU at once
//! (`VgicHost::deliver`); the rest stay latched here until they can. Once delivered, the
//! vCPU's list registers (or its queue) hold the truth, so reads merge both.
use super::host::{Delivery, VgicHost};

/// The operation a set/clear register write performs on each bit written as 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Enable,
    Disable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
}

/// Which state a read returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Pending,
    Active,
}

/// One word (32 INTIDs) of latched state, copied out of a distributor or redistributor and
/// stored back after the operation (so routing can read the rest of the device meanwhile).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Word {
    pub enabled: u32,
    pub pending: u32,
    pub active: u32,
}

/// Where and how one INTID is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The target vCPU, `None` when the guest routed it nowhere that exists.
    pub vcpu: Option<usize>,
    pub priority: u8,
    /// Backed by the same physical INTID (virtual timer, passthrough SPI).
    pub hw: bool,
    /// Sender of an SGI.
    pub source: u8,
}

/// The set bits of `v`, lowest first (one step per set bit, not per bit).
pub(super) fn bits(mut v: u32) -> impl Iterator<Item = u32> {
    core::iter::from_fn(move || {
        let b = v.trailing_zeros();
        v &= v.wrapping_sub(1);
        (b < 32).then_some(b)
    })
}

/// Apply `op` to each INTID `base + b` for the bits `b` set in `mask`. `on`: the distributor
/// forwards interrupts (its group is enabled).
pub fn apply<H: VgicHost>(
    ctx: &mut H,
    w: &mut Word,
    base: u32,
    mask: u32,
    op: Op,
    on: bool,
    route: impl Fn(u32) -> Route,
) {
    for b in bits(mask) {
        let (m, intid) = (1u32 << b, base + b);
        let r = route(intid);
        match op {
            Op::Enable => w.enabled |= m,
            Op::Disable => {
                w.enabled &= !m;
                // A disabled interrupt stays pending but is not forwarded: take it back.
                if r.vcpu.is_some_and(|k| ctx.take(k, intid, true, false).pending) {
                    w.pending |= m;
                }
            }
            Op::SetPending => w.pending |= m,
            Op::ClearPending => {
                let latched = w.pending & m != 0;
                w.pending &= !m;
                let taken = r.vcpu.map(|k| ctx.take(k, intid, true, false)).unwrap_or_default();
                // The physical twin is active if hv latched a hardware one, or if the copy
                // taken back was linked to it (a real tick merged under a guest's own
                // pending state, whose route is unlinked).
                if (r.hw && latched) || (taken.pending && taken.hw) {
                    ctx.release_hw(r.vcpu.unwrap_or(0), intid);
                }
            }
            Op::SetActive => {
                if !r.vcpu.is_some_and(|k| ctx.activate(k, intid)) {
                    w.active |= m;
                }
            }
            Op::ClearActive => {
                w.active &= !m;
                if let Some(k) = r.vcpu {
                    let h = ctx.take(k, intid, false, true);
                    if h.active && h.hw {
                        ctx.release_hw(k, intid);
                    }
                }
            }
        }
        deliver_if_ready(ctx, w, intid, m, on, r);
    }
}

/// What `drop_if_low` did with one hardware interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Nothing to change.
    Kept,
    /// The guest's own pending state (a software latch) was taken or cleared: it is gone.
    LatchGone,
}

/// The level rule for hardware interrupt `intid` (bit `m` of a word whose latched pending bits
/// are `pending`), routed to vCPU `k`: one whose line hv sees low is no longer pending, latched
/// here or waiting with its vCPU (not yet acknowledged), and its physical twin is released. One
/// the guest set pending itself (`soft`) is the GIC's software latch instead: it stays whatever
/// the line does, until the guest has taken it.
pub fn drop_if_low<H: VgicHost>(
    ctx: &mut H,
    pending: &mut u32,
    m: u32,
    intid: u32,
    k: Option<usize>,
    soft: bool,
) -> Level {
    let latched = *pending & m != 0;
    let held = k.map(|k| ctx.held(k, intid)).unwrap_or_default();
    if soft {
        return if !latched && !held.pending { Level::LatchGone } else { Level::Kept };
    }
    if (latched || (held.pending && !held.active)) && ctx.line(k.unwrap_or(0), intid) == Some(false) {
        *pending &= !m;
        if let (Some(k), true) = (k, held.pending) {
            ctx.take(k, intid, true, false);
        }
        ctx.release_hw(k.unwrap_or(0), intid);
    }
    Level::Kept
}

/// Forward a latched interrupt if it is pending, enabled and not active.
pub fn deliver_if_ready<H: VgicHost>(ctx: &mut H, w: &mut Word, intid: u32, m: u32, on: bool, r: Route) {
    if !on || w.pending & m == 0 || w.enabled & m == 0 || w.active & m != 0 {
        return;
    }
    if let Some(k) = r.vcpu {
        if ctx.deliver(k, Delivery { intid, priority: r.priority, hw: r.hw, source: r.source }) {
            w.pending &= !m;
        }
    }
}

/// The pending or active bits of 32 INTIDs: latched here, or held by the target vCPU.
pub fn view<H: VgicHost>(
    ctx: &mut H,
    latched: u32,
    base: u32,
    which: View,
    route: impl Fn(u32) -> Route,
) -> u32 {
    let mut v = latched;
    for b in 0..32 {
        let intid = base + b;
        if let Some(k) = route(intid).vcpu {
            let h = ctx.held(k, intid);
            if match which {
                View::Pending => h.pending,
                View::Active => h.active,
            } {
                v |= 1 << b;
            }
        }
    }
    v
}

/// Byte `i` of a priority or target register word.
pub const fn byte(word: u32, i: u32) -> u8 {
    (word >> (8 * (i % 4))) as u8
}
