//! Interrupts from inside a VM (GICv3): the virtual timer fires N times and each tick reaches
//! the guest's IRQ handler as INTID 27 through the virtual CPU interface; between ticks the vCPU
//! sleeps in WFI. Ends with `N passed, N failed`.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::test::{check, check_eq};

guest_rt::entry!(main);

const TICKS: u32 = 10;
const VTIMER: u32 = 27;

static TICKS_SEEN: AtomicU32 = AtomicU32::new(0);
static OTHER: AtomicU32 = AtomicU32::new(0);
static INTERVAL: AtomicU32 = AtomicU32::new(0);

fn arm_timer(ticks: u32) {
    // SAFETY: programs this vCPU's own virtual timer: interval, then enabled and unmasked.
    unsafe {
        core::arch::asm!("msr cntv_tval_el0, {t}", "msr cntv_ctl_el0, {c}", "isb", t = in(reg) ticks as u64, c = in(reg) 1u64)
    };
}

fn on_irq() {
    let intid: u64;
    // SAFETY: acknowledge the interrupt at the (virtual) GICv3 CPU interface.
    unsafe { core::arch::asm!("mrs {}, icc_iar1_el1", out(reg) intid) };
    if intid as u32 == VTIMER {
        TICKS_SEEN.fetch_add(1, Ordering::SeqCst);
        if TICKS_SEEN.load(Ordering::SeqCst) < TICKS {
            arm_timer(INTERVAL.load(Ordering::SeqCst));
        } else {
            // SAFETY: disable the timer so its level interrupt stops.
            unsafe { core::arch::asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64) };
        }
    } else if intid < 1020 {
        OTHER.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: end-of-interrupt (priority drop and deactivation: EOImode 0).
    unsafe { core::arch::asm!("msr icc_eoir1_el1, {}", "isb", in(reg) intid) };
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let (sre, freq): (u64, u64);
    // SAFETY: enable the system-register interface to the virtual GIC CPU interface, open the
    // priority mask and Group 1; read the counter frequency.
    unsafe {
        core::arch::asm!(
            "mrs {f}, cntfrq_el0",
            "msr icc_sre_el1, {one}",
            "isb",
            "mrs {sre}, icc_sre_el1",
            "msr icc_pmr_el1, {pmr}",
            "msr icc_igrpen1_el1, {one}",
            "isb",
            f = out(reg) freq, sre = out(reg) sre, one = in(reg) 1u64, pmr = in(reg) 0xFFu64,
        )
    };
    check("ICC_SRE_EL1.SRE sticks (system-register GIC interface)", sre & 1 == 1);
    guest_rt::exception::set_irq_handler(on_irq);
    let interval = (freq / 1000) as u32; // 1 ms
    INTERVAL.store(interval, Ordering::SeqCst);
    let start: u64;
    // SAFETY: read the virtual counter.
    unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) start) };
    arm_timer(interval);
    let mut sleeps = 0u32;
    // SAFETY: unmask IRQs at EL1; WFI until the handler has seen every tick (bounded).
    unsafe { core::arch::asm!("msr daifclr, #2") };
    while TICKS_SEEN.load(Ordering::SeqCst) < TICKS && sleeps < 100_000 {
        // SAFETY: wait for an interrupt; trapped and handled by the hypervisor.
        unsafe { core::arch::asm!("wfi") };
        sleeps += 1;
    }
    // SAFETY: mask IRQs again.
    unsafe { core::arch::asm!("msr daifset, #2") };
    let end: u64;
    // SAFETY: read the virtual counter.
    unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) end) };
    check_eq("virtual timer ticks delivered as INTID 27", TICKS_SEEN.load(Ordering::SeqCst), TICKS);
    check_eq("no other interrupt arrived", OTHER.load(Ordering::SeqCst), 0);
    check("the vCPU slept in WFI between ticks (not a busy loop)", (TICKS..10 * TICKS).contains(&sleeps));
    check("ticks took at least TICKS timer intervals", end - start >= (TICKS as u64) * interval as u64);
    guest_rt::test::summary()
}
