//! The physical GICv3 as hv drives it: the distributor once, each pCPU's redistributor and CPU
//! interface (ICC system registers), and the hypervisor interface (ICH list registers) that
//! delivers virtual interrupts. Addresses come from the machine description.
use super::gic_io::{rd32, wr32, wr8};
use super::vgic_config::ARM;
use crate::arch::aarch64::vgic::{Lr, LrBank};
use crate::desc::GicDesc;
use aarch64_cpu::registers::*;
use core::ptr::write_volatile;

const GICD_CTLR: usize = 0x0;
const CTLR_RWP: u32 = 1 << 31;
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
const CTLR_ARE: u32 = 1 << 4;
const GICR_STRIDE: usize = 0x2_0000;
const GICR_TYPER: usize = 0x8;
const GICR_WAKER: usize = 0x14;
const GICR_PIDR2: usize = 0xFFE8;
const GICD_PIDR2: usize = 0xFFE8;
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const SGI_BASE: usize = 0x1_0000;
const GICR_IGROUPR0: usize = SGI_BASE + 0x80;
const GICR_ISENABLER0: usize = SGI_BASE + 0x100;
const GICR_ISPENDR0: usize = SGI_BASE + 0x200;
const GICR_ICACTIVER0: usize = SGI_BASE + 0x380;
const GICR_IPRIORITYR: usize = SGI_BASE + 0x400;
const GICD_IGROUPR: usize = 0x80;
const GICD_ISENABLER: usize = 0x100;
const GICD_ICACTIVER: usize = 0x380;
const GICD_IPRIORITYR: usize = 0x400;
const GICD_IROUTER: usize = 0x6000;

fn bases() -> (usize, usize) {
    match ARM.gic {
        GicDesc::V3 { dist, redist } => (dist.0 as usize, redist.0 as usize),
        GicDesc::V2 { .. } => unreachable!("gicv3 used on a GICv2 board"),
    }
}

/// Do the frames the description names identify as a GICv3's? The distributor and each pCPU's
/// redistributor have a PIDR2 architecture revision of 3 or 4, and redistributor `i` is pCPU
/// `i`'s (GICR_TYPER's Aff0). Checked before any is written.
pub fn identify() -> Result<(), &'static str> {
    let GicDesc::V3 { dist, redist } = ARM.gic else {
        return Err("a GICv3 driver on a GICv2 board");
    };
    let arch = |a: usize| matches!((rd32(a) >> 4) & 0xF, 3 | 4);
    if !arch(dist.0 as usize + GICD_PIDR2) {
        return Err("the frame named `dist` is not a GICv3 distributor (GICD_PIDR2.ArchRev is not 3 or 4)");
    }
    for cpu in 0..crate::machine::NUM_CPUS {
        let rd = redist.0 as usize + cpu * GICR_STRIDE;
        if !arch(rd + GICR_PIDR2) {
            return Err(
                "the frames named `redist` are not GICv3 redistributors (GICR_PIDR2.ArchRev is not 3 or 4)",
            );
        }
        // GICR_TYPER[63:32] is the affinity; Aff0 in its low byte.
        if rd32(rd + GICR_TYPER + 4) & 0xFF != cpu as u32 {
            return Err(
                "redistributor i is not pCPU i's (GICR_TYPER's Aff0 differs): `redist` is not the first",
            );
        }
    }
    Ok(())
}

/// Is private interrupt `intid` pending at `pcpu`'s redistributor? For a level-sensitive one
/// hv never sets pending itself, that is its line.
pub fn ppi_pending(pcpu: usize, intid: u32) -> bool {
    let (_, redist) = bases();
    rd32(redist + pcpu * GICR_STRIDE + GICR_ISPENDR0) & (1 << (intid & 31)) != 0
}

/// Enable the distributor with affinity routing (boot CPU, once).
pub fn init_distributor() {
    let (dist, _) = bases();
    wr32(dist + GICD_CTLR, CTLR_ARE | CTLR_ENABLE_GRP1);
    while rd32(dist + GICD_CTLR) & CTLR_RWP != 0 {}
}

/// Wake this pCPU's redistributor, enable its private interrupts `intids` at `priority`, and
/// turn on the system-register CPU interface with split priority drop and deactivation.
pub fn init_cpu(cpu: usize, intids: &[u32], priority: u8) {
    let (_, redist) = bases();
    let rd = redist + cpu * GICR_STRIDE;
    wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & !WAKER_PROCESSOR_SLEEP);
    while rd32(rd + GICR_WAKER) & WAKER_CHILDREN_ASLEEP != 0 {}
    wr32(rd + GICR_IGROUPR0, u32::MAX);
    for &intid in intids {
        wr8(rd + GICR_IPRIORITYR + intid as usize, priority);
        wr32(rd + GICR_ISENABLER0, 1 << intid);
    }
    // SRE | DFB | DIB | Enable: system registers at EL2, and EL1 may use ICC_SRE_EL1.
    ICC_SRE_EL2.set(0xF);
    // SAFETY: GICv3 CPU-interface set-up at EL2: priority mask open, EOImode = 1 (EOIR only
    // drops priority so a guest's HW-linked EOI deactivates), Group 1 on. No memory effects.
    unsafe {
        core::arch::asm!(
            "isb",
            "msr icc_pmr_el1, {pmr}",
            "msr icc_ctlr_el1, {ctlr}",
            "msr icc_igrpen1_el1, {one}",
            "isb",
            pmr = in(reg) 0xFFu64,
            ctlr = in(reg) 1u64 << 1,
            one = in(reg) 1u64,
        )
    };
}

/// Route SPI `intid` (Group 1) to `pcpu` (Aff0) and enable it.
pub fn route_spi(intid: u32, pcpu: usize, priority: u8) {
    let (dist, _) = bases();
    let (word, bit) = (4 * (intid as usize / 32), 1u32 << (intid % 32));
    wr32(dist + GICD_IGROUPR + word, rd32(dist + GICD_IGROUPR + word) | bit);
    wr8(dist + GICD_IPRIORITYR + intid as usize, priority);
    // SAFETY: as for `rd32`; IROUTER<n> is a 64-bit register.
    unsafe { write_volatile((dist + GICD_IROUTER + 8 * intid as usize) as *mut u64, pcpu as u64) };
    wr32(dist + GICD_ISENABLER + word, bit);
}

/// Deactivate `intid` held back from a guest: a PPI in `pcpu`'s redistributor, an SPI in the
/// distributor. Works from any pCPU.
pub fn release(intid: u32, pcpu: usize, _this: usize) {
    let (dist, redist) = bases();
    if intid < 32 {
        wr32(redist + pcpu * GICR_STRIDE + GICR_ICACTIVER0, 1 << intid);
    } else {
        wr32(dist + GICD_ICACTIVER + 4 * (intid as usize / 32), 1 << (intid % 32));
    }
}

/// Send SGI `intid` to `pcpu` (Aff0 = index, Aff1-3 = 0 on the boards we support).
pub fn send_sgi(intid: u32, pcpu: usize) {
    let v = ((intid as u64 & 0xF) << 24) | (1u64 << pcpu);
    // SAFETY: generates a physical SGI; no memory effects.
    unsafe { core::arch::asm!("msr icc_sgi1r_el1, {}", "isb", in(reg) v) };
}

/// Acknowledge the highest-priority pending interrupt; 1020..=1023 mean none.
pub fn ack() -> u32 {
    let v: u64;
    // SAFETY: reading ICC_IAR1_EL1 acknowledges an interrupt; the caller drops its priority.
    unsafe { core::arch::asm!("mrs {}, icc_iar1_el1", out(reg) v) };
    v as u32
}

/// Drop the running priority (EOImode = 1: the interrupt stays active).
pub fn priority_drop(intid: u32) {
    // SAFETY: ends the acknowledged interrupt's priority on this CPU interface.
    unsafe { core::arch::asm!("msr icc_eoir1_el1, {}", in(reg) intid as u64) };
}

/// Deactivate an interrupt hv handled itself (not one handed to a guest as HW).
pub fn deactivate(intid: u32) {
    // SAFETY: deactivates `intid` on this CPU interface.
    unsafe { core::arch::asm!("msr icc_dir_el1, {}", in(reg) intid as u64) };
}

/// Enable the virtual CPU interface for the vCPU about to run on this pCPU.
pub fn enable_virtual_interface() {
    ICH_VMCR_EL2.set(0);
    ICH_HCR_EL2.write(ICH_HCR_EL2::En::SET);
}

pub fn disable_virtual_interface() {
    ICH_HCR_EL2.set(0);
}

/// ICH_HCR_EL2.TALL1: the guest's Group 1 CPU-interface registers (its acknowledge among
/// them) trap to EL2.
const HCR_TALL1: u64 = 1 << 12;

/// Trap the guest's next acknowledge (or any Group 1 CPU-interface access), or stop. A
/// passthrough SPI waiting in a list register is level-sensitive: its line may drop before the
/// guest takes it (a handler that EOIs before clearing its device), and then bare metal would
/// not deliver it. The trap is where hv looks (see `irq::check_acks`).
pub fn watch_acks(on: bool) {
    let hcr = ICH_HCR_EL2.get();
    let want = if on { hcr | HCR_TALL1 } else { hcr & !HCR_TALL1 };
    if want != hcr {
        ICH_HCR_EL2.set(want);
    }
}

/// Is the guest's acknowledge being watched?
pub fn watching_acks() -> bool {
    ICH_HCR_EL2.get() & HCR_TALL1 != 0
}

/// This pCPU's list registers (ICH_LR<n>_EL2).
pub struct IchBank;

impl LrBank for IchBank {
    fn count(&self) -> usize {
        (ICH_VTR_EL2.get() as usize & 0x1F) + 1
    }

    /// ICH_LR<i>_EL2 (S3_4_C12_C12/13_<n>) by a computed branch into a table of two-instruction
    /// entries (the MRS and a branch out): a `match` over sixteen registers compiled to a bounds
    /// check and a jump table twice as long, on every delivery. `i` is below `count()` (the
    /// callers' bitmaps come from it); masked, a wrong one could only name another register.
    #[inline(always)]
    fn read(&self, i: usize) -> Lr {
        debug_assert!(i < 16);
        let v: u64;
        // SAFETY: reads one list register; the branch lands on entry `i & 15` of the table,
        // each entry 8 bytes, all inside this asm block.
        unsafe {
            core::arch::asm!(
            "adr {t}, 2f",
            "add {t}, {t}, {i}, lsl #3",
            "br {t}",
            "2:",
            "mrs {v}, s3_4_c12_c12_0", "b 3f",
            "mrs {v}, s3_4_c12_c12_1", "b 3f",
            "mrs {v}, s3_4_c12_c12_2", "b 3f",
            "mrs {v}, s3_4_c12_c12_3", "b 3f",
            "mrs {v}, s3_4_c12_c12_4", "b 3f",
            "mrs {v}, s3_4_c12_c12_5", "b 3f",
            "mrs {v}, s3_4_c12_c12_6", "b 3f",
            "mrs {v}, s3_4_c12_c12_7", "b 3f",
            "mrs {v}, s3_4_c12_c13_0", "b 3f",
            "mrs {v}, s3_4_c12_c13_1", "b 3f",
            "mrs {v}, s3_4_c12_c13_2", "b 3f",
            "mrs {v}, s3_4_c12_c13_3", "b 3f",
            "mrs {v}, s3_4_c12_c13_4", "b 3f",
            "mrs {v}, s3_4_c12_c13_5", "b 3f",
            "mrs {v}, s3_4_c12_c13_6", "b 3f",
            "mrs {v}, s3_4_c12_c13_7", "b 3f",
            "3:",
            t = out(reg) _, i = in(reg) i & 15, v = out(reg) v, options(nostack, nomem))
        };
        Lr(v)
    }

    /// As `read`.
    #[inline(always)]
    fn write(&mut self, i: usize, lr: Lr) {
        debug_assert!(i < 16);
        // SAFETY: writes one list register of this pCPU's virtual interface; the branch lands
        // on entry `i & 15` of the table, each entry 8 bytes, all inside this asm block.
        unsafe {
            core::arch::asm!(
            "adr {t}, 2f",
            "add {t}, {t}, {i}, lsl #3",
            "br {t}",
            "2:",
            "msr s3_4_c12_c12_0, {v}", "b 3f",
            "msr s3_4_c12_c12_1, {v}", "b 3f",
            "msr s3_4_c12_c12_2, {v}", "b 3f",
            "msr s3_4_c12_c12_3, {v}", "b 3f",
            "msr s3_4_c12_c12_4, {v}", "b 3f",
            "msr s3_4_c12_c12_5, {v}", "b 3f",
            "msr s3_4_c12_c12_6, {v}", "b 3f",
            "msr s3_4_c12_c12_7, {v}", "b 3f",
            "msr s3_4_c12_c13_0, {v}", "b 3f",
            "msr s3_4_c12_c13_1, {v}", "b 3f",
            "msr s3_4_c12_c13_2, {v}", "b 3f",
            "msr s3_4_c12_c13_3, {v}", "b 3f",
            "msr s3_4_c12_c13_4, {v}", "b 3f",
            "msr s3_4_c12_c13_5, {v}", "b 3f",
            "msr s3_4_c12_c13_6, {v}", "b 3f",
            "msr s3_4_c12_c13_7, {v}", "b 3f",
            "3:",
            t = out(reg) _, i = in(reg) i & 15, v = in(reg) lr.to_v3(), options(nostack, nomem))
        };
    }

    fn set_underflow_irq(&mut self, on: bool) {
        let v = if on { ICH_HCR_EL2::UIE::SET } else { ICH_HCR_EL2::UIE::CLEAR };
        ICH_HCR_EL2.modify(v);
    }

    /// ICH_ELRSR_EL2 (aarch64-cpu does not name it): one read instead of one per register.
    fn empty(&self) -> u32 {
        let v: u64;
        // SAFETY: reads ICH_ELRSR_EL2 (S3_4_C12_C11_5), which has no side effects.
        unsafe { core::arch::asm!("mrs {}, s3_4_c12_c11_5", out(reg) v, options(nomem, nostack)) };
        v as u32
    }
}
