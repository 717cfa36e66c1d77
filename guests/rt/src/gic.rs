//! The virtual GIC as a guest drives it, either version: the distributor and redistributors by
//! MMIO, the CPU interface by ICC system registers (GICv3) or the gicc() frame (GICv2). Its
//! addresses are the board's, as the VM's device tree gives them (`init`); without a device
//! tree, QEMU virt's.
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

static GICD_AT: AtomicUsize = AtomicUsize::new(0x0800_0000);
static GICC_AT: AtomicUsize = AtomicUsize::new(0x0801_0000);
static GICR_AT: AtomicUsize = AtomicUsize::new(0x080A_0000);

/// Take the GIC's frames from the device tree's interrupt controller: the distributor, then the
/// CPU interface (GICv2) or the redistributors (GICv3).
pub fn init(fdt: Option<&fdt::Fdt>) {
    let Some(node) =
        fdt.and_then(|f| f.find_compatible(&["arm,gic-v3", "arm,cortex-a15-gic", "arm,gic-400"]))
    else {
        return;
    };
    let v3 = node.compatible().is_some_and(|c| c.all().any(|c| c == "arm,gic-v3"));
    let mut regs = node.reg().into_iter().flatten();
    if let Some(d) = regs.next() {
        GICD_AT.store(d.starting_address as usize, Ordering::Relaxed);
    }
    if let Some(r) = regs.next() {
        let second = if v3 { &GICR_AT } else { &GICC_AT };
        second.store(r.starting_address as usize, Ordering::Relaxed);
    }
}

/// The distributor.
pub fn gicd() -> usize {
    GICD_AT.load(Ordering::Relaxed)
}

/// GICv2 CPU interface (hv maps the GICV frame here).
pub fn gicc() -> usize {
    GICC_AT.load(Ordering::Relaxed)
}

/// GICv3 redistributors, 0x20000 apart.
pub fn gicr() -> usize {
    GICR_AT.load(Ordering::Relaxed)
}

pub const CTLR: usize = 0x000;
pub const ISENABLER: usize = 0x100;
pub const ICENABLER: usize = 0x180;
pub const ISPENDR: usize = 0x200;
pub const ICPENDR: usize = 0x280;
pub const ISACTIVER: usize = 0x300;
pub const ICACTIVER: usize = 0x380;
pub const IPRIORITYR: usize = 0x400;
pub const ITARGETSR: usize = 0x800;
pub const SGIR: usize = 0xF00;
pub const IROUTER: usize = 0x6000;
pub const PIDR2: usize = 0xFFE8;

pub fn rd(addr: usize) -> u32 {
    // SAFETY: GIC frames at the board's addresses, emulated or mapped by hv; an access hv
    // refuses comes back as an abort the runtime reports.
    unsafe { read_volatile(addr as *const u32) }
}

pub fn wr(addr: usize, v: u32) {
    // SAFETY: as for `rd`.
    unsafe { write_volatile(addr as *mut u32, v) }
}

pub fn wr8(addr: usize, v: u8) {
    // SAFETY: as for `rd`; priority and target registers take byte writes.
    unsafe { write_volatile(addr as *mut u8, v) }
}

/// GICD_PIDR2.ArchRev: 2 or 3 (read once: each read is a trapped access).
pub fn version() -> u32 {
    static VERSION: AtomicU32 = AtomicU32::new(0);
    match VERSION.load(Ordering::Relaxed) {
        0 => {
            let v = (rd(gicd() + PIDR2) >> 4) & 0xF;
            VERSION.store(v, Ordering::Relaxed);
            v
        }
        v => v,
    }
}

pub fn is_v3() -> bool {
    version() == 3
}

/// This vCPU's index (MPIDR Aff0, as hv sets it).
pub fn cpu() -> usize {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) mpidr) };
    (mpidr & 0xFF) as usize
}

/// Where this vCPU's SGI/PPI registers are: its redistributor's SGI frame (GICv3) or the
/// distributor's banked words (GICv2). The offsets are the same.
pub fn private_base() -> usize {
    if is_v3() {
        gicr() + cpu() * 0x2_0000 + 0x1_0000
    } else {
        gicd()
    }
}

/// Turn on this vCPU's CPU interface with the priority mask open.
pub fn init_cpu_interface() {
    if is_v3() {
        // SAFETY: ICC_SRE_EL1.SRE, PMR and IGRPEN1 configure only this vCPU's interface.
        unsafe {
            core::arch::asm!(
                "msr icc_sre_el1, {one}", "isb", "msr icc_pmr_el1, {pmr}", "msr icc_igrpen1_el1, {one}", "isb",
                one = in(reg) 1u64, pmr = in(reg) 0xFFu64)
        };
    } else {
        wr(gicc() + 0x4, 0xFF);
        wr(gicc(), 1);
    }
}

/// Enable the distributor's forwarding (Group 1 on GICv3, Group 0 on GICv2).
pub fn enable_distributor() {
    wr(gicd() + CTLR, if is_v3() { 2 } else { 1 });
}

/// The priority mask: only interrupts of higher priority (lower value) are signalled.
pub fn set_pmr(p: u8) {
    if is_v3() {
        // SAFETY: sets this vCPU's priority mask.
        unsafe { core::arch::asm!("msr icc_pmr_el1, {}", "isb", in(reg) p as u64) };
    } else {
        wr(gicc() + 0x4, p as u32);
    }
}

/// Acknowledge: the raw IAR (GICv2 SGIs carry the source CPU in bits 12:10).
pub fn ack() -> u32 {
    if is_v3() {
        let v: u64;
        // SAFETY: acknowledges the highest-priority pending interrupt of this vCPU.
        unsafe { core::arch::asm!("mrs {}, icc_iar1_el1", out(reg) v) };
        v as u32
    } else {
        rd(gicc() + 0xC)
    }
}

/// End of interrupt (EOImode 0: priority drop and deactivation).
pub fn eoi(iar: u32) {
    if is_v3() {
        // SAFETY: ends the interrupt this vCPU acknowledged.
        unsafe { core::arch::asm!("msr icc_eoir1_el1, {}", "isb", in(reg) iar as u64) };
    } else {
        wr(gicc() + 0x10, iar);
    }
}

/// Send SGI `intid` to the vCPUs in `targets` (bit k = vCPU k).
pub fn send_sgi(intid: u32, targets: u16) {
    if is_v3() {
        let v = ((intid as u64 & 0xF) << 24) | targets as u64;
        // SAFETY: generates SGIs (trapped and emulated by hv).
        unsafe { core::arch::asm!("msr icc_sgi1r_el1, {}", "isb", in(reg) v) };
    } else {
        wr(gicd() + SGIR, ((targets as u32 & 0xFF) << 16) | (intid & 0xF));
    }
}

/// Set bit `intid` in a set/clear register array at `base` (ISENABLER, ICPENDR, ...).
pub fn set_bit(base: usize, intid: u32) {
    wr(base + 4 * (intid as usize / 32), 1 << (intid % 32));
}

pub fn get_bit(base: usize, intid: u32) -> bool {
    rd(base + 4 * (intid as usize / 32)) & (1 << (intid % 32)) != 0
}

/// Mask or unmask IRQs at EL1.
pub fn irqs(on: bool) {
    // SAFETY: changes PSTATE.I only.
    unsafe {
        if on {
            core::arch::asm!("msr daifclr, #2", "isb");
        } else {
            core::arch::asm!("msr daifset, #2", "isb");
        }
    }
}
