//! A VM's virtual GIC distributor (GICv2 or GICv3 programming model): the SPIs and the
//! distributor's registers, shared by the VM's vCPUs. Each vCPU's private interrupts live with
//! that vCPU (host.rs); the GICv2 banked registers reach them through `DistHost::private`.
//! Delivery goes through the hardware list registers (see lines.rs). Reserved and unimplemented registers are RAZ/WI, as
//! the GIC architecture says of reserved space.
use super::dist_host::DistHost;
use super::host::VgicHost;
use super::lines::{self, byte, Level, Op, Route, View, Word};
use super::private;
use super::redist::VGicr;
use hv_mmio::{MmioFault, MmioOp, Width};

/// INTIDs each VM's virtual GIC implements: SGIs, PPIs and 96 SPIs (INTID 32..=127).
pub const LINES: usize = hv_types::VGIC_INTIDS as usize;
const WORDS: usize = LINES / 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

const CTLR_V2_ENABLE: u32 = 1;
/// GICv3, single security state: EnableGrp1 (bit 1); ARE and DS read as one.
const CTLR_V3_GRP1: u32 = 1 << 1;
const CTLR_V3_ARE: u32 = 1 << 4;
const CTLR_V3_DS: u32 = 1 << 6;
const IROUTER_IRM: u64 = 1 << 31;

// Array lengths are literals (the derive reads them): WORDS, LINES / 4, LINES / 16, LINES.
const _: () = assert!(WORDS == 4 && LINES == 128);

/// The registers of the distributor. For the set/clear pairs, the set field holds the state of
/// the SPIs (word 0 is per vCPU, in its private state) and the clear twin has none of its own.
#[derive(hv_mmio::MmioDevice)]
#[mmio(size = 0x1_0000, compatible = ["arm,gic-400"], unmapped = RazWi, context = DistHost)]
pub struct VGicd {
    #[reg(offset = 0x000, read = Self::read_ctlr, write = Self::write_ctlr)]
    ctlr: u32,
    #[reg(offset = 0x004, read_only)]
    typer: u32,
    #[reg(offset = 0x008, read_only)]
    iidr: u32,
    #[reg(offset = 0x080, read = Self::read_group, write = Self::ignore)]
    igroupr: [u32; 4],
    #[reg(offset = 0x100, read = Self::read_enable, write = Self::write_isenabler)]
    isenabler: [u32; 4],
    #[reg(offset = 0x180, read = Self::read_enable, write = Self::write_icenabler)]
    icenabler: [u32; 4],
    #[reg(offset = 0x200, read = Self::read_pending, write = Self::write_ispendr)]
    ispendr: [u32; 4],
    #[reg(offset = 0x280, read = Self::read_pending, write = Self::write_icpendr)]
    icpendr: [u32; 4],
    #[reg(offset = 0x300, read = Self::read_active, write = Self::write_isactiver)]
    isactiver: [u32; 4],
    #[reg(offset = 0x380, read = Self::read_active, write = Self::write_icactiver)]
    icactiver: [u32; 4],
    #[reg(offset = 0x400, read = Self::read_priority, write = Self::write_priority, widths(8, 32))]
    ipriorityr: [u32; 32],
    /// GICv2 only (GICv3 routes with `irouter`).
    #[reg(offset = 0x800, read = Self::read_targets, write = Self::write_targets, widths(8, 32))]
    itargetsr: [u32; 32],
    #[reg(offset = 0xC00, read = Self::read_cfg, write = Self::write_cfg)]
    icfgr: [u32; 8],
    /// GICv2 software-generated interrupts (write-only).
    #[reg(offset = 0xF00, read = Self::zero, write = Self::write_sgir)]
    sgir: u32,
    /// GICv2: clear / set SGI pending state, a byte per SGI, a bit per source vCPU.
    #[reg(offset = 0xF10, read = Self::read_sgi_pending, write = Self::write_cpendsgir, widths(8, 32))]
    cpendsgir: [u32; 4],
    #[reg(offset = 0xF20, read = Self::read_sgi_pending, write = Self::write_spendsgir, widths(8, 32))]
    spendsgir: [u32; 4],
    /// GICv3 only; entries below INTID 32 are reserved.
    #[reg(offset = 0x6000, read = Self::read_router, write = Self::write_router, widths(32, 64))]
    irouter: [u64; 128],
    #[reg(offset = 0xFFE8, read_only)]
    pidr2: u32,
    version: Version,
    /// vCPUs of the VM.
    n: usize,
    /// SPIs backed by the same physical INTID (passthrough devices).
    hw_spis: [u32; WORDS],
    /// Of those, the ones the guest set pending itself (ISPENDR): the GIC's software latch,
    /// pending whatever the line does until taken or cleared, and delivered unlinked.
    soft_spis: [u32; WORDS],
}

impl Version {
    /// GICD_PIDR2 / GICR_PIDR2: ArchRev in bits 7:4.
    pub const fn pidr2(self) -> u32 {
        match self {
            Version::V2 => 0x2B,
            Version::V3 => 0x3B,
        }
    }
}

/// vCPU `k`'s private interrupt state at power-on, in a VM of `vcpus` on a GIC of `version`;
/// `hw_ppis` (INTID bits) are the PPIs hardware delivers (the EL1 timers).
pub const fn private_state(version: Version, k: usize, vcpus: usize, hw_ppis: u32) -> VGicr {
    VGicr::new(k, vcpus, hw_ppis, version.pidr2())
}

impl VGicd {
    /// A reset distributor for `vcpus` (1..=8) vCPUs. `hw_spis` names (as INTID bits) the SPIs
    /// hardware delivers: passthrough devices'.
    pub const fn new(version: Version, vcpus: usize, hw_spis: [u32; WORDS]) -> Self {
        assert!(vcpus >= 1 && vcpus <= 8, "a GIC names at most 8 CPUs by target bits");
        let pidr2 = version.pidr2();
        // GICv3 reports 10 INTID bits (IDbits = 9); both report the lines and, for GICv2, CPUs.
        let v3_bits = if matches!(version, Version::V3) { 9 << 19 } else { 0 };
        VGicd {
            ctlr: 0,
            typer: v3_bits | (((vcpus as u32 - 1) & 7) << 5) | (WORDS as u32 - 1),
            iidr: super::redist::IIDR,
            igroupr: [0; WORDS],
            isenabler: [0; WORDS],
            icenabler: [0; WORDS],
            ispendr: [0; WORDS],
            icpendr: [0; WORDS],
            isactiver: [0; WORDS],
            icactiver: [0; WORDS],
            ipriorityr: [0; LINES / 4],
            // GICv2 SPIs start out aimed at vCPU 0, so a uniprocessor guest works untouched.
            itargetsr: [0x0101_0101; LINES / 4],
            icfgr: [0; LINES / 16],
            sgir: 0,
            cpendsgir: [0; 4],
            spendsgir: [0; 4],
            irouter: [0; LINES],
            pidr2,
            version,
            n: vcpus,
            hw_spis,
            soft_spis: [0; WORDS],
        }
    }

    /// Back to the state `new` gave it (the VM restarts). What hardware delivers stays.
    pub fn reset(&mut self) {
        *self = Self::new(self.version, self.n, self.hw_spis);
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// A guest access to the distributor frame by vCPU `ctx.vcpu()`.
    pub fn access<H: DistHost>(
        &mut self,
        ctx: &mut H,
        offset: usize,
        width: Width,
        op: MmioOp,
    ) -> Result<u64, MmioFault> {
        if self.version == Version::V2 && matches!(op, MmioOp::Write(_)) && (0x400..0x420).contains(&offset) {
            // Byte writes to the banked priority words merge with the caller's bank.
            let k = self.me(ctx);
            let bank = &mut self.ipriorityr[..8];
            ctx.private(k, |r, _| bank.copy_from_slice(r.priorities()));
        }
        self.mmio_access(ctx, offset, width, op)
    }

    /// The accessing vCPU, as an index that exists.
    fn me<H: VgicHost>(&self, ctx: &H) -> usize {
        ctx.vcpu().min(self.n - 1)
    }

    fn on(&self) -> bool {
        self.ctlr
            & match self.version {
                Version::V2 => CTLR_V2_ENABLE,
                Version::V3 => CTLR_V3_GRP1,
            }
            != 0
    }

    /// Where SPI `intid` goes, as the guest programmed it.
    fn route(&self, intid: u32) -> Route {
        let i = intid as usize;
        let vcpu = match self.version {
            Version::V2 => {
                let t = byte(self.itargetsr[i / 4], intid);
                (t != 0).then(|| t.trailing_zeros() as usize).filter(|&k| k < self.n)
            }
            Version::V3 => {
                let r = self.irouter[i];
                if r & IROUTER_IRM != 0 {
                    Some(0)
                } else {
                    (r & 0xFF_0000_FF00 == 0).then_some((r & 0xFF) as usize).filter(|&k| k < self.n)
                }
            }
        };
        Route {
            vcpu,
            priority: byte(self.ipriorityr[i / 4], intid),
            hw: (self.hw_spis[i / 32] & !self.soft_spis[i / 32]) & (1 << (i % 32)) != 0,
            source: 0,
        }
    }

    /// Perform `op` on the SPIs set in `mask` of word `w` (>= 1).
    fn op<H: DistHost>(&mut self, ctx: &mut H, w: usize, mask: u32, op: Op) {
        let mut word =
            Word { enabled: self.isenabler[w], pending: self.ispendr[w], active: self.isactiver[w] };
        lines::apply(ctx, &mut word, (w * 32) as u32, mask, op, self.on(), |i| self.route(i));
        (self.isenabler[w], self.ispendr[w], self.isactiver[w]) = (word.enabled, word.pending, word.active);
    }

    /// Set/clear register word `w`: word 0 is the caller's private interrupts on GICv2 and
    /// RAZ/WI on GICv3 (where the redistributor has them).
    fn word_op<H: DistHost>(&mut self, ctx: &mut H, w: usize, mask: u32, op: Op) {
        match (w, self.version) {
            (0, Version::V2) => {
                let k = self.me(ctx);
                ctx.private(k, |r, h| match op {
                    Op::SetPending => r.set_pending(h, mask),
                    Op::ClearPending => r.clear_pending(h, mask),
                    _ => r.op(h, mask, op),
                });
            }
            (0, Version::V3) => {}
            _ => self.op(ctx, w, mask, op),
        }
    }

    fn word_view<H: DistHost>(&mut self, ctx: &mut H, w: usize, which: View) -> u32 {
        match (w, self.version) {
            (0, Version::V2) => {
                let k = self.me(ctx);
                ctx.private(k, |r, h| r.view(h, which)).unwrap_or(0)
            }
            (0, Version::V3) => 0,
            _ => {
                if which == View::Pending {
                    self.drop_stale_spis(ctx, w);
                }
                let latched = if which == View::Pending { self.ispendr[w] } else { self.isactiver[w] };
                lines::view(ctx, latched, (w * 32) as u32, which, |i| self.route(i))
            }
        }
    }

    /// A passthrough SPI fired (hardware).
    pub fn fire<H: DistHost>(&mut self, ctx: &mut H, intid: u32) {
        if (32..LINES as u32).contains(&intid) {
            let (w, m) = (intid as usize / 32, 1 << (intid % 32));
            if self.soft_spis[w] & m != 0 {
                // The line itself is high now: the guest's own unlinked copy gives way to the
                // hardware-linked one, whose deactivation releases the physical interrupt.
                self.soft_spis[w] &= !m;
                if let Some(k) = self.route(intid).vcpu {
                    ctx.take(k, intid, true, false);
                }
            }
            self.op(ctx, w, m, Op::SetPending)
        }
    }

    /// Passthrough SPIs of word `w` are level-sensitive: one whose physical line is low is no
    /// longer pending, latched here or waiting (not yet acknowledged) with its vCPU, and its
    /// physical twin is released. A pending state the guest set itself stays.
    fn drop_stale_spis<H: DistHost>(&mut self, ctx: &mut H, w: usize) {
        for b in lines::bits(self.hw_spis[w]) {
            let (intid, m) = ((w * 32) as u32 + b, 1 << b);
            let (k, soft) = (self.route(intid).vcpu, self.soft_spis[w] & m != 0);
            if lines::drop_if_low(ctx, &mut self.ispendr[w], m, intid, k, soft) == Level::LatchGone {
                self.soft_spis[w] &= !m;
            }
        }
    }

    /// An emulated device's SPI `intid` changed level: raise it, or withdraw it while it is
    /// still only pending.
    pub fn set_level<H: DistHost>(&mut self, ctx: &mut H, intid: u32, level: bool) {
        if (32..LINES as u32).contains(&intid) {
            let op = if level { Op::SetPending } else { Op::ClearPending };
            self.op(ctx, intid as usize / 32, 1 << (intid % 32), op);
        }
    }

    fn zero<H: DistHost>(&mut self, _: &mut H) -> u32 {
        0
    }
    fn ignore<H: DistHost>(&mut self, _: &mut H, _: usize, _: u32) {}

    fn read_ctlr<H: DistHost>(&mut self, _: &mut H) -> u32 {
        match self.version {
            Version::V2 => self.ctlr,
            Version::V3 => self.ctlr | CTLR_V3_ARE | CTLR_V3_DS,
        }
    }

    fn write_ctlr<H: DistHost>(&mut self, ctx: &mut H, v: u32) {
        let was = self.on();
        self.ctlr = v & match self.version {
            Version::V2 => CTLR_V2_ENABLE,
            Version::V3 => CTLR_V3_GRP1,
        };
        let on = self.on();
        for k in 0..self.n {
            ctx.private(k, |r, _| r.group_on = on);
        }
        if on && !was {
            self.sweep(ctx);
        }
    }

    /// Retry every latched interrupt (the distributor was enabled, or a vCPU's queue that had
    /// refused deliveries has room again).
    pub fn sweep<H: DistHost>(&mut self, ctx: &mut H) {
        for k in 0..self.n {
            private::sweep(ctx, k);
        }
        for w in 1..WORDS {
            let latched = self.ispendr[w];
            self.op(ctx, w, latched, Op::SetPending);
        }
    }

    /// GICv2 guests use Group 0 (RAZ); GICv3 guests are all Group 1 (RAO).
    fn read_group<H: DistHost>(&mut self, _: &mut H, _: usize) -> u32 {
        match self.version {
            Version::V2 => 0,
            Version::V3 => u32::MAX,
        }
    }

    fn read_enable<H: DistHost>(&mut self, ctx: &mut H, w: usize) -> u32 {
        match (w, self.version) {
            (0, Version::V2) => ctx.private(self.me(ctx), |r, _| r.enabled()).unwrap_or(0),
            (0, Version::V3) => 0,
            _ => self.isenabler[w],
        }
    }
    fn write_isenabler<H: DistHost>(&mut self, ctx: &mut H, w: usize, v: u32) {
        self.word_op(ctx, w, v, Op::Enable);
    }
    fn write_icenabler<H: DistHost>(&mut self, ctx: &mut H, w: usize, v: u32) {
        self.word_op(ctx, w, v, Op::Disable);
    }
    fn read_pending<H: DistHost>(&mut self, ctx: &mut H, w: usize) -> u32 {
        self.word_view(ctx, w, View::Pending)
    }
    fn write_ispendr<H: DistHost>(&mut self, ctx: &mut H, w: usize, v: u32) {
        // SGIs are made pending through GICD_SGIR / ICC_SGI1R_EL1, not here.
        let v = if w == 0 { v & !0xFFFF } else { v };
        if let Some(soft) = self.soft_spis.get_mut(w).filter(|_| w > 0) {
            *soft |= v & self.hw_spis[w];
        }
        self.word_op(ctx, w, v, Op::SetPending);
    }
    fn write_icpendr<H: DistHost>(&mut self, ctx: &mut H, w: usize, v: u32) {
        let v = if w == 0 { v & !0xFFFF } else { v };
        self.word_op(ctx, w, v, Op::ClearPending);
        if let Some(soft) = self.soft_spis.get_mut(w).filter(|_| w > 0) {
            *soft &= !v;
        }
    }
    fn read_active<H: DistHost>(&mut self, ctx: &mut H, w: usize) -> u32 {
        self.word_view(ctx, w, View::Active)
    }
    fn write_isactiver<H: DistHost>(&mut self, ctx: &mut H, w: usize, v: u32) {
        self.word_op(ctx, w, v, Op::SetActive);
    }
    fn write_icactiver<H: DistHost>(&mut self, ctx: &mut H, w: usize, v: u32) {
        self.word_op(ctx, w, v, Op::ClearActive);
    }

    fn read_priority<H: DistHost>(&mut self, ctx: &mut H, i: usize) -> u32 {
        match (i, self.version) {
            (0..8, Version::V2) => ctx.private(self.me(ctx), |r, _| r.priorities()[i]).unwrap_or(0),
            (0..8, Version::V3) => 0,
            _ => self.ipriorityr[i],
        }
    }
    fn write_priority<H: DistHost>(&mut self, ctx: &mut H, i: usize, v: u32) {
        match (i, self.version) {
            (0..8, Version::V2) => {
                ctx.private(self.me(ctx), |r, _| r.priorities()[i] = v);
            }
            (0..8, Version::V3) => {}
            _ => self.ipriorityr[i] = v,
        }
    }

    fn read_targets<H: DistHost>(&mut self, ctx: &mut H, i: usize) -> u32 {
        match (i, self.version) {
            (_, Version::V3) => 0,
            // Banked, read-only: each private interrupt targets the reading vCPU.
            (0..8, Version::V2) => 0x0101_0101 << self.me(ctx),
            _ => self.itargetsr[i],
        }
    }
    fn write_targets<H: DistHost>(&mut self, ctx: &mut H, i: usize, v: u32) {
        if self.version == Version::V3 || i < 8 {
            return;
        }
        // Only vCPUs that exist can be targets.
        let exist = 0x0101_0101 * ((1u32 << self.n) - 1);
        self.itargetsr[i] = v & exist;
        // A latched interrupt may have gained a target.
        let w = i / 8;
        let mask = self.ispendr[w] & (0xF << ((i % 8) * 4));
        self.op(ctx, w, mask, Op::SetPending);
    }

    fn read_cfg<H: DistHost>(&mut self, ctx: &mut H, i: usize) -> u32 {
        match (i, self.version) {
            (0 | 1, Version::V2) => ctx.private(self.me(ctx), |r, _| r.icfgr(i)).unwrap_or(0),
            (0 | 1, Version::V3) => 0,
            _ => self.icfgr[i],
        }
    }
    /// SPIs' Int_config bits (odd bits) are writable; the rest read as written by reset.
    fn write_cfg<H: DistHost>(&mut self, _: &mut H, i: usize, v: u32) {
        if i >= 2 {
            self.icfgr[i] = v & 0xAAAA_AAAA;
        }
    }

    /// GICD_SGIR: TargetListFilter 25:24, CPUTargetList 23:16, INTID 3:0.
    fn write_sgir<H: DistHost>(&mut self, ctx: &mut H, v: u32) {
        if self.version == Version::V3 {
            return;
        }
        let me = self.me(ctx);
        let targets = match (v >> 24) & 3 {
            0 => (v >> 16) & 0xFF,
            1 => !(1 << me),
            2 => 1 << me,
            _ => 0,
        };
        private::send_sgi(ctx, me, v & 0xF, targets);
    }

    /// Byte n of word i: SGI 4i+n, with the bit of the vCPU that sent its pending instance.
    fn read_sgi_pending<H: DistHost>(&mut self, ctx: &mut H, i: usize) -> u32 {
        if self.version == Version::V3 {
            return 0;
        }
        let k = self.me(ctx);
        ctx.private(k, |r, h| {
            let pending = r.view(h, View::Pending);
            (0..4u32)
                .filter(|b| pending & (1 << (4 * i as u32 + b)) != 0)
                .map(|b| (1u32 << r.route(4 * i as u32 + b).source) << (8 * b))
                .sum()
        })
        .unwrap_or(0)
    }
    fn write_cpendsgir<H: DistHost>(&mut self, ctx: &mut H, i: usize, v: u32) {
        self.sgi_pending(ctx, i, v, false);
    }
    fn write_spendsgir<H: DistHost>(&mut self, ctx: &mut H, i: usize, v: u32) {
        self.sgi_pending(ctx, i, v, true);
    }
    /// One pending instance per SGI is kept, so any source bit sets or clears it.
    fn sgi_pending<H: DistHost>(&mut self, ctx: &mut H, i: usize, v: u32, set: bool) {
        if self.version == Version::V3 {
            return;
        }
        let k = self.me(ctx);
        ctx.private(k, |r, h| {
            for b in 0..4 {
                let sources = (v >> (8 * b)) & 0xFF;
                let intid = 4 * i as u32 + b;
                if sources == 0 {
                    continue;
                }
                if set {
                    r.send_sgi(h, intid, sources.trailing_zeros() as usize);
                } else {
                    r.op(h, 1 << intid, Op::ClearPending);
                }
            }
        });
    }

    fn read_router<H: DistHost>(&mut self, _: &mut H, i: usize) -> u64 {
        if self.version == Version::V3 && i >= 32 {
            self.irouter[i]
        } else {
            0
        }
    }
    fn write_router<H: DistHost>(&mut self, ctx: &mut H, i: usize, v: u64) {
        if self.version == Version::V2 || i < 32 {
            return;
        }
        // Interrupt_Routing_Mode and Aff3/2/1/0 are kept; the rest is RES0.
        self.irouter[i] = v & 0xFF_0000_80FF_FFFF;
        let mask = self.ispendr[i / 32] & (1 << (i % 32));
        self.op(ctx, i / 32, mask, Op::SetPending);
    }
}
