//! hv's own doorbell register page (`hv,doorbell`), for bare-metal peers: 32-bit registers,
//! anything else aborts. docs/channels.md has the map.
use super::{peers_up, ring_from, with_bell, CallError, CHANNELS};
use crate::arch::Arch;
use hv_mmio::{MmioFault, MmioOp, Width};

/// RO: this peer's index (bits 7:0), the channel's peer count (15:8), the layout version (23:16).
pub const ID: usize = 0x00;
/// RO: bit k set while peer k's VM runs.
pub const PEERS_UP: usize = 0x04;
/// Vectors rung and not cleared; writing 1 clears.
pub const PENDING: usize = 0x08;
/// Vectors that raise this peer's interrupt.
pub const ENABLE: usize = 0x0C;
/// WO: ring peer `value & 0xFF` with vector `(value >> 8) & 0xFF`; a peer or vector that does
/// not exist, or other bits set, is refused with an abort.
pub const RING: usize = 0x10;
const VERSION: u32 = 1;

pub(super) fn access<A: Arch>(
    c: usize,
    k: usize,
    off: usize,
    width: Width,
    op: MmioOp,
) -> Result<u64, MmioFault> {
    if width != Width::B32 || !off.is_multiple_of(4) {
        return Err(MmioFault::BadWidth);
    }
    let ch = &CHANNELS[c];
    match (off, op) {
        (ID, MmioOp::Read) => Ok((k as u64) | (ch.peers.len() as u64) << 8 | (VERSION as u64) << 16),
        (PEERS_UP, MmioOp::Read) => Ok(peers_up::<A>(ch) as u64),
        (PENDING, MmioOp::Read) => Ok(with_bell::<A, _>(c, k, |b| b.pending) as u64),
        (ENABLE, MmioOp::Read) => Ok(with_bell::<A, _>(c, k, |b| b.enable) as u64),
        (RING, MmioOp::Read) => Ok(0),
        (ID | PEERS_UP, MmioOp::Write(_)) => Err(MmioFault::ReadOnly),
        (PENDING, MmioOp::Write(v)) => {
            with_bell::<A, _>(c, k, |b| b.pending &= !(v as u32));
            Ok(0)
        }
        (ENABLE, MmioOp::Write(v)) => {
            with_bell::<A, _>(c, k, |b| b.enable = v as u32);
            Ok(0)
        }
        (RING, MmioOp::Write(v)) => {
            if v >> 16 != 0 {
                return Err(MmioFault::Refused);
            }
            match ring_from::<A>(c, k, (v & 0xFF) as usize, ((v >> 8) & 0xFF) as u32) {
                Ok(()) | Err(CallError::BadState) => Ok(0),
                Err(_) => Err(MmioFault::Refused),
            }
        }
        _ => Err(MmioFault::Unmapped),
    }
}
