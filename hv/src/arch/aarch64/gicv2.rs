//! The physical GICv2 as hv drives it: the distributor once, each pCPU's banked interrupts and
//! CPU interface (EOImode = 1), and the hypervisor interface (GICH list registers, where a
//! hardware interrupt's deactivation comes back as an EOI maintenance interrupt, see `Lr::to_v2`). The guest's GICC window is the GICV frame, mapped by stage 2,
//! so guest acknowledges and EOIs never trap. Addresses come from the machine description.
use super::gic_io::{rd32, wr32, wr8};
use super::vgic_config::ARM;
use crate::arch::aarch64::vgic::{Lr, LrBank};
use crate::desc::GicDesc;
use crate::machine::{PAGE_TABLES, VM_GICC_PAGE};
use core::sync::atomic::{AtomicU64, Ordering};
use hv_types::VmId;

const GICD_CTLR: usize = 0x0;
const GICD_ISENABLER: usize = 0x100;
const GICD_ICACTIVER: usize = 0x380;
const GICD_IPRIORITYR: usize = 0x400;
const GICD_ITARGETSR: usize = 0x800;
const GICD_SGIR: usize = 0xF00;
const GICC_CTLR: usize = 0x0;
const GICC_PMR: usize = 0x4;
const GICC_IAR: usize = 0xC;
const GICC_EOIR: usize = 0x10;
const GICC_IIDR: usize = 0xFC;
const GICC_DIR: usize = 0x1000;
const GICD_PIDR2: usize = 0xFE8;
const GICH_HCR: usize = 0x0;
const GICH_VTR: usize = 0x4;
const GICH_VMCR: usize = 0x8;
const GICH_EISR0: usize = 0x20;
const GICH_ELRSR0: usize = 0x30;
const GICH_LR: usize = 0x100;
const HCR_EN: u32 = 1;
const HCR_UIE: u32 = 1 << 1;
/// EnableGrp0 | EnableGrp1 | EOImodeS | EOImodeNS: whichever view the GIC gives EL2, priority
/// drop and deactivation are split.
const GICC_CTLR_ON: u32 = 1 | (1 << 1) | (1 << 9) | (1 << 10);

struct Frames {
    dist: usize,
    cpu: usize,
    hyp: usize,
}

fn frames() -> Frames {
    match ARM.gic {
        GicDesc::V2 { dist, cpu, hyp, .. } => {
            Frames { dist: dist.0 as usize, cpu: cpu.0 as usize, hyp: hyp.0 as usize }
        }
        GicDesc::V3 { .. } => unreachable!("gicv2 used on a GICv3 board"),
    }
}

/// Do the frames the description names identify as what they are named? A frame named for
/// another (the hypervisor and virtual CPU interfaces swapped) builds, since nothing in the
/// description shows it, but hv would drive the wrong registers. Checked before any is written:
/// the distributor's PIDR2 architecture revision is 1 or 2; GICH_VTR gives at least 5 priority
/// bits (a CPU interface has its PMR, reset 0, at that offset); both CPU interfaces have an IIDR
/// (the hypervisor interface reads 0 there, reserved).
pub fn identify() -> Result<(), &'static str> {
    let GicDesc::V2 { dist, cpu, hyp, vcpu } = ARM.gic else {
        return Err("a GICv2 driver on a GICv3 board");
    };
    let (dist, cpu, hyp, vcpu) = (dist.0 as usize, cpu.0 as usize, hyp.0 as usize, vcpu.0 as usize);
    if !matches!((rd32(dist + GICD_PIDR2) >> 4) & 0xF, 1 | 2) {
        return Err("the frame named `dist` is not a GICv2 distributor (GICD_PIDR2.ArchRev is not 1 or 2)");
    }
    if rd32(hyp + GICH_VTR) >> 29 < 4 {
        return Err(
            "the frame named `hyp` is not a GICv2 hypervisor interface (GICH_VTR gives no priority bits)",
        );
    }
    if rd32(cpu + GICC_IIDR) == 0 {
        return Err("the frame named `cpu` is not a GICv2 CPU interface (GICC_IIDR reads 0)");
    }
    if rd32(vcpu + GICC_IIDR) == 0 {
        return Err("the frame named `vcpu` is not a GICv2 virtual CPU interface (GICV_IIDR reads 0)");
    }
    Ok(())
}

/// A stage-2 descriptor's valid bit.
const DESC_VALID: u64 = 1;

/// The stage-2 descriptor of the first page of `vm`'s CPU interface (GICV_IAR is in it).
fn gicc_page(vm: VmId) -> Option<&'static AtomicU64> {
    let (t, e) = (*VM_GICC_PAGE.get(vm.0)?)?;
    PAGE_TABLES.entry(t, e)
}

/// Trap `vm`'s next access to the first page of its CPU interface (its acknowledge among them),
/// or stop. GICv2 has no trap register for that (GICv3 has ICH_HCR_EL2.TALL1): the page is
/// unmapped in the VM's stage 2 instead, and the guest's access, run again once hv has looked
/// (`irq::check_acks`), finds it mapped.
pub fn watch_acks(vm: VmId, on: bool) {
    let Some(d) = gicc_page(vm) else { return };
    if on {
        if d.fetch_and(!DESC_VALID, Ordering::AcqRel) & DESC_VALID != 0 {
            let ipa = frames().cpu as u64;
            // SAFETY: invalidates the stage-2 (and combined) TLB entries of the running VM for
            // the page just unmapped, in the inner-shareable domain (its vCPUs on other pCPUs);
            // the barriers order the descriptor write before, and the invalidation before the
            // guest resumes. No memory is accessed.
            unsafe {
                core::arch::asm!("dsb ishst", "tlbi ipas2e1is, {}", "dsb ish", "tlbi vmalle1is", "dsb ish", "isb",
                    in(reg) ipa >> 12)
            };
        }
    } else if d.fetch_or(DESC_VALID, Ordering::AcqRel) & DESC_VALID == 0 {
        // SAFETY: makes the restored descriptor visible to the table walker before the guest
        // retries its access; an invalid entry is never cached, so no invalidation is needed.
        unsafe { core::arch::asm!("dsb ishst", "isb") };
    }
}

/// Is `ipa`, an access of `vm` that faulted, one to its CPU interface's first page while hv
/// watches acknowledges?
pub fn ack_trapped(vm: VmId, ipa: u64) -> bool {
    ipa.wrapping_sub(frames().cpu as u64) < 0x1000
        && gicc_page(vm).is_some_and(|d| d.load(Ordering::Acquire) & DESC_VALID == 0)
}

/// Enable the distributor (boot CPU, once). Everything stays Group 0, signalled as IRQ.
pub fn init_distributor() {
    wr32(frames().dist + GICD_CTLR, 0b11);
}

/// Enable this pCPU's banked interrupts `intids` at `priority` and its CPU interface.
pub fn init_cpu(intids: &[u32], priority: u8) {
    let f = frames();
    for &i in intids {
        wr8(f.dist + GICD_IPRIORITYR + i as usize, priority);
        wr32(f.dist + GICD_ISENABLER, 1 << i);
    }
    wr32(f.cpu + GICC_PMR, 0xFF);
    wr32(f.cpu + GICC_CTLR, GICC_CTLR_ON);
}

/// Route SPI `intid` to `pcpu` and enable it.
pub fn route_spi(intid: u32, pcpu: usize, priority: u8) {
    let f = frames();
    wr8(f.dist + GICD_IPRIORITYR + intid as usize, priority);
    wr8(f.dist + GICD_ITARGETSR + intid as usize, 1 << pcpu);
    wr32(f.dist + GICD_ISENABLER + 4 * (intid as usize / 32), 1 << (intid % 32));
}

/// Acknowledge: the full IAR (an SGI carries its source CPU), 1020..=1023 when none.
pub fn ack() -> u32 {
    rd32(frames().cpu + GICC_IAR)
}

pub fn priority_drop(iar: u32) {
    wr32(frames().cpu + GICC_EOIR, iar);
}

pub fn deactivate(iar: u32) {
    wr32(frames().cpu + GICC_DIR, iar);
}

/// Deactivate `intid` held back from a guest. Private interrupts are banked, so only the pCPU
/// that owns one can (its vCPU is the only one that sees it on GICv2).
pub fn release(intid: u32, pcpu: usize, this: usize) {
    if intid >= 32 || pcpu == this {
        wr32(frames().dist + GICD_ICACTIVER + 4 * (intid as usize / 32), 1 << (intid % 32));
    }
}

/// Send SGI `intid` to `pcpu`.
pub fn send_sgi(intid: u32, pcpu: usize) {
    wr32(frames().dist + GICD_SGIR, (1 << (16 + pcpu)) | (intid & 0xF));
}

/// Enable the virtual CPU interface for the vCPU about to run on this pCPU.
pub fn enable_virtual_interface() {
    let h = frames().hyp;
    wr32(h + GICH_VMCR, 0);
    wr32(h + GICH_HCR, HCR_EN);
}

pub fn disable_virtual_interface() {
    wr32(frames().hyp + GICH_HCR, 0);
}

/// Finish the guest's deactivations of hardware interrupts (see `Lr::to_v2`): deactivate each
/// physical INTID and free its list register. The maintenance interrupt calls this.
pub fn complete_eois() {
    let h = frames().hyp;
    let mut eisr = rd32(h + GICH_EISR0);
    while eisr != 0 {
        let i = eisr.trailing_zeros() as usize;
        eisr &= eisr - 1;
        let _ = GichBank.read(i);
    }
}

/// This pCPU's list registers (GICH_LR<n>, translated to the common layout).
pub struct GichBank;

impl LrBank for GichBank {
    fn count(&self) -> usize {
        (rd32(frames().hyp + GICH_VTR) as usize & 0x3F) + 1
    }
    /// A register the guest has deactivated but whose physical INTID is still active is
    /// completed here, before anyone can see it as free and overwrite it: a lost physical
    /// deactivation would silence that interrupt for good.
    fn read(&self, i: usize) -> Lr {
        let (h, f) = (frames().hyp, frames());
        let v = rd32(h + GICH_LR + 4 * i);
        if let Some(intid) = Lr::v2_eoi_done(v) {
            if intid < 32 {
                wr32(f.cpu + GICC_DIR, intid);
            } else {
                // An SPI may have been acknowledged by another pCPU's CPU interface (the guest
                // routed it to a vCPU elsewhere): deactivate it at the distributor, which any
                // CPU may do, rather than at this CPU interface, where it is not active.
                wr32(f.dist + GICD_ICACTIVER + 4 * (intid as usize / 32), 1 << (intid % 32));
            }
            wr32(h + GICH_LR + 4 * i, 0);
        }
        Lr::from_v2(v)
    }
    fn write(&mut self, i: usize, lr: Lr) {
        wr32(frames().hyp + GICH_LR + 4 * i, lr.to_v2());
    }
    fn set_underflow_irq(&mut self, on: bool) {
        let h = frames().hyp + GICH_HCR;
        wr32(h, if on { HCR_EN | HCR_UIE } else { HCR_EN });
    }
    /// GICH_ELRSR0, after completing the guest's deactivations (an emptied register whose
    /// physical INTID still awaits deactivation must not look free).
    fn empty(&self) -> u32 {
        complete_eois();
        rd32(frames().hyp + GICH_ELRSR0)
    }
}
