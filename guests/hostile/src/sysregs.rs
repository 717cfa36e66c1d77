//! System registers: the ones hv traps (SGI generation, IMPLEMENTATION DEFINED ones) with
//! garbage, and ones EL1 may not touch at all. Each is emulated, ignored or an undefined
//! instruction; none stops the VM.
use crate::faults;
use guest_rt::gic;
use guest_rt::test::{check, check_eq};

macro_rules! undef {
    ($name:literal, $insn:literal) => {
        check(
            concat!($name, " is an undefined instruction"),
            faults(|| {
                // SAFETY: a deliberate access to a register EL1 may not use; caught.
                unsafe { core::arch::asm!($insn, out("x0") _) }
            })
            .is_some_and(|c| c.ec() == 0),
        )
    };
}

pub fn run() {
    if gic::is_v3() {
        // Garbage SGIs: every target list, affinity, range selector and IRM, at both vCPUs.
        let mut g = crate::Lcg(0x5619);
        for v in (0..2000).map(|_| g.u64()).chain([u64::MAX, 1 << 40, 0xFFFF]) {
            // SAFETY: SGI generation is trapped and emulated by hv; vCPU 0 has IRQs masked.
            unsafe { core::arch::asm!("msr icc_sgi1r_el1, {}", "isb", in(reg) v) };
        }
        // SAFETY: Group 0 and other-security-state SGIs: write-ignored by hv.
        unsafe { core::arch::asm!("msr icc_sgi0r_el1, {0}", "msr icc_asgi1r_el1, {0}", in(reg) u64::MAX) };
        undef!("reading the write-only ICC_SGI1R_EL1", "mrs x0, s3_0_c12_c11_5");
    } else {
        // GICv2: garbage in GICD_SGIR (every filter, list and INTID).
        for v in [u32::MAX, 0x0300_FFFF, 0x02FF_800F, 0x01FF_0000] {
            gic::wr(gic::gicd() + gic::SGIR, v);
        }
    }
    // After the garbage, the SGI state is still coherent: clear every pending SGI, send one.
    if gic::is_v3() {
        gic::wr(gic::private_base() + gic::ICPENDR, 0xFFFF);
    } else {
        (0..4).for_each(|w| gic::wr(gic::gicd() + 0xF10 + 4 * w, u32::MAX)); // GICD_CPENDSGIRn
    }
    let before = gic::rd(gic::private_base() + gic::ISPENDR) & 0xFFFF;
    gic::send_sgi(3, 1);
    let after = gic::rd(gic::private_base() + gic::ISPENDR) & 0xFFFF;
    check_eq("after garbage SGIs, pending SGIs clear and a real one pends", (before, after), (0, 1 << 3));
    if gic::is_v3() {
        gic::wr(gic::private_base() + gic::ICPENDR, 1 << 3);
    } else {
        gic::wr(gic::gicd() + 0xF10, u32::MAX);
    }
    // IMPLEMENTATION DEFINED registers trap to hv (HCR_EL2.TIDCP), which makes them undefined.
    // QEMU 7.2 does not implement TIDCP and models a few of the A57's (L2CTLR, CPUECTLR): those
    // a guest reads directly there, which is harmless. Anything else than UNDEF or a completed
    // access would be wrong.
    let (mut all, mut undefined) = (true, 0);
    macro_rules! impdef {
        ($($insn:literal),*) => {$(
            match faults(|| {
                // SAFETY: a deliberate access to an IMPLEMENTATION DEFINED register; caught.
                unsafe { core::arch::asm!($insn, out("x0") _) }
            }) {
                None => {}
                Some(c) if c.ec() == 0 => undefined += 1,
                Some(_) => all = false,
            }
        )*};
    }
    impdef!(
        "mrs x0, s3_0_c15_c0_0",
        "mrs x0, s3_1_c15_c2_1",
        "mrs x0, s3_7_c15_c15_7",
        "msr s3_0_c15_c0_0, x0",
        "msr s3_1_c11_c0_2, x0",
        "msr s3_3_c15_c4_0, x0"
    );
    guest_rt::println!("hostile: {undefined} of 6 IMPLEMENTATION DEFINED accesses were undefined");
    check("IMPLEMENTATION DEFINED registers are undefined or harmless, never a fault", all && undefined > 0);
    // Registers of EL2 and EL3 from EL1.
    undef!("reading HCR_EL2 from EL1", "mrs x0, hcr_el2");
    undef!("writing VTTBR_EL2 from EL1", "msr vttbr_el2, x0");
    undef!("reading SCR_EL3 from EL1", "mrs x0, scr_el3");
    undef!("writing ICH_HCR_EL2 from EL1", "msr s3_4_c12_c11_0, x0");
    pmu_overflow();
    // WFE in a tight loop (hv does not trap it).
    for _ in 0..1000 {
        // SAFETY: hint instructions.
        unsafe { core::arch::asm!("sev", "wfe") };
    }
}

/// The PMU is the guest's own (hv traps none of it): an overflow interrupt it asks for, which
/// its DTB does not describe and hv does not route, must not storm hv or stall the guest.
fn pmu_overflow() {
    let (ovs, cnt): (u64, u64);
    // SAFETY: programs this vCPU's own PMU: the cycle counter, 1000 cycles before overflow,
    // with its overflow interrupt enabled; then reads the overflow flag and disables it all.
    unsafe {
        core::arch::asm!(
            "msr pmccntr_el0, {near}",
            "msr pmintenset_el1, {c}",
            "msr pmcntenset_el0, {c}",
            "mrs {t}, pmcr_el0",
            "orr {t}, {t}, #1",
            "msr pmcr_el0, {t}",
            "isb",
            near = in(reg) u64::MAX - 1000,
            c = in(reg) 1u64 << 31,
            t = out(reg) _,
        );
        for _ in 0..100_000 {
            core::hint::spin_loop();
        }
        core::arch::asm!(
            "mrs {o}, pmovsclr_el0",
            "mrs {n}, pmccntr_el0",
            "msr pmcntenclr_el0, {c}",
            "msr pmintenclr_el1, {c}",
            "msr pmovsclr_el0, {c}",
            "isb",
            o = out(reg) ovs,
            n = out(reg) cnt,
            c = in(reg) 1u64 << 31,
        );
    }
    guest_rt::println!("hostile: PMU cycle counter overflowed: {} (now {cnt})", ovs >> 31 & 1);
    check_eq(
        "a PMU overflow interrupt nobody routes neither storms hv nor stalls me",
        hvc_version(),
        0x1_0001,
    );
}

fn hvc_version() -> u64 {
    guest_rt::hvc::hvc(guest_rt::hvc::HV_VERSION, 0, 0, 0)[0]
}
