//! Interrupts from inside a VM, on either GIC version (read from GICD_PIDR2): the virtual timer
//! ticks N times into the IRQ handler while the vCPU sleeps in WFI; SGIs sent to itself arrive
//! with the right INTID; enable, pending and active state set through the virtual distributor
//! and redistributor read back; the priority mask holds back a low-priority SGI; the virtual
//! UART's interrupt reaches the guest; the EL1 physical timer too, and a tick withdrawn when
//! its timer is disabled before the guest took it; and a timer PPI's pending state follows the
//! timer's output through every change. Ends with `N passed, N failed`.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::gic::{self, ICACTIVER, ICENABLER, ICPENDR, IPRIORITYR, ISACTIVER, ISENABLER, ISPENDR};
use guest_rt::test::{check, check_eq};

guest_rt::entry!(main);

const TICKS: u32 = 10;
const VTIMER: u32 = 27;
const PTIMER: u32 = 30;
/// The virtual UART's line (SPI 1) and two free SPIs.
const UART_IRQ: u32 = 33;
const SPI_A: u32 = 72;
const SPI_B: u32 = 73;
const UART: usize = 0x0900_0000;

static COUNT: [AtomicU32; 128] = [const { AtomicU32::new(0) }; 128];
static LAST_IAR: AtomicU32 = AtomicU32::new(1023);
static INTERVAL: AtomicU32 = AtomicU32::new(0);
/// Ticks the timer handler answers by rearming the timer in the past (see `rearmed_in_the_past`).
static REARM_PAST: AtomicU32 = AtomicU32::new(0);

fn arm_timer(ticks: u32) {
    // SAFETY: programs this vCPU's own virtual timer: interval, then enabled and unmasked.
    unsafe {
        core::arch::asm!("msr cntv_tval_el0, {t}", "msr cntv_ctl_el0, {c}", "isb", t = in(reg) ticks as u64, c = in(reg) 1u64)
    };
}

fn on_irq() {
    let iar = gic::ack();
    let intid = iar & 0x3FF;
    if intid >= 1020 {
        return;
    }
    LAST_IAR.store(iar, Ordering::SeqCst);
    if let Some(c) = COUNT.get(intid as usize) {
        c.fetch_add(1, Ordering::SeqCst);
    }
    if intid == VTIMER {
        let past = REARM_PAST.load(Ordering::SeqCst);
        if past > 0 {
            // A deadline already passed, and a long handler: the line is still high at EOI.
            REARM_PAST.store(past - 1, Ordering::SeqCst);
            arm_timer(0);
            settle();
        } else if count(VTIMER) < TICKS {
            arm_timer(INTERVAL.load(Ordering::SeqCst));
        } else {
            // SAFETY: disable the timer so its level interrupt stops.
            unsafe { core::arch::asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64) };
        }
    } else if intid == PTIMER {
        // SAFETY: disable the EL1 physical timer so its level interrupt stops.
        unsafe { core::arch::asm!("msr cntp_ctl_el0, {}", "isb", in(reg) 0u64) };
    } else if intid == UART_IRQ {
        gic::wr(UART + 0x44, 0x7FF); // UARTICR: clear, so the line drops
    }
    gic::eoi(iar);
}

fn count(intid: u32) -> u32 {
    COUNT[intid as usize].load(Ordering::SeqCst)
}

/// Give a just-triggered interrupt time to arrive (it normally has by the next instruction).
fn settle() {
    for _ in 0..1000 {
        core::hint::spin_loop();
    }
}

fn vcounter() -> u64 {
    let v: u64;
    // SAFETY: reads the virtual counter.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) v) };
    v
}

fn timer_ticks() {
    let freq: u64;
    // SAFETY: reads the counter frequency.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) freq) };
    let interval = (freq / 1000) as u32; // 1 ms
    INTERVAL.store(interval, Ordering::SeqCst);
    let start = vcounter();
    arm_timer(interval);
    let mut sleeps = 0u32;
    gic::irqs(true);
    while count(VTIMER) < TICKS && sleeps < 100_000 {
        // SAFETY: wait for an interrupt; trapped and handled by the hypervisor.
        unsafe { core::arch::asm!("wfi") };
        sleeps += 1;
    }
    gic::irqs(false);
    let end = vcounter();
    check_eq("virtual timer ticks delivered as INTID 27", count(VTIMER), TICKS);
    guest_rt::println!("irqtest: {sleeps} WFIs for {TICKS} ticks");
    check("the vCPU slept in WFI between ticks (not a busy loop)", (TICKS / 2..10 * TICKS).contains(&sleeps));
    check("ticks took at least TICKS timer intervals", end - start >= (TICKS as u64) * interval as u64);
}

/// A handler that rearms its timer in the past leaves the level line asserted when it EOIs: the
/// interrupt must fire again at once (QEMU's GICv2 does not re-signal it after a HW-linked
/// deactivation, so hv must not rely on that).
fn rearmed_in_the_past() {
    let before = count(VTIMER);
    REARM_PAST.store(3, Ordering::SeqCst);
    gic::irqs(true);
    arm_timer(0);
    for _ in 0..10_000 {
        if count(VTIMER) >= before + 4 {
            break;
        }
        settle();
    }
    gic::irqs(false);
    check_eq("a timer rearmed in the past from its own handler fires again", count(VTIMER) - before, 4);
}

/// The EL1 physical timer reaches the guest like the virtual one; a tick whose line dropped
/// before the guest took it (the timer was disabled) is withdrawn.
fn physical_timer_and_stale_ticks(private: usize) {
    gic::set_bit(private + ISENABLER, PTIMER);
    // SAFETY: programs this vCPU's EL1 physical timer: 1 ms, enabled and unmasked.
    unsafe {
        core::arch::asm!("msr cntp_tval_el0, {t}", "msr cntp_ctl_el0, {c}", "isb", t = in(reg) INTERVAL.load(Ordering::SeqCst) as u64, c = in(reg) 1u64)
    };
    gic::irqs(true);
    for _ in 0..1000 {
        if count(PTIMER) > 0 {
            break;
        }
        // SAFETY: wait for an interrupt; trapped and handled by the hypervisor.
        unsafe { core::arch::asm!("wfi") };
    }
    gic::irqs(false);
    check_eq("the EL1 physical timer's interrupt arrives as INTID 30", count(PTIMER), 1);
    // With IRQs masked, let the virtual timer fire: its tick waits, pending.
    let before = count(VTIMER);
    arm_timer(0);
    settle();
    check("a virtual timer tick not yet taken reads as pending", gic::get_bit(private + ISPENDR, VTIMER));
    // SAFETY: disable the virtual timer: its level interrupt drops.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64) };
    check("disabling the timer withdraws it", !gic::get_bit(private + ISPENDR, VTIMER));
    gic::irqs(true);
    settle();
    gic::irqs(false);
    check_eq("and the withdrawn tick never arrives", count(VTIMER), before);
}

/// Program the virtual (`virt`) or EL1 physical timer: compare value, then control.
fn program(virt: bool, cval: u64, ctl: u64) {
    // SAFETY: programs this vCPU's own EL1 timer; no memory is touched.
    unsafe {
        if virt {
            core::arch::asm!("msr cntv_cval_el0, {v}", "msr cntv_ctl_el0, {c}", "isb", v = in(reg) cval, c = in(reg) ctl)
        } else {
            core::arch::asm!("msr cntp_cval_el0, {v}", "msr cntp_ctl_el0, {c}", "isb", v = in(reg) cval, c = in(reg) ctl)
        }
    }
}

fn pcounter() -> u64 {
    let v: u64;
    // SAFETY: reads the physical counter.
    unsafe { core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) v) };
    v
}

/// A timer PPI's pending state is the timer's output at that moment (GIC level semantics; the
/// output is ENABLE and not IMASK and the condition met), read at once after each change, with
/// no interrupt taken in between: through ISPENDR and ICPENDR, and while the guest has it active.
fn timer_line_state(private: usize) {
    for (virt, intid) in [(true, VTIMER), (false, PTIMER)] {
        let now = if virt { vcounter() } else { pcounter() };
        let far = now + (1 << 40);
        let pending = || {
            let (set, clear) =
                (gic::get_bit(private + ISPENDR, intid), gic::get_bit(private + ICPENDR, intid));
            if set == clear {
                set
            } else {
                guest_rt::println!("irqtest: ISPENDR and ICPENDR disagree on INTID {intid}");
                !set // fails whichever check reads it
            }
        };
        let mut seen = [false; 7];
        program(virt, far, 1);
        seen[0] = !pending();
        program(virt, 0, 1); // the deadline is in the past: the line rises at once
        seen[1] = pending();
        program(virt, 0, 0b11); // IMASK
        seen[2] = !pending();
        program(virt, 0, 1); // unmasked again
        seen[3] = pending();
        program(virt, far, 1); // deadline moved into the future
        seen[4] = !pending();
        program(virt, 0, 1);
        program(virt, 0, 0); // disabled
        seen[5] = !pending();
        // Taken by the guest and still firing: active and pending; then its line drops.
        program(virt, 0, 1);
        settle();
        let iar = gic::ack();
        let active_and_pending =
            iar & 0x3FF == intid && pending() && gic::get_bit(private + ISACTIVER, intid);
        program(virt, far, 0);
        seen[6] = active_and_pending && !pending() && gic::get_bit(private + ISACTIVER, intid);
        if iar & 0x3FF < 1020 {
            gic::eoi(iar);
        }
        let name = if virt { "virtual" } else { "EL1 physical" };
        guest_rt::println!("irqtest: {name} timer line: {seen:?}");
        check(
            "a timer PPI reads pending exactly while its line is high: deadline, IMASK, ENABLE, active",
            seen.iter().all(|&s| s),
        );
    }
}

fn sgis(private: usize) {
    gic::irqs(true);
    for intid in [0, 7, 15] {
        let before = count(intid);
        gic::send_sgi(intid, 1 << gic::cpu());
        settle();
        let iar = LAST_IAR.load(Ordering::SeqCst);
        check_eq(
            "an SGI sent to myself arrives once, with its INTID",
            (count(intid) - before, iar & 0x3FF),
            (1, intid),
        );
        if !gic::is_v3() {
            check_eq("GICv2: IAR names the sending vCPU", (iar >> 10) & 7, gic::cpu() as u32);
        }
    }
    // Disabled: latched as pending, not delivered; cleared, it never comes.
    gic::set_bit(private + ICENABLER, 3);
    check("ICENABLER disables SGI 3", !gic::get_bit(private + ISENABLER, 3));
    gic::send_sgi(3, 1 << gic::cpu());
    settle();
    check_eq("a disabled SGI is not delivered", count(3), 0);
    check("ISPENDR shows the disabled SGI pending", gic::get_bit(private + ISPENDR, 3));
    if gic::is_v3() {
        gic::set_bit(private + ICPENDR, 3);
    } else {
        // GICv2 SGIs have per-source pending bits, cleared through GICD_CPENDSGIR.
        check(
            "GICD_SPENDSGIR shows it pending from me",
            gic::rd(gic::gicd() + 0xF20) >> 24 == 1 << gic::cpu(),
        );
        gic::wr8(gic::gicd() + 0xF10 + 3, 0xFF);
    }
    check("ICPENDR (GICv2: CPENDSGIR) clears it", !gic::get_bit(private + ISPENDR, 3));
    gic::set_bit(private + ISENABLER, 3);
    settle();
    check_eq("a cleared SGI does not arrive when re-enabled", count(3), 0);
    // Disabled, then enabled while pending: delivered on enable.
    gic::set_bit(private + ICENABLER, 4);
    gic::send_sgi(4, 1 << gic::cpu());
    settle();
    let held = count(4);
    gic::set_bit(private + ISENABLER, 4);
    settle();
    check_eq("a pending SGI arrives when enabled", (held, count(4)), (0, 1));
    gic::irqs(false);
}

fn priority_mask(private: usize) {
    gic::wr8(private + IPRIORITYR + 5, 0xC0);
    gic::wr8(private + IPRIORITYR + 6, 0x40);
    check_eq("SGI priorities read back", (gic::rd(private + IPRIORITYR + 4) >> 8) & 0xFFFF, 0x40C0);
    gic::set_pmr(0x80);
    gic::irqs(true);
    gic::send_sgi(5, 1 << gic::cpu());
    gic::send_sgi(6, 1 << gic::cpu());
    settle();
    check_eq("PMR 0x80 holds back priority 0xC0 and lets 0x40 through", (count(5), count(6)), (0, 1));
    check("the masked SGI reads as pending", gic::get_bit(private + ISPENDR, 5));
    gic::set_pmr(0xFF);
    settle();
    check_eq("opening the mask delivers it", count(5), 1);
    gic::irqs(false);
}

fn spis() {
    let d = gic::gicd();
    for intid in [SPI_A, SPI_B, UART_IRQ] {
        gic::wr8(d + IPRIORITYR + intid as usize, 0x80);
        if gic::is_v3() {
            gic::wr(d + gic::IROUTER + 8 * intid as usize, gic::cpu() as u32);
        } else {
            gic::wr8(d + gic::ITARGETSR + intid as usize, 1 << gic::cpu());
        }
    }
    gic::set_bit(d + ISENABLER, SPI_A);
    check("ISENABLER enables an SPI", gic::get_bit(d + ISENABLER, SPI_A));
    // Pending with IRQs masked: visible in ISPENDR, delivered once unmasked.
    gic::set_bit(d + ISPENDR, SPI_A);
    check("an SPI set pending reads as pending", gic::get_bit(d + ISPENDR, SPI_A));
    gic::irqs(true);
    settle();
    gic::irqs(false);
    check_eq(
        "the SPI arrives with its INTID",
        (count(SPI_A), LAST_IAR.load(Ordering::SeqCst) & 0x3FF),
        (1, SPI_A),
    );
    check("and is no longer pending", !gic::get_bit(d + ISPENDR, SPI_A));
    // Active state on a disabled SPI.
    gic::set_bit(d + ISACTIVER, SPI_B);
    check("ISACTIVER sets an SPI active", gic::get_bit(d + ISACTIVER, SPI_B));
    gic::set_bit(d + ICACTIVER, SPI_B);
    check("ICACTIVER clears it", !gic::get_bit(d + ISACTIVER, SPI_B));
    gic::set_bit(d + ICENABLER, SPI_A);
    check("ICENABLER disables the SPI", !gic::get_bit(d + ISENABLER, SPI_A));
    // An emulated device's line: the virtual UART's TX interrupt.
    gic::set_bit(d + ISENABLER, UART_IRQ);
    gic::irqs(true);
    gic::wr(UART + 0x38, 1 << 5); // UARTIMSC.TXIM: TX already done, so the line rises
    settle();
    gic::wr(UART + 0x38, 0);
    gic::irqs(false);
    check("the virtual UART's TX interrupt arrives as INTID 33", count(UART_IRQ) >= 1);
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let v = gic::version();
    guest_rt::println!("irqtest: GICv{v}, vCPU {}", gic::cpu());
    check("GICD_PIDR2 names GICv2 or GICv3", v == 2 || v == 3);
    check_eq("GICD_TYPER.ITLinesNumber: 128 INTIDs", gic::rd(gic::gicd() + 4) & 0x1F, 3);
    gic::init_cpu_interface();
    gic::enable_distributor();
    let ctlr = gic::rd(gic::gicd());
    check(
        "GICD_CTLR enabled (GICv3: with ARE)",
        if gic::is_v3() { ctlr & 0x12 == 0x12 } else { ctlr & 1 == 1 },
    );
    guest_rt::exception::set_irq_handler(on_irq);
    let private = gic::private_base();
    gic::wr(private + ISENABLER, 0xFFFF | (1 << VTIMER));
    check_eq("SGIs and the timer PPI enabled", gic::rd(private + ISENABLER), 0xFFFF | (1 << VTIMER));
    check_eq("unused SPIs start disabled", gic::rd(gic::gicd() + ISENABLER + 8), 0);
    timer_ticks();
    rearmed_in_the_past();
    physical_timer_and_stale_ticks(private);
    timer_line_state(private);
    sgis(private);
    priority_mask(private);
    spis();
    let stray: u32 = (0..128).filter(|&i| ![0, 4, 5, 6, 7, 15, 27, 30, 33, 72].contains(&i)).map(count).sum();
    check_eq("no other interrupt arrived", stray, 0);
    guest_rt::test::summary()
}
