//! A board device passed through, from inside the VM that owns it: QEMU virt's PL031 real-time
//! clock, mapped at its own address, and its alarm interrupt routed through the virtual GIC as
//! the SPI the board wires (INTID 34). Checks that it identifies and counts, that an alarm
//! arrives once with its INTID, that a handler which EOIs before clearing the device still
//! takes it once, and that an alarm cleared before the guest took it is never delivered, as
//! on bare metal. Ends with `N passed, N failed`.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::gic::{self, ICENABLER, IPRIORITYR, ISENABLER, ISPENDR};
use guest_rt::test::{check, check_eq};

guest_rt::entry!(main);

const RTC: usize = 0x0901_0000;
const RTCDR: usize = 0x00;
const RTCMR: usize = 0x04;
const RTCIMSC: usize = 0x10;
const RTCRIS: usize = 0x14;
const RTCICR: usize = 0x1C;
/// Spi(2): where QEMU's virt board wires the PL031.
const RTC_IRQ: u32 = 34;

/// Alarms taken (with INTID 34), and acknowledges that found nothing (spurious).
static TAKEN: AtomicU32 = AtomicU32::new(0);
static SPURIOUS: AtomicU32 = AtomicU32::new(0);
static OTHER: AtomicU32 = AtomicU32::new(0);
/// The handler ends the interrupt before clearing the device (legal, and what some drivers do).
static EOI_FIRST: AtomicU32 = AtomicU32::new(0);

fn rtc(off: usize) -> u32 {
    gic::rd(RTC + off)
}

fn set_rtc(off: usize, v: u32) {
    gic::wr(RTC + off, v)
}

fn on_irq() {
    let iar = gic::ack();
    let intid = iar & 0x3FF;
    if intid >= 1020 {
        SPURIOUS.fetch_add(1, Ordering::SeqCst);
        return;
    }
    if intid != RTC_IRQ {
        OTHER.fetch_add(1, Ordering::SeqCst);
        gic::eoi(iar);
        return;
    }
    TAKEN.fetch_add(1, Ordering::SeqCst);
    if EOI_FIRST.load(Ordering::SeqCst) != 0 {
        gic::eoi(iar);
        // Long enough for the still-high line to come back to the hypervisor, on whichever
        // pCPU the physical interrupt reaches (5 ms).
        let end = counter() + freq() / 200;
        while counter() < end {
            spin(100);
        }
        set_rtc(RTCICR, 1);
    } else {
        set_rtc(RTCICR, 1);
        gic::eoi(iar);
    }
}

fn spin(n: u32) {
    for _ in 0..n {
        core::hint::spin_loop();
    }
}

fn counter() -> u64 {
    let v: u64;
    // SAFETY: reads the virtual counter.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) v) };
    v
}

fn freq() -> u64 {
    let f: u64;
    // SAFETY: reads the counter frequency.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) f) };
    f
}

/// Raise the alarm now: a match value equal to the count fires at once on QEMU's PL031 (a
/// second boundary between the read and the write pushes it a wrap away, so retry).
fn alarm_now() -> bool {
    for _ in 0..10 {
        set_rtc(RTCMR, rtc(RTCDR));
        if rtc(RTCRIS) & 1 != 0 {
            return true;
        }
    }
    false
}

/// Let interrupts in for about `ms` milliseconds of guest time.
fn open_for(ms: u64) {
    let end = counter() + freq() / 1000 * ms;
    gic::irqs(true);
    while counter() < end {
        spin(100);
    }
    gic::irqs(false);
}

static DONE: AtomicU32 = AtomicU32::new(0);

/// vCPU 1 takes the alarm: the hypervisor posts it across pCPUs and must watch this vCPU's
/// acknowledge there, with the same answers as on vCPU 0.
fn on_vcpu1() {
    gic::init_cpu_interface();
    guest_rt::exception::set_irq_handler(on_irq);
    if gic::is_v3() {
        gic::wr(gic::gicd() + gic::IROUTER + 8 * RTC_IRQ as usize, 1);
    } else {
        gic::wr8(gic::gicd() + gic::ITARGETSR + RTC_IRQ as usize, 1 << 1);
    }
    let before = TAKEN.load(Ordering::SeqCst);
    EOI_FIRST.store(1, Ordering::SeqCst);
    alarm_now();
    open_for(50);
    EOI_FIRST.store(0, Ordering::SeqCst);
    check_eq("on vCPU 1: a handler that EOIs first takes it once", TAKEN.load(Ordering::SeqCst) - before, 1);
    alarm_now();
    spin(20_000);
    set_rtc(RTCICR, 1);
    open_for(20);
    check_eq(
        "on vCPU 1: an alarm cleared before it unmasked is not delivered",
        TAKEN.load(Ordering::SeqCst) - before,
        1,
    );
    alarm_now();
    open_for(20);
    check_eq("on vCPU 1: the next alarm arrives", TAKEN.load(Ordering::SeqCst) - before, 2);
    DONE.store(1, Ordering::SeqCst);
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    guest_rt::println!("rtc: GICv{}, the board's PL031 passed through", gic::version());
    let ids: [u32; 8] = core::array::from_fn(|i| rtc(0xFE0 + 4 * i) & 0xFF);
    // Part 0x031 by ARM (designer 0x41), any revision; the PrimeCell ID.
    let part = (ids[0], ids[1] & 0xF, ids[1] >> 4 | (ids[2] & 0xF) << 4);
    check_eq(
        "the PL031 identifies itself (part, designer, PrimeCell ID)",
        (part, &ids[4..]),
        ((0x31, 0, 0x41), &[0x0D, 0xF0, 0x05, 0xB1][..]),
    );
    let t0 = rtc(RTCDR);
    guest_rt::println!("rtc: RTCDR {t0}");
    check("the RTC holds a time after 2020", t0 > 1_577_836_800);
    let deadline = counter() + 3 * freq();
    while rtc(RTCDR) == t0 && counter() < deadline {
        spin(1000);
    }
    check("and counts seconds", rtc(RTCDR) > t0);

    gic::init_cpu_interface();
    gic::enable_distributor();
    guest_rt::exception::set_irq_handler(on_irq);
    gic::wr8(gic::gicd() + IPRIORITYR + RTC_IRQ as usize, 0x80);
    if gic::is_v3() {
        gic::wr(gic::gicd() + gic::IROUTER + 8 * RTC_IRQ as usize, gic::cpu() as u32);
    } else {
        gic::wr8(gic::gicd() + gic::ITARGETSR + RTC_IRQ as usize, 1 << gic::cpu());
    }
    gic::set_bit(gic::gicd() + ISENABLER, RTC_IRQ);
    set_rtc(RTCICR, 1);
    set_rtc(RTCIMSC, 1);

    // 1. An alarm, handled the usual way (clear the device, then EOI).
    check("the alarm is raised", alarm_now());
    open_for(20);
    check_eq("the alarm arrives once, as INTID 34", TAKEN.load(Ordering::SeqCst), 1);
    check("and its line is down afterwards", rtc(RTCRIS) & 1 == 0);

    // 2. A handler that EOIs first and clears afterwards: the line is still high at EOI.
    EOI_FIRST.store(1, Ordering::SeqCst);
    let spurious = SPURIOUS.load(Ordering::SeqCst);
    alarm_now();
    open_for(50);
    check_eq("a handler that EOIs before clearing the device takes it once", TAKEN.load(Ordering::SeqCst), 2);
    guest_rt::println!("rtc: spurious acknowledges after it: {}", SPURIOUS.load(Ordering::SeqCst) - spurious);
    EOI_FIRST.store(0, Ordering::SeqCst);

    // 3. Raised while the guest has IRQs masked, cleared before it unmasks: never delivered.
    alarm_now();
    spin(20_000); // the hypervisor takes the physical interrupt meanwhile
    check("an alarm not yet taken reads as pending", gic::get_bit(gic::gicd() + ISPENDR, RTC_IRQ));
    set_rtc(RTCICR, 1);
    check(
        "cleared at the device, it no longer reads as pending",
        !gic::get_bit(gic::gicd() + ISPENDR, RTC_IRQ),
    );
    open_for(20);
    check_eq("and it never arrives", TAKEN.load(Ordering::SeqCst), 2);

    // 3b. The same without looking at ISPENDR: the guest's acknowledge is where it must not
    // find it.
    alarm_now();
    spin(20_000);
    set_rtc(RTCICR, 1);
    open_for(20);
    check_eq("an alarm cleared before the guest unmasked is not delivered", TAKEN.load(Ordering::SeqCst), 2);

    // 4. And the next one does.
    alarm_now();
    open_for(20);
    check_eq("the next alarm arrives", TAKEN.load(Ordering::SeqCst), 3);

    // 5. Routed to vCPU 1, on another pCPU than the one the physical interrupt reaches.
    static mut STACK: [u8; 0x4000] = [0; 0x4000];
    // SAFETY: the stack is vCPU 1's alone from here on.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    if guest_rt::smp::start(1, stack, on_vcpu1) == 0 {
        let end = counter() + 10 * freq();
        while DONE.load(Ordering::SeqCst) == 0 && counter() < end {
            spin(1000);
        }
        check("vCPU 1 finished its alarms", DONE.load(Ordering::SeqCst) != 0);
    }
    gic::set_bit(gic::gicd() + ICENABLER, RTC_IRQ);
    check_eq("no other interrupt arrived", OTHER.load(Ordering::SeqCst), 0);
    guest_rt::test::summary()
}
