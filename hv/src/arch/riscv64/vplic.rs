//! A VM's virtual PLIC, fully emulated: per-source priorities and pending bits, per-context
//! enables, thresholds and claim/complete, at the board's PLIC address. vCPU k owns contexts 2k
//! (M-mode: registers only, never delivered to a guest) and 2k+1 (S-mode: its VSEIP), as QEMU's
//! virt board numbers them. Sources are level-triggered, as QEMU's devices are: a source is
//! pending while its line is high and no claim of it is in flight, and a completion with the
//! line still high makes it pending again. Hardware-backed sources (passthrough) are claimed
//! from the physical PLIC by hv; the guest's completion is forwarded to it.
//!
//! Plain logic over a `PlicHost`, so host tests and the fuzzer drive it; after every change
//! each S-mode context's external-interrupt output is recomputed and handed to the host, which
//! raises or lowers that vCPU's VSEIP.
use hv_mmio::{MmioFault, MmioOp, Width};

/// Sources a virtual PLIC can have (1..=1023; 0 is "no interrupt").
pub const MAX_SOURCES: usize = 1024;
const WORDS: usize = MAX_SOURCES / 32;
/// Priority bits implemented (QEMU's virt PLIC has 7 levels).
pub const PRIORITY_MASK: u32 = 7;

const PRIORITY_BASE: usize = 0x0;
const PENDING_BASE: usize = 0x1000;
const ENABLE_BASE: usize = 0x2000;
const ENABLE_STRIDE: usize = 0x80;
const CONTEXT_BASE: usize = 0x20_0000;
const CONTEXT_STRIDE: usize = 0x1000;

/// What the virtual PLIC asks of hv.
pub trait PlicHost {
    /// The external-interrupt output of vCPU `vcpu` (its S-mode context) is now `level`.
    fn set_eip(&mut self, vcpu: usize, level: bool);
    /// The guest completed hardware-backed source `source`: complete it at the physical PLIC.
    fn complete_hw(&mut self, source: u32);
}

/// One VM's virtual PLIC. `CTX` is the number of contexts (2 per vCPU).
pub struct VPlic<const CTX: usize> {
    sources: u32,
    vcpus: usize,
    priority: [u8; MAX_SOURCES],
    /// The line's level, as the device (or the physical PLIC) drives it.
    level: [u32; WORDS],
    pending: [u32; WORDS],
    /// Claimed and not yet completed: the gateway forwards nothing more from it.
    claimed: [u32; WORDS],
    /// Backed by a physical source hv claimed.
    hw: [u32; WORDS],
    enable: [[u32; WORDS]; CTX],
    threshold: [u32; CTX],
    /// The outputs last handed to the host, so only changes are signalled.
    eip: [bool; CTX],
}

fn bit(v: &[u32; WORDS], s: u32) -> bool {
    v[(s / 32) as usize] & (1 << (s % 32)) != 0
}

fn put(v: &mut [u32; WORDS], s: u32, on: bool) {
    let (w, b) = ((s / 32) as usize, 1u32 << (s % 32));
    if on {
        v[w] |= b;
    } else {
        v[w] &= !b;
    }
}

impl<const CTX: usize> VPlic<CTX> {
    /// A PLIC with sources 1..=`sources` for `vcpus` vCPUs; `hw` marks the hardware-backed
    /// sources (bit n = source n).
    pub const fn new(sources: u32, vcpus: usize, hw: [u32; WORDS]) -> Self {
        let sources = if sources as usize >= MAX_SOURCES { MAX_SOURCES as u32 - 1 } else { sources };
        let vcpus = if vcpus * 2 > CTX { CTX / 2 } else { vcpus };
        VPlic {
            sources,
            vcpus,
            priority: [0; MAX_SOURCES],
            level: [0; WORDS],
            pending: [0; WORDS],
            claimed: [0; WORDS],
            hw,
            enable: [[0; WORDS]; CTX],
            threshold: [0; CTX],
            eip: [false; CTX],
        }
    }

    /// Back to reset (the VM restarts): lines keep their level, everything else clears.
    pub fn reset(&mut self, host: &mut impl PlicHost) {
        *self = VPlic { level: self.level, eip: self.eip, ..Self::new(self.sources, self.vcpus, self.hw) };
        for s in 1..=self.sources {
            if bit(&self.level, s) {
                put(&mut self.pending, s, true);
            }
        }
        self.update(host);
    }

    fn contexts(&self) -> usize {
        self.vcpus * 2
    }

    fn valid(&self, s: u32) -> bool {
        s >= 1 && s <= self.sources
    }

    /// Drive source `s`'s line. A rising (or high) line with no claim in flight makes it pending.
    pub fn set_level(&mut self, host: &mut impl PlicHost, s: u32, high: bool) {
        if !self.valid(s) {
            return;
        }
        put(&mut self.level, s, high);
        if high && !bit(&self.claimed, s) {
            put(&mut self.pending, s, true);
        } else if !high && !bit(&self.hw, s) {
            // A level source whose line dropped before it was claimed is no longer pending.
            put(&mut self.pending, s, false);
        }
        self.update(host);
    }

    /// The best source context `c` would claim: pending, enabled, priority above its threshold;
    /// the highest priority, the lowest number among equals. 0 when none.
    fn best(&self, c: usize) -> u32 {
        let (mut best, mut prio) = (0, self.threshold[c]);
        for w in 0..WORDS {
            let mut cand = self.pending[w] & self.enable[c][w];
            while cand != 0 {
                let s = (w * 32) as u32 + cand.trailing_zeros();
                cand &= cand - 1;
                let p = self.priority[s as usize] as u32;
                if p > prio {
                    (best, prio) = (s, p);
                }
            }
        }
        best
    }

    /// Recompute every S-mode context's output and tell the host what changed.
    fn update(&mut self, host: &mut impl PlicHost) {
        for k in 0..self.vcpus {
            let c = 2 * k + 1;
            let level = self.best(c) != 0;
            if level != self.eip[c] {
                self.eip[c] = level;
                host.set_eip(k, level);
            }
        }
    }

    fn claim(&mut self, host: &mut impl PlicHost, c: usize) -> u32 {
        let s = self.best(c);
        if s != 0 {
            put(&mut self.pending, s, false);
            put(&mut self.claimed, s, true);
            self.update(host);
        }
        s
    }

    /// A completion of a source not enabled for the context is ignored, as the spec says.
    fn complete(&mut self, host: &mut impl PlicHost, c: usize, s: u32) {
        if !self.valid(s) || !bit(&self.enable[c], s) || !bit(&self.claimed, s) {
            return;
        }
        put(&mut self.claimed, s, false);
        if bit(&self.hw, s) {
            // The physical source was claimed by hv; its level comes back from the hardware.
            put(&mut self.level, s, false);
            host.complete_hw(s);
        } else if bit(&self.level, s) {
            put(&mut self.pending, s, true);
        }
        self.update(host);
    }

    /// A guest access at `offset` in the PLIC's window, by vCPU `vcpu`. 32-bit accesses only.
    pub fn access(
        &mut self,
        host: &mut impl PlicHost,
        offset: usize,
        width: Width,
        op: MmioOp,
    ) -> Result<u64, MmioFault> {
        if width != Width::B32 || !offset.is_multiple_of(4) {
            return Err(MmioFault::BadWidth);
        }
        let value = match op {
            MmioOp::Write(v) => Some(v as u32),
            MmioOp::Read => None,
        };
        let ctxs = self.contexts();
        let r = match offset {
            o if o < PENDING_BASE => {
                let s = ((o - PRIORITY_BASE) / 4) as u32;
                if !self.valid(s) {
                    0 // source 0 and those beyond the last: reserved, RAZ/WI
                } else if let Some(v) = value {
                    self.priority[s as usize] = (v & PRIORITY_MASK) as u8;
                    self.update(host);
                    0
                } else {
                    self.priority[s as usize] as u32
                }
            }
            o if o < PENDING_BASE + WORDS * 4 => self.pending[(o - PENDING_BASE) / 4], // WI
            o if o < ENABLE_BASE => 0,
            o if o < CONTEXT_BASE => {
                let (c, w) = ((o - ENABLE_BASE) / ENABLE_STRIDE, (o - ENABLE_BASE) % ENABLE_STRIDE / 4);
                if c >= ctxs || w >= WORDS {
                    0
                } else if let Some(v) = value {
                    // Only sources that exist can be enabled (source 0 never).
                    self.enable[c][w] = v & self.existing(w);
                    self.update(host);
                    0
                } else {
                    self.enable[c][w]
                }
            }
            o => {
                let (c, reg) = ((o - CONTEXT_BASE) / CONTEXT_STRIDE, (o - CONTEXT_BASE) % CONTEXT_STRIDE);
                match (c < ctxs, reg, value) {
                    (true, 0, Some(v)) => {
                        self.threshold[c] = v & PRIORITY_MASK;
                        self.update(host);
                        0
                    }
                    (true, 0, None) => self.threshold[c],
                    (true, 4, None) => self.claim(host, c),
                    (true, 4, Some(v)) => {
                        self.complete(host, c, v);
                        0
                    }
                    _ => 0,
                }
            }
        };
        Ok(r as u64)
    }

    /// Bits of the sources that exist in enable word `w`.
    fn existing(&self, w: usize) -> u32 {
        let mut m = 0;
        for b in 0..32 {
            if self.valid((w * 32 + b) as u32) {
                m |= 1 << b;
            }
        }
        m
    }

    /// The output of vCPU `k`'s S-mode context as last signalled.
    pub fn eip(&self, k: usize) -> bool {
        self.eip.get(2 * k + 1).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[derive(Default)]
    struct Host {
        eip: Vec<(usize, bool)>,
        completed: Vec<u32>,
    }
    impl PlicHost for Host {
        fn set_eip(&mut self, vcpu: usize, level: bool) {
            self.eip.push((vcpu, level));
        }
        fn complete_hw(&mut self, s: u32) {
            self.completed.push(s);
        }
    }

    type P = VPlic<4>;

    fn rd(p: &mut P, h: &mut Host, off: usize) -> u32 {
        p.access(h, off, Width::B32, MmioOp::Read).unwrap() as u32
    }
    fn wr(p: &mut P, h: &mut Host, off: usize, v: u32) {
        p.access(h, off, Width::B32, MmioOp::Write(v as u64)).unwrap();
    }
    const S_CTX1: usize = 3; // vCPU 1's S-mode context
    fn claim_reg(c: usize) -> usize {
        CONTEXT_BASE + c * CONTEXT_STRIDE + 4
    }

    #[test]
    fn claim_complete_and_levels() {
        let (mut p, mut h) = (P::new(95, 2, [0; WORDS]), Host::default());
        p.set_level(&mut h, 10, true);
        assert!(h.eip.is_empty(), "priority 0 never interrupts");
        wr(&mut p, &mut h, 4 * 10, 1);
        assert!(h.eip.is_empty(), "not enabled");
        wr(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE, 1 << 10);
        assert_eq!(h.eip, [(1, true)], "vCPU 1's S context now sees it");
        assert_eq!(rd(&mut p, &mut h, PENDING_BASE), 1 << 10);
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 10);
        assert_eq!(h.eip.last(), Some(&(1, false)), "claimed: the output drops");
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 0, "nothing else");
        // Completion with the line still high: pending again.
        wr(&mut p, &mut h, claim_reg(S_CTX1), 10);
        assert_eq!(h.eip.last(), Some(&(1, true)));
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 10);
        p.set_level(&mut h, 10, false);
        wr(&mut p, &mut h, claim_reg(S_CTX1), 10);
        assert_eq!(h.eip.last(), Some(&(1, false)), "line low at completion: done");
        assert_eq!(rd(&mut p, &mut h, PENDING_BASE), 0);
    }

    #[test]
    fn priorities_thresholds_and_ties() {
        let (mut p, mut h) = (P::new(95, 2, [0; WORDS]), Host::default());
        for (s, prio) in [(3, 2), (5, 6), (7, 6)] {
            wr(&mut p, &mut h, 4 * s, prio);
            p.set_level(&mut h, s as u32, true);
        }
        wr(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE, 1 << 3 | 1 << 5 | 1 << 7);
        wr(&mut p, &mut h, CONTEXT_BASE + S_CTX1 * CONTEXT_STRIDE, 6);
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 0, "threshold 6 masks priority 6");
        wr(&mut p, &mut h, CONTEXT_BASE + S_CTX1 * CONTEXT_STRIDE, 1);
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 5, "highest priority, lowest ID");
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 7);
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 3);
        assert_eq!(rd(&mut p, &mut h, 4 * 5), 6);
        wr(&mut p, &mut h, 4 * 5, 0xFF);
        assert_eq!(rd(&mut p, &mut h, 4 * 5), PRIORITY_MASK, "priority bits implemented");
    }

    #[test]
    fn reserved_and_foreign_registers() {
        let (mut p, mut h) = (P::new(95, 2, [0; WORDS]), Host::default());
        wr(&mut p, &mut h, 0, 7);
        assert_eq!(rd(&mut p, &mut h, 0), 0, "source 0 does not exist");
        wr(&mut p, &mut h, 4 * 96, 7);
        assert_eq!(rd(&mut p, &mut h, 4 * 96), 0, "nor does source 96");
        for (w, want) in [(0, u32::MAX - 1), (2, u32::MAX), (3, 0)] {
            wr(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE + 4 * w, u32::MAX);
            let got = rd(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE + 4 * w);
            assert_eq!(got, want, "only sources 1..=95 can be enabled (word {w})");
        }
        wr(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE, 0);
        wr(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE + 8, 0);
        wr(&mut p, &mut h, ENABLE_BASE + 9 * ENABLE_STRIDE, 1);
        assert_eq!(rd(&mut p, &mut h, ENABLE_BASE + 9 * ENABLE_STRIDE), 0, "no context 9");
        assert_eq!(rd(&mut p, &mut h, claim_reg(9)), 0);
        assert_eq!(p.access(&mut h, 2, Width::B32, MmioOp::Read), Err(MmioFault::BadWidth));
        assert_eq!(p.access(&mut h, 4, Width::B8, MmioOp::Read), Err(MmioFault::BadWidth));
        // Completing a source not enabled for the context is ignored.
        p.set_level(&mut h, 4, true);
        wr(&mut p, &mut h, 16, 1);
        wr(&mut p, &mut h, ENABLE_BASE + S_CTX1 * ENABLE_STRIDE, 1 << 4);
        assert_eq!(rd(&mut p, &mut h, claim_reg(S_CTX1)), 4);
        wr(&mut p, &mut h, claim_reg(1), 4);
        assert_eq!(rd(&mut p, &mut h, PENDING_BASE), 0, "still claimed");
    }

    #[test]
    fn hardware_sources_complete_at_the_physical_plic() {
        let mut hw = [0; WORDS];
        hw[0] = 1 << 11;
        let (mut p, mut h) = (P::new(95, 1, hw), Host::default());
        wr(&mut p, &mut h, 4 * 11, 1);
        wr(&mut p, &mut h, ENABLE_BASE + ENABLE_STRIDE, 1 << 11);
        p.set_level(&mut h, 11, true); // hv claimed it physically
        assert_eq!(rd(&mut p, &mut h, claim_reg(1)), 11);
        wr(&mut p, &mut h, claim_reg(1), 11);
        assert_eq!(h.completed, [11]);
        assert_eq!(rd(&mut p, &mut h, PENDING_BASE), 0, "it comes back only through hv");
    }

    #[test]
    fn reset_keeps_lines() {
        let (mut p, mut h) = (P::new(95, 1, [0; WORDS]), Host::default());
        p.set_level(&mut h, 1, true);
        wr(&mut p, &mut h, 4, 1);
        wr(&mut p, &mut h, ENABLE_BASE + ENABLE_STRIDE, 2);
        assert!(p.eip(0));
        p.reset(&mut h);
        assert!(!p.eip(0), "enables and priorities cleared");
        assert_eq!(rd(&mut p, &mut h, PENDING_BASE), 2, "the line is still high");
    }

    /// Any sequence of guest accesses and line changes from two vCPUs: no panic, claims return
    /// only sources that exist, and the signalled outputs always equal what the state says.
    #[test]
    fn fuzz_vplic() {
        crate::fuzz::run("vplic", 20_000, |g| {
            let mut hw = [0; WORDS];
            hw[0] = g.u32() & 0xF0;
            let (mut p, mut h) = (VPlic::<4>::new(1 + g.below(100) as u32, 2, hw), Host::default());
            for _ in 0..g.below(64) {
                let off = match g.below(5) {
                    0 => g.below(0x200) as usize * 4,
                    1 => PENDING_BASE + g.below(40) as usize * 4,
                    2 => ENABLE_BASE + g.below(5) as usize * ENABLE_STRIDE + g.below(40) as usize * 4,
                    3 => CONTEXT_BASE + g.below(5) as usize * CONTEXT_STRIDE + g.below(3) as usize * 4,
                    _ => g.below(0x40_0000) as usize,
                };
                let width = g.pick(&[Width::B32, Width::B32, Width::B8, Width::B64]);
                match g.below(4) {
                    0 => {
                        if let Ok(v) = p.access(&mut h, off, width, MmioOp::Read) {
                            if off >= CONTEXT_BASE && (off - CONTEXT_BASE) % CONTEXT_STRIDE == 4 {
                                assert!(v == 0 || p.valid(v as u32), "claimed a source that does not exist");
                            }
                        }
                    }
                    1 => {
                        let _ = p.access(&mut h, off, width, MmioOp::Write(g.value()));
                    }
                    _ => p.set_level(&mut h, g.below(120) as u32, g.bool()),
                }
                for k in 0..2 {
                    let last = h.eip.iter().rev().find(|e| e.0 == k).is_some_and(|e| e.1);
                    assert_eq!(last, p.best(2 * k + 1) != 0, "vCPU {k}'s output follows the state");
                }
            }
        });
    }
}
