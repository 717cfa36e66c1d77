//! EL2 set-up: the EL2 MMU from the generated identity map, and the per-vCPU EL2 controls
//! (HCR_EL2, stage 2 from the generated tables, virtual IDs, timers, traps) before first entry.
use super::idregs;
use crate::arch::aarch64::regs::{GuestRegs, SPSR_DAIF, SPSR_EL1H};
use crate::desc::VmDesc;
use crate::machine::{EL2_TTBR0, MAIR_EL2 as MAIR, TCR_EL2 as TCR, VTCR_EL2 as VTCR};
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;

/// SCTLR_EL2 (non-VHE) RES1 bits, plus M, C, I and SA.
const SCTLR_EL2_ON: u64 = 0x30C5_0830 | (1 << 12) | (1 << 3) | (1 << 2) | 1;
/// SCTLR_EL1 at reset for a guest: RES1 bits only, MMU and caches off.
const SCTLR_EL1_RESET: u64 = 0x30D0_0800;
/// CPTR_EL2 (non-VHE) RES1 bits (TZ and TSM too, which `cptr` clears when SVE and SME exist);
/// TFP, TTA, TCPAC clear so FP/SIMD is the guest's own.
const CPTR_EL2_RES1: u64 = 0x33FF;

/// Turn on the EL2 MMU with the generated identity map (RAM Normal, console and GIC Device).
pub fn init_mmu() {
    MAIR_EL2.set(MAIR);
    TCR_EL2.set(TCR);
    TTBR0_EL2.set(EL2_TTBR0);
    barrier::dsb(barrier::ISHST);
    // SAFETY: invalidating all EL2 TLB entries is always safe; nothing is cached yet.
    unsafe { core::arch::asm!("tlbi alle2", "dsb ish", "isb") };
    // The map is an identity map covering the code we run, so turning it on is seamless.
    SCTLR_EL2.set(SCTLR_EL2_ON);
    barrier::isb(barrier::SY);
}

/// HCR_EL2.ATA: the guest may access allocation tags and the MTE registers (GCR_EL1, RGSR_EL1,
/// TFSR_EL1, TFSRE0_EL1); without it those trap.
const HCR_ATA: u64 = 1 << 56;

/// HCR_EL2 for guests: stage 2 on, EL1 is AArch64, physical IRQ/FIQ/SError come to EL2, SMC,
/// WFI and implementation-defined registers trap, pointer-auth keys do not. Memory tagging is
/// the guest's where the board's RAM holds tags; where the CPU has it but the RAM cannot back
/// it, the ID registers trap so hv can hide it (idregs.rs).
fn hcr() -> u64 {
    let mte = if idregs::mte_allowed() { HCR_ATA } else { 0 };
    let tid3 = if idregs::must_filter() { HCR_EL2::TID3::SET.value } else { 0 };
    mte | tid3
        | (HCR_EL2::VM::Enable
            + HCR_EL2::TWI::SET
            + HCR_EL2::SWIO::SET
            + HCR_EL2::FMO::EnableVirtualFIQ
            + HCR_EL2::IMO::EnableVirtualIRQ
            + HCR_EL2::AMO::SET
            + HCR_EL2::TSC::EnableTrapEl1SmcToEl2
            + HCR_EL2::TIDCP::SET
            + HCR_EL2::RW::EL1IsAarch64
            + HCR_EL2::APK::SET
            + HCR_EL2::API::SET)
            .value
}

/// CPTR_EL2 for a guest: nothing trapped that the CPU advertises. The pinned vCPU owns its pCPU's
/// FP, SVE and SME state outright (hv, built soft-float, never touches them), so a feature the ID
/// registers show the guest is also one it can use: TZ and TSM are cleared when SVE and SME
/// exist, with their EL2 vector-length limits at the maximum. A vCPU starts (power-on, CPU_ON,
/// restart) outside SME's streaming mode with ZA off, as from reset: one that left in streaming
/// mode must not hand it to the code started next.
fn set_fp_controls() {
    const TZ: u64 = 1 << 8;
    const TSM: u64 = 1 << 12;
    let (pfr0, pfr1): (u64, u64);
    // SAFETY: reads two ID registers.
    unsafe {
        core::arch::asm!("mrs {}, id_aa64pfr0_el1", "mrs {}, id_aa64pfr1_el1", out(reg) pfr0, out(reg) pfr1)
    };
    let (sve, sme) = ((pfr0 >> 32) & 0xF != 0, (pfr1 >> 24) & 0xF != 0);
    let mut cptr = CPTR_EL2_RES1;
    if sve {
        cptr &= !TZ;
        // SAFETY: ZCR_EL2 exists (SVE); LEN = 15 lets the guest choose any vector length.
        unsafe { core::arch::asm!("msr s3_4_c1_c2_0, {}", in(reg) 0xFu64) };
    }
    if sme {
        cptr &= !TSM;
        // SAFETY: SMCR_EL2 exists (SME); LEN = 15 lets the guest choose any streaming length.
        unsafe { core::arch::asm!("msr s3_4_c1_c2_6, {}", in(reg) 0xFu64) };
    }
    CPTR_EL2.set(cptr);
    if sme {
        // SAFETY: SME exists and CPTR_EL2.TSM was just cleared; writing SVCR (S3_3_C4_C2_2)
        // only changes PSTATE.SM and ZA, which belong to the vCPU about to start.
        unsafe { core::arch::asm!("isb", "msr s3_3_c4_c2_2, xzr", "isb") };
    }
}

/// Program the EL2 controls for vCPU `k` of `vm` and enter it at `entry` with x0 = `arg`.
pub fn enter_vcpu(vm: &VmDesc, k: usize, entry: u64, arg: u64) -> ! {
    HCR_EL2.set(hcr());
    super::gic::enable_virtual_interface();
    // Interrupts posted to this vCPU before it first ran.
    super::irq::resume();
    VTCR_EL2.set(VTCR);
    VTTBR_EL2.set(vm.stage2);
    // MPIDR as the DTB's cpu `reg`: Aff0 = vCPU index, bit 31 RES1.
    VMPIDR_EL2.set((1 << 31) | k as u64);
    // SAFETY: VPIDR_EL2 only changes what the guest reads as MIDR_EL1 (aarch64-cpu lacks it).
    unsafe { core::arch::asm!("mrs {t}, midr_el1", "msr vpidr_el2, {t}", t = out(reg) _) };
    CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCTEN::SET + CNTHCTL_EL2::EL1PCEN::SET);
    CNTVOFF_EL2.set(0);
    set_fp_controls();
    // No debug or PMU traps; HPMN = PMCR_EL0.N gives the guest every counter (HPMN = 0 is
    // UNPREDICTABLE without FEAT_HPMN0).
    // SAFETY: reads PMCR_EL0 and writes MDCR_EL2, which only configure traps and counter
    // ownership for EL1/EL0.
    unsafe {
        core::arch::asm!("mrs {t}, pmcr_el0", "ubfx {t}, {t}, #11, #5", "msr mdcr_el2, {t}", t = out(reg) _)
    };
    SCTLR_EL1.set(SCTLR_EL1_RESET);
    CPACR_EL1.set(0);
    if idregs::mte_allowed() {
        // SAFETY: the MTE registers exist (FEAT_MTE2); GCR_EL1, RGSR_EL1, TFSR_EL1 and
        // TFSRE0_EL1 belong to the vCPU about to start, which finds them as from reset.
        unsafe {
            core::arch::asm!(
                "msr s3_0_c1_c0_6, xzr",
                "msr s3_0_c1_c0_5, xzr",
                "msr s3_0_c5_c6_0, xzr",
                "msr s3_0_c5_c6_1, xzr"
            )
        };
    }
    // SAFETY: drop any stale stage-1+2 translations for this VMID before its first run.
    unsafe { core::arch::asm!("isb", "tlbi vmalls12e1", "dsb nsh", "isb") };

    let frame = frame_slot();
    *frame = GuestRegs::default();
    frame.x[0] = arg;
    frame.elr = entry;
    frame.spsr = SPSR_DAIF | SPSR_EL1H;
    unsafe extern "C" {
        fn guest_enter(frame: *mut GuestRegs) -> !;
    }
    // SAFETY: the frame is the reserved top of this pCPU's stack; guest_enter restores from it
    // and erets, abandoning the Rust frames below it, which is why this function never returns.
    unsafe { guest_enter(frame) }
}

/// The `GuestRegs` slot at the top of this pCPU's stack (reserved by boot code).
fn frame_slot() -> &'static mut GuestRegs {
    unsafe extern "C" {
        static __stacks_start: u8;
    }
    let cpu = super::cpu_id();
    // SAFETY: boot code set SP below this slot, so no Rust frame overlaps it; it belongs to
    // this pCPU alone and is only used again once the guest runs (by the exit stub).
    unsafe {
        let top = (&raw const __stacks_start as usize) + (cpu + 1) * crate::machine::STACK_SIZE;
        &mut *((top - crate::arch::aarch64::regs::FRAME_SIZE) as *mut GuestRegs)
    }
}
