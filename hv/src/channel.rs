//! Channels between VMs at run time (docs/channels.md): each peer's doorbell (hv's page, an
//! emulated PL061 or SiFive GPIO controller), ringing a peer,
//! and the state table hv keeps at the start of each region. A channel owns its peers'
//! doorbells, one lock each; ringing takes only the rung peer's lock, then (inside it) the
//! peer VM's interrupt controller, so a doorbell's line always follows its state.
//!
//! A peer is rung with a vector (0 to 31). A peer whose VM starts, stops, pauses, resumes or
//! restarts rings every other peer with its own index as the vector, so "vector k" means
//! "peer k wants attention"; the state table says what changed.
use crate::arch::Arch;
use crate::desc::{ChannelDesc, DoorbellKind};
use crate::machine::{CHANNELS, NUM_CHANNELS};
use crate::vm::RunState;
use core::sync::atomic::{AtomicU32, Ordering};
use hv_mmio::{MmioFault, MmioOp, Width};
use hv_types::{Ipa, VmId, CHANNEL_PEERS};

mod page;
mod pl061;
mod sifive;

/// Bytes of a doorbell's register window.
const WINDOW: u64 = 0x1000;
/// Vectors a peer can be rung with.
pub const VECTORS: u32 = 32;
/// Bytes of one peer's record in the state table: its `RunState`, then how many times its VM
/// restarted.
pub const STATE_RECORD: u64 = 0x10;

/// One peer's doorbell, whichever device stands for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bell {
    /// Vectors rung and not yet cleared (the page's PENDING).
    pending: u32,
    /// Vectors that raise the interrupt (the page's ENABLE).
    enable: u32,
    gpio: pl061::Regs,
    sifive: sifive::Regs,
    /// The levels its interrupt lines were last driven to (bit i: the peer's `irq` + i; only
    /// the SiFive GPIO has more than one).
    levels: u32,
}

impl Bell {
    const POWER_ON: Bell = Bell {
        pending: 0,
        enable: 0,
        gpio: pl061::Regs::POWER_ON,
        sifive: sifive::Regs::POWER_ON,
        levels: 0,
    };

    /// Vector `v` arrived at a doorbell of `kind`.
    fn ring(&mut self, kind: DoorbellKind, v: u32) {
        match kind {
            DoorbellKind::Page => self.pending |= 1 << v,
            DoorbellKind::Pl061 => self.gpio.ring(v),
            DoorbellKind::SifiveGpio => self.sifive.ring(v),
        }
    }

    /// The levels of its interrupt lines.
    fn lines(&self, kind: DoorbellKind) -> u32 {
        match kind {
            DoorbellKind::Page => (self.pending & self.enable != 0) as u32,
            DoorbellKind::Pl061 => self.gpio.line() as u32,
            DoorbellKind::SifiveGpio => self.sifive.lines(),
        }
    }
}

struct PeerRt {
    bell: spin::Mutex<Bell>,
    /// Times its VM restarted.
    restarts: AtomicU32,
}

static PEERS: [[PeerRt; CHANNEL_PEERS]; NUM_CHANNELS] = [const {
    [const { PeerRt { bell: spin::Mutex::new(Bell::POWER_ON), restarts: AtomicU32::new(0) } }; CHANNEL_PEERS]
}; NUM_CHANNELS];

/// Why a ring or a management call is refused; each front end has its code for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// An argument names nothing that exists for the caller (a peer index, a vector).
    Invalid,
    /// The caller is not allowed (not a peer of that channel, not the target's manager).
    Denied,
    /// The target is not in a state the call applies to (a stopped peer, a VM not paused).
    BadState,
}

/// Look at or change the doorbell of peer `k` of channel `c` with its lock held; a change of
/// its line's level is driven into the peer's interrupt controller before the lock goes.
fn with_bell<A: Arch, R>(c: usize, k: usize, f: impl FnOnce(&mut Bell) -> R) -> R {
    let p = &CHANNELS[c].peers[k];
    let mut b = PEERS[c][k].bell.lock();
    let r = f(&mut b);
    let levels = b.lines(p.doorbell);
    let mut changed = levels ^ b.levels;
    b.levels = levels;
    // Only the lines that changed (usually none), lowest first.
    while changed != 0 {
        let i = changed.trailing_zeros();
        changed &= changed - 1;
        A::set_line(p.vm, p.irq + i, levels & (1 << i) != 0);
    }
    r
}

/// Ring peer `to` of channel `c` with `vector`. A peer whose VM is off is not rung.
fn ring<A: Arch>(c: usize, to: usize, vector: u32) -> Result<(), CallError> {
    let p = &CHANNELS[c].peers[to];
    if A::vm(p.vm).state() == RunState::Off {
        return Err(CallError::BadState);
    }
    with_bell::<A, _>(c, to, |b| b.ring(p.doorbell, vector));
    Ok(())
}

/// Peer `from` of channel `c` rings peer `to`: both are indices it may name.
fn ring_from<A: Arch>(c: usize, from: usize, to: usize, vector: u32) -> Result<(), CallError> {
    if to >= CHANNELS[c].peers.len() || to == from || vector >= VECTORS {
        return Err(CallError::Invalid);
    }
    ring::<A>(c, to, vector)
}

/// Peer `k`'s GPIO doorbell raised output lines `rings` (bit 4+j rings peer j with `k`). A line
/// for a peer that does not exist, or for itself, goes nowhere, as a pin with nothing
/// attached; a peer that is off is not rung.
fn gpio_rings<A: Arch>(c: usize, k: usize, rings: u32) {
    for line in (4..8).filter(|l| rings & (1 << l) != 0) {
        if line - 4 < CHANNELS[c].peers.len() {
            let _ = ring_from::<A>(c, k, line - 4, k as u32);
        }
    }
}

/// hv's ring call: VM `vm` rings peer `to` of channel `c` with `vector`.
pub fn call_ring<A: Arch>(vm: VmId, c: u64, to: u64, vector: u64) -> Result<(), CallError> {
    let ch = CHANNELS.get(c as usize).ok_or(CallError::Invalid)?;
    let from = ch.peers.iter().position(|p| p.vm == vm).ok_or(CallError::Denied)?;
    let (to, vector) = (usize::try_from(to).unwrap_or(usize::MAX), u32::try_from(vector).unwrap_or(u32::MAX));
    ring_from::<A>(c as usize, from, to, vector)
}

/// Which peers of `ch` run (bit k for peer k).
fn peers_up<A: Arch>(ch: &ChannelDesc) -> u32 {
    ch.peers
        .iter()
        .enumerate()
        .filter(|(_, p)| A::vm(p.vm).state() == RunState::Running)
        .fold(0, |m, (k, _)| m | 1 << k)
}

/// An access to a doorbell window of `vm`; `None` when `ipa` is in none.
pub fn route<A: Arch>(vm: VmId, ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
    for (c, ch) in CHANNELS.iter().enumerate() {
        for (k, p) in ch.peers.iter().enumerate() {
            let off = ipa.0.wrapping_sub(p.doorbell_ipa.0);
            if p.vm != vm || off >= WINDOW {
                continue;
            }
            let off = off as usize;
            return Some(match p.doorbell {
                DoorbellKind::Page => page::access::<A>(c, k, off, width, op),
                DoorbellKind::Pl061 => pl061::access::<A>(c, k, off, width, op),
                DoorbellKind::SifiveGpio => sifive::access::<A>(c, k, off, width, op),
            });
        }
    }
    None
}

/// Write peer `k`'s record in channel `c`'s state table.
fn publish_state<A: Arch>(c: usize, k: usize, state: RunState) {
    let ch = &CHANNELS[c];
    let at = STATE_RECORD * k as u64;
    A::write_word(&ch.region, at, state as u32);
    A::write_word(&ch.region, at + 4, PEERS[c][k].restarts.load(Ordering::Acquire));
}

/// Each channel of `vm`, with its peer index there.
fn ends(vm: VmId) -> impl Iterator<Item = (usize, usize)> {
    CHANNELS
        .iter()
        .enumerate()
        .filter_map(move |(c, ch)| ch.peers.iter().position(|p| p.vm == vm).map(|k| (c, k)))
}

/// Boot, before any VM runs: every region zeroed, every peer recorded as running.
pub fn init<A: Arch>() {
    for (c, ch) in CHANNELS.iter().enumerate() {
        A::zero_ram(&ch.region);
        for k in 0..ch.peers.len() {
            publish_state::<A>(c, k, RunState::Running);
        }
        A::publish_ram(&ch.region);
    }
}

/// `vm` changed state: its record in each of its channels says so, and every other peer that
/// runs is rung with its index.
pub fn changed<A: Arch>(vm: VmId) {
    let state = A::vm(vm).state();
    for (c, k) in ends(vm) {
        publish_state::<A>(c, k, state);
        for j in (0..CHANNELS[c].peers.len()).filter(|&j| j != k) {
            let _ = ring::<A>(c, j, k as u32);
        }
    }
}

/// `vm` restarts (no vCPU of it runs): its side of each channel goes back to power-on, its
/// doorbell and its output section; its peers are told when it runs again (`changed`).
pub fn reset_side<A: Arch>(vm: VmId) {
    for (c, k) in ends(vm) {
        let p = &CHANNELS[c].peers[k];
        with_bell::<A, _>(c, k, |b| *b = Bell::POWER_ON);
        A::zero_ram(&p.output);
        A::publish_ram(&p.output);
        PEERS[c][k].restarts.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests;
