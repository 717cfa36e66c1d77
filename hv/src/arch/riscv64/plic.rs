//! The board's PLIC, as hv drives it: the console's source and the passthrough sources, each
//! enabled on the S-mode context of exactly one hart (the one running the VM's vCPU 0, or the
//! focused VM's for the console), claimed by hv there and completed there. Hart h's S-mode
//! context is 2h+1, as on QEMU's virt board.
//!
//! The firmware resets a hart's contexts when it starts the hart (OpenSBI's warm init clears
//! their enables), which can be after hv routed a source to it: so the routes are kept here,
//! and each hart applies its own when hv starts on it (`hart_init`).
use crate::desc::{PlatformDesc, RiscvDesc};
use crate::machine::{BOARD, NUM_CPUS};
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU16, Ordering};

/// The board's PLIC and timebase. A description of another architecture does not build.
pub const RISCV: RiscvDesc = match BOARD.platform {
    PlatformDesc::Riscv64(r) => r,
    PlatformDesc::Aarch64(_) => panic!("hv for riscv64 was built for a board of another architecture"),
};

fn reg(offset: usize) -> *mut u32 {
    (RISCV.plic.0 as usize + offset) as *mut u32
}

fn rd(offset: usize) -> u32 {
    // SAFETY: an aligned register inside the board's PLIC, which hv reaches untranslated.
    unsafe { read_volatile(reg(offset)) }
}

fn wr(offset: usize, v: u32) {
    // SAFETY: as for `rd`.
    unsafe { write_volatile(reg(offset), v) }
}

fn s_context(hart: usize) -> usize {
    2 * hart + 1
}

fn enable_word(hart: usize, source: u32) -> usize {
    0x2000 + 0x80 * s_context(hart) + 4 * (source as usize / 32)
}

/// Sources a route can name: the board's, 1 to `plic_sources`.
const SOURCES: usize = RISCV.plic_sources as usize + 1;
/// The hart each source is routed to, plus one (0 for none: the table starts in .bss).
static ROUTE: [AtomicU16; SOURCES] = [const { AtomicU16::new(0) }; SOURCES];

/// This hart's S-mode context, as hv starts on it: priorities above 0 pass, and exactly the
/// sources routed here are enabled.
pub fn hart_init(hart: usize) {
    wr(0x20_0000 + 0x1000 * s_context(hart), 0);
    for w in 0..RISCV.plic_sources.div_ceil(32) as usize + 1 {
        let mut bits = 0u32;
        for b in 0..32 {
            let s = w * 32 + b;
            if s < SOURCES && ROUTE[s].load(Ordering::Acquire) as usize == hart + 1 {
                bits |= 1 << b;
            }
        }
        wr(0x2000 + 0x80 * s_context(hart) + 4 * w, bits);
    }
}

/// Deliver `source` to `hart` only, at priority 1. A hart that is not up yet takes the route
/// when it starts (`hart_init`).
pub fn route(source: u32, hart: usize) {
    let Ok(to) = u16::try_from(hart + 1) else { return };
    if source == 0 || source as usize >= SOURCES {
        return;
    }
    ROUTE[source as usize].store(to, Ordering::Release);
    wr(4 * source as usize, 1);
    for h in 0..NUM_CPUS {
        let w = enable_word(h, source);
        let bit = 1 << (source % 32);
        wr(w, if h == hart { rd(w) | bit } else { rd(w) & !bit });
    }
}

/// Claim the best pending source for `hart`; 0 when none.
pub fn claim(hart: usize) -> u32 {
    rd(0x20_0004 + 0x1000 * s_context(hart))
}

/// Complete `source` at `hart`'s context (the one it was claimed at).
pub fn complete(hart: usize, source: u32) {
    wr(0x20_0004 + 0x1000 * s_context(hart), source);
}
