//! One vCPU's private interrupts (SGIs 0-15, PPIs 16-31). On GICv3 this is the vCPU's emulated
//! redistributor (RD_base and SGI_base frames); on GICv2 the distributor shows the same state
//! as its banked first words.
use super::host::VgicHost;
use super::lines::{self, byte, Level, Op, Route, View, Word};

/// The implementer the distributor and redistributors report: ARM, product 0, revision 0.
pub const IIDR: u32 = 0x43B;

/// GICR_TYPER.Last: the highest redistributor in the guest's region.
const TYPER_LAST: u64 = 1 << 4;
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
/// GICR_ICFGR0/1: SGIs are edge-triggered, PPIs level (fixed, read-only).
const ICFGR_SGI_EDGE: u32 = 0xAAAA_AAAA;

/// The `isenabler0`, `ispendr0` and `isactiver0` fields hold the enabled bits and the latched
/// pending and active bits. Their clear twins (`icenabler0`, ...) have no state of their own:
/// they read the same as the set register and write-1-to-clear it.
#[derive(hv_mmio::MmioDevice, Clone, Copy)]
#[mmio(size = 0x2_0000, compatible = ["arm,gic-v3"], unmapped = RazWi, context = VgicHost)]
pub struct VGicr {
    /// EnableLPIs is RES0 without LPIs.
    #[reg(offset = 0x0000, read_only)]
    ctlr: u32,
    #[reg(offset = 0x0004, read_only)]
    iidr: u32,
    #[reg(offset = 0x0008, read_only, widths(32, 64))]
    typer: u64,
    #[reg(offset = 0x0014, write = Self::write_waker)]
    waker: u32,
    #[reg(offset = 0xFFE8, read_only)]
    pidr2: u32,
    /// Every interrupt is Group 1 (non-secure); RAO/WI.
    #[reg(offset = 0x1_0080, read_only)]
    igroupr0: u32,
    #[reg(offset = 0x1_0100, read = Self::read_enable, write = Self::write_isenabler)]
    isenabler0: u32,
    #[reg(offset = 0x1_0180, read = Self::read_enable, write = Self::write_icenabler)]
    icenabler0: u32,
    #[reg(offset = 0x1_0200, read = Self::read_pending, write = Self::write_ispendr)]
    ispendr0: u32,
    #[reg(offset = 0x1_0280, read = Self::read_pending, write = Self::write_icpendr)]
    icpendr0: u32,
    #[reg(offset = 0x1_0300, read = Self::read_active, write = Self::write_isactiver)]
    isactiver0: u32,
    #[reg(offset = 0x1_0380, read = Self::read_active, write = Self::write_icactiver)]
    icactiver0: u32,
    #[reg(offset = 0x1_0400, widths(8, 32))]
    ipriorityr: [u32; 8],
    #[reg(offset = 0x1_0C00, read_only)]
    icfgr: [u32; 2],
    /// This vCPU's index in its VM.
    index: u8,
    /// The distributor forwards interrupts (GICD_CTLR's group enable), mirrored here.
    pub(super) group_on: bool,
    /// PPIs backed by the same physical INTID (the EL1 timers).
    hw_ppis: u32,
    /// Hardware PPIs the guest set pending itself (ISPENDR): pending until it takes them or
    /// clears them, whatever the line, as the GIC keeps a level interrupt's software latch.
    /// They are delivered without the hardware link (no physical interrupt is active).
    soft: u32,
    /// `hw_ppis` less `soft`: what is delivered linked (kept apart so routing reads one word).
    linked: u32,
    /// Sender of each SGI's latest pending instance.
    sgi_source: [u8; 16],
}

impl VGicr {
    /// vCPU `index` of `vcpus`; `hw_ppis` are the PPIs (as INTID bits) hardware delivers.
    pub const fn new(index: usize, vcpus: usize, hw_ppis: u32, pidr2: u32) -> Self {
        let last = if index + 1 == vcpus { TYPER_LAST } else { 0 };
        VGicr {
            ctlr: 0,
            iidr: IIDR,
            // Affinity (Aff0 = vCPU index, as VMPIDR_EL2 says) and processor number.
            typer: ((index as u64) << 32) | ((index as u64) << 8) | last,
            waker: WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP,
            pidr2,
            igroupr0: u32::MAX,
            isenabler0: 0,
            icenabler0: 0,
            ispendr0: 0,
            icpendr0: 0,
            isactiver0: 0,
            icactiver0: 0,
            ipriorityr: [0; 8],
            icfgr: [ICFGR_SGI_EDGE, 0],
            index: index as u8,
            group_on: false,
            hw_ppis,
            soft: 0,
            linked: hw_ppis,
            sgi_source: [0; 16],
        }
    }

    /// Back to power-on state (the VM restarts); what identifies it and what hardware delivers
    /// stay.
    pub fn reset(&mut self) {
        let mut r = Self::new(self.index as usize, 1, self.hw_ppis, self.pidr2);
        r.typer = self.typer;
        *self = r;
    }

    fn write_waker<H: VgicHost>(&mut self, _: &mut H, v: u32) {
        // ChildrenAsleep follows ProcessorSleep at once: there is nothing to quiesce.
        let sleep = v & WAKER_PROCESSOR_SLEEP;
        self.waker = sleep | if sleep != 0 { WAKER_CHILDREN_ASLEEP } else { 0 };
    }

    /// How private INTID `intid` (< 32) of this vCPU is delivered.
    pub fn route(&self, intid: u32) -> Route {
        Route {
            vcpu: Some(self.index as usize),
            priority: byte(self.ipriorityr[intid as usize / 4], intid),
            hw: self.linked & (1 << intid) != 0,
            source: if intid < 16 { self.sgi_source[intid as usize] } else { 0 },
        }
    }

    fn word(&self) -> Word {
        Word { enabled: self.isenabler0, pending: self.ispendr0, active: self.isactiver0 }
    }

    fn set_word(&mut self, w: Word) {
        (self.isenabler0, self.ispendr0, self.isactiver0) = (w.enabled, w.pending, w.active);
    }

    /// Perform `op` on the private INTIDs set in `mask`.
    pub fn op<H: VgicHost>(&mut self, ctx: &mut H, mask: u32, op: Op) {
        let mut w = self.word();
        lines::apply(ctx, &mut w, 0, mask, op, self.group_on, |i| self.route(i));
        self.set_word(w);
    }

    /// Hardware PPIs (the EL1 timers) are level-sensitive: one whose line has dropped since it
    /// fired (the guest disabled, masked or rearmed its timer) is no longer pending, latched
    /// here or in a list register, and its physical twin is released. What the guest set
    /// pending itself stays until it is taken (then the latch is gone too).
    pub fn drop_stale<H: VgicHost>(&mut self, ctx: &mut H) {
        let k = Some(self.index as usize);
        for intid in lines::bits(self.hw_ppis) {
            let m = 1 << intid;
            let soft = self.soft & m != 0;
            if lines::drop_if_low(ctx, &mut self.ispendr0, m, intid, k, soft) == Level::LatchGone {
                self.set_soft(self.soft & !m);
            }
        }
    }

    /// Read the pending or active view of the private INTIDs. A hardware PPI whose line hv can
    /// see is pending exactly while its line is high (or the guest set it pending): whether hv
    /// has taken the physical interrupt yet, and whether the guest has it active, do not matter.
    pub fn view<H: VgicHost>(&mut self, ctx: &mut H, which: View) -> u32 {
        if which == View::Pending {
            self.drop_stale(ctx);
        }
        let latched = if which == View::Pending { self.ispendr0 } else { self.isactiver0 };
        let mut v = lines::view(ctx, latched, 0, which, |i| self.route(i));
        if which == View::Pending {
            let k = self.index as usize;
            for intid in lines::bits(self.hw_ppis) {
                if ctx.line(k, intid) == Some(true) {
                    v |= 1 << intid;
                }
            }
        }
        v
    }

    /// SGI `intid` from vCPU `source`: pending, and forwarded if it can be (the single-line
    /// path, as for `fire`: an IPI is frequent).
    pub fn send_sgi<H: VgicHost>(&mut self, ctx: &mut H, intid: u32, source: usize) {
        let intid = intid & 15;
        self.sgi_source[intid as usize] = source as u8;
        let m = 1 << intid;
        let mut w = self.word();
        w.pending |= m;
        lines::deliver_if_ready(ctx, &mut w, intid, m, self.group_on, self.route(intid));
        self.set_word(w);
    }

    /// A hardware PPI fired for this vCPU: forward it, or latch it (its physical twin stays
    /// active, so it cannot fire again before the guest can take it). This is the virtual
    /// timer's path on every tick, so it skips the general `op`.
    pub fn fire<H: VgicHost>(&mut self, ctx: &mut H, intid: u32) {
        let m = 1 << (intid & 31);
        if self.soft & m != 0 {
            return self.unlatch(ctx, intid & 31);
        }
        self.fire_linked(ctx, intid);
    }

    #[inline(always)]
    fn fire_linked<H: VgicHost>(&mut self, ctx: &mut H, intid: u32) {
        let m = 1 << (intid & 31);
        let mut w = self.word();
        w.pending |= m;
        lines::deliver_if_ready(ctx, &mut w, intid & 31, m, self.group_on, self.route(intid & 31));
        self.set_word(w);
    }

    /// Retry latched interrupts (the distributor was just enabled).
    pub fn sweep<H: VgicHost>(&mut self, ctx: &mut H) {
        let latched = self.ispendr0;
        self.op(ctx, latched, Op::SetPending);
    }

    pub fn hw_ppis(&self) -> u32 {
        self.hw_ppis
    }

    pub fn enabled(&self) -> u32 {
        self.isenabler0
    }
    pub fn priorities(&mut self) -> &mut [u32; 8] {
        &mut self.ipriorityr
    }
    pub fn icfgr(&self, i: usize) -> u32 {
        self.icfgr[i]
    }

    fn read_enable<H: VgicHost>(&mut self, _: &mut H) -> u32 {
        self.isenabler0
    }
    fn write_isenabler<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.op(ctx, v, Op::Enable);
    }
    fn write_icenabler<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.op(ctx, v, Op::Disable);
    }
    fn read_pending<H: VgicHost>(&mut self, ctx: &mut H) -> u32 {
        self.view(ctx, View::Pending)
    }
    fn write_ispendr<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.set_pending(ctx, v);
    }
    fn write_icpendr<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.clear_pending(ctx, v);
    }

    /// A guest's ISPENDR write (also GICv2's banked GICD_ISPENDR0): hardware PPIs it names get
    /// the software latch.
    pub fn set_pending<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.set_soft(self.soft | (v & self.hw_ppis));
        self.op(ctx, v, Op::SetPending);
    }

    /// A guest's ICPENDR write: clears the software latch too.
    pub fn clear_pending<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.op(ctx, v, Op::ClearPending);
        self.set_soft(self.soft & !v);
    }

    /// A hardware PPI the guest had set pending itself fired: the line is high now, so the
    /// guest's own unlinked copy gives way to the hardware-linked one, whose EOI releases the
    /// physical interrupt. Out of line, and in tail position: the tick path (`fire`) keeps
    /// its registers.
    #[cold]
    #[inline(never)]
    fn unlatch<H: VgicHost>(&mut self, ctx: &mut H, intid: u32) {
        self.set_soft(self.soft & !(1 << intid));
        ctx.take(self.index as usize, intid, true, false);
        self.fire_linked(ctx, intid);
    }

    fn set_soft(&mut self, soft: u32) {
        self.soft = soft;
        self.linked = self.hw_ppis & !soft;
    }
    fn read_active<H: VgicHost>(&mut self, ctx: &mut H) -> u32 {
        self.view(ctx, View::Active)
    }
    fn write_isactiver<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.op(ctx, v, Op::SetActive);
    }
    fn write_icactiver<H: VgicHost>(&mut self, ctx: &mut H, v: u32) {
        self.op(ctx, v, Op::ClearActive);
    }
}
