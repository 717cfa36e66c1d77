//! Channels and management on the host, against `arch::fake`. They need a machine with
//! channels: `make test-host` runs them under machines/test-channels.ron (`alpha` and `beta`
//! share `link` through doorbell pages, alpha manages beta, `gamma` shares `side` with beta).
//! Under a machine without channels there is nothing to test, and they say so.
extern crate std;
use super::*;
use crate::arch::fake::{serial, take_log, Call, Fake};
use crate::machine::VMS;
use crate::manage::{self, Asker, Op};
use crate::vm;
use hv_types::Pa;

const ALPHA: VmId = VmId(0);
const BETA: VmId = VmId(1);
const GAMMA: VmId = VmId(2);

/// Peer `k` of channel `c` at run time.
fn peer(c: usize, k: usize) -> &'static PeerRt {
    PEERS.get(c).and_then(|p| p.get(k)).expect("a peer")
}

/// Channel `link` (test-channels.ron's first).
fn link() -> &'static ChannelDesc {
    CHANNELS.first().expect("a channel")
}

/// The machine is test-channels.ron, or there is nothing to test here.
fn channels_machine() -> bool {
    let ok = CHANNELS.len() == 2 && link().name == "link" && VMS.len() == 3;
    if !ok {
        std::println!("skipped: no channels in this machine (run under machines/test-channels.ron)");
    }
    ok
}

fn page(vm: VmId, off: usize, op: MmioOp) -> Option<Result<u64, MmioFault>> {
    let p = CHANNELS.iter().flat_map(|c| c.peers).find(|p| p.vm == vm)?;
    route::<Fake>(vm, Ipa(p.doorbell_ipa.0 + off as u64), Width::B32, op)
}

fn reset_bells() {
    for (c, ch) in CHANNELS.iter().enumerate() {
        for k in 0..ch.peers.len() {
            *peer(c, k).bell.lock() = Bell::POWER_ON;
            peer(c, k).restarts.store(0, Ordering::Release);
        }
    }
}

/// A ring reaches the other peer's page and, once enabled, its interrupt line; clearing
/// PENDING drops the line. Nothing reaches a peer of another channel.
#[test]
fn a_ring_raises_the_peers_line_until_cleared() {
    let _g = serial();
    if !channels_machine() {
        return;
    }
    reset_bells();
    let beta_irq = link().peers[1].irq;
    let line = |level| Call::Line { vm: BETA, line: beta_irq, level };
    assert_eq!(page(ALPHA, page::ID, MmioOp::Read), Some(Ok(0x1_0200)));
    take_log();
    assert_eq!(page(ALPHA, page::RING, MmioOp::Write(1 | 3 << 8)), Some(Ok(0)));
    assert!(take_log().is_empty(), "rung, but beta enabled no vector yet: the line stays low");
    assert_eq!(page(BETA, page::ENABLE, MmioOp::Write(u32::MAX as u64)), Some(Ok(0)));
    assert_eq!(take_log(), [line(true)]);
    assert_eq!(page(BETA, page::PENDING, MmioOp::Read), Some(Ok(1 << 3)));
    assert_eq!(page(BETA, page::PENDING, MmioOp::Write(1 << 3)), Some(Ok(0)));
    assert_eq!(take_log(), [line(false)]);
    // Refusals: no such peer or vector, stray bits, wrong width, read-only registers.
    for bad in [2, 0, 1 | 32 << 8, 1 | 1 << 16] {
        assert_eq!(page(ALPHA, page::RING, MmioOp::Write(bad)), Some(Err(MmioFault::Refused)), "{bad:#x}");
    }
    assert_eq!(page(ALPHA, page::ID, MmioOp::Write(0)), Some(Err(MmioFault::ReadOnly)));
    let p = link().peers[0].doorbell_ipa.0;
    assert_eq!(route::<Fake>(ALPHA, Ipa(p), Width::B8, MmioOp::Read), Some(Err(MmioFault::BadWidth)));
    assert_eq!(route::<Fake>(GAMMA, Ipa(p), Width::B32, MmioOp::Read), None, "not gamma's page");
    assert!(take_log().is_empty(), "nothing was rung");
}

/// hv's ring call: only a peer of the channel, only a peer that exists, only a live one.
#[test]
fn the_ring_call_checks_who_rings_whom() {
    let _g = serial();
    if !channels_machine() {
        return;
    }
    reset_bells();
    assert_eq!(call_ring::<Fake>(GAMMA, 0, 0, 0), Err(CallError::Denied));
    assert_eq!(call_ring::<Fake>(ALPHA, 7, 1, 0), Err(CallError::Invalid));
    assert_eq!(call_ring::<Fake>(ALPHA, 0, 1, 32), Err(CallError::Invalid));
    assert_eq!(call_ring::<Fake>(ALPHA, 0, u64::MAX, 0), Err(CallError::Invalid));
    assert_eq!(call_ring::<Fake>(ALPHA, 0, 0, 0), Err(CallError::Invalid), "itself");
    assert!(take_log().is_empty());
    assert_eq!(call_ring::<Fake>(ALPHA, 0, 1, 5), Ok(()));
    assert_eq!(peer(0, 1).bell.lock().pending, 1 << 5);
    assert!(Fake::vm(BETA).begin_outside_reset());
    Fake::vm(BETA).end_reset();
    let _ = Fake::vm(BETA).stop(0);
    assert_eq!(call_ring::<Fake>(ALPHA, 0, 1, 5), Err(CallError::BadState), "beta is off");
}

/// Management: only what the description gives, and each state change recorded in the state
/// table and rung to the other peers.
#[test]
fn managers_pause_resume_restart_and_stop() {
    let _g = serial();
    if !channels_machine() {
        return;
    }
    reset_bells();
    assert_eq!(manage::call::<Fake>(GAMMA, BETA.0 as u64, 0), Err(CallError::Denied));
    assert_eq!(manage::call::<Fake>(ALPHA, GAMMA.0 as u64, 2), Err(CallError::Denied));
    assert_eq!(manage::call::<Fake>(ALPHA, ALPHA.0 as u64, 2), Err(CallError::Denied));
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 9), Err(CallError::Invalid));
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 0), Ok(vm::RunState::Running));
    take_log();
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 2), Ok(vm::RunState::Paused));
    let state = link().region.pa;
    let log = take_log();
    assert_eq!(log[0], Call::Kick(BETA));
    assert!(log.contains(&Call::Word { pa: Pa(state.0 + STATE_RECORD), value: 2 }), "{log:?}");
    assert_eq!(peer(0, 0).bell.lock().pending, 1 << 1, "alpha was rung with beta's index");
    assert_eq!(peer(1, 1).bell.lock().pending, 1 << 0, "so was gamma, on `side`");
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 2), Err(CallError::BadState));
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 3), Ok(vm::RunState::Running));
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 3), Err(CallError::BadState));
    // Restart: beta's side of each channel back to power-on, its output zeroed, counted.
    *peer(0, 1).bell.lock() = Bell { pending: 1, enable: 1, ..Bell::POWER_ON };
    take_log();
    assert_eq!(manage::control::<Fake>(Asker::Vm(ALPHA), BETA, Op::Restart), Ok(vm::RunState::Running));
    let log = take_log();
    let out = &link().peers[1].output;
    assert!(log.contains(&Call::Zero { pa: out.pa, len: out.size }), "{log:?}");
    assert!(log.contains(&Call::Word { pa: Pa(state.0 + STATE_RECORD + 4), value: 1 }), "{log:?}");
    assert!(log.iter().any(|c| matches!(c, Call::Start { vm: BETA, k: 0, .. })));
    assert_eq!(peer(0, 1).bell.lock().pending, 0, "its doorbell is back at power-on");
    // Stop, then a stopped VM can be restarted, and runs again.
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 1), Ok(vm::RunState::Off));
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 1), Err(CallError::BadState));
    assert_eq!(manage::call::<Fake>(ALPHA, BETA.0 as u64, 4), Ok(vm::RunState::Running));
}

/// A paused vCPU waits in hv and goes back to its guest once resumed; a stopped one leaves.
#[test]
fn a_paused_vcpu_waits_for_resume() {
    let _g = serial();
    if !channels_machine() {
        return;
    }
    crate::arch::fake::run_as(1, BETA, 0);
    assert!(Fake::vm(BETA).claim_vcpu(0));
    assert!(Fake::vm(BETA).pause());
    take_log();
    crate::lifecycle::interrupted::<Fake>(BETA, 0);
    assert_eq!(take_log(), [Call::Idle { vm: BETA, k: 0 }], "it waited, and the fake resumed it");
    assert!(Fake::vm(BETA).vcpu_on(0));
    let _ = Fake::vm(BETA).stop(0);
    let end = crate::arch::fake::ends_in(|| crate::lifecycle::interrupted::<Fake>(BETA, 0));
    assert_eq!(end, "park");
}
