//! A hostile user of the virtual GIC, run beside a well-behaved VM: it writes garbage to every
//! distributor and redistributor register, takes interrupts it never acknowledges, and has its
//! second vCPU flood the first with SGIs and pending SPIs while the first never takes them.
//! hv must stay up, keep the other VM running, and answer reserved space with RAZ/WI.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::gic::{self, ICPENDR, ISENABLER, ISPENDR};
use guest_rt::test::{check, check_eq};

guest_rt::entry!(main);

const FLOOD: u32 = 20_000;
static ENTRIES: AtomicU32 = AtomicU32::new(0);
static FLOODED: AtomicU32 = AtomicU32::new(0);
static mut STACK: [u8; 8192] = [0; 8192];

/// Counts IRQ entries and never acknowledges; after many, masks everything at the CPU interface
/// (the only way out of a storm of its own making).
fn never_ack() {
    if ENTRIES.fetch_add(1, Ordering::SeqCst) >= 1000 {
        gic::set_pmr(0);
    }
}

/// Every 32-bit register of the distributor and of both redistributors (GICv3).
fn frames() -> impl Iterator<Item = usize> {
    let redists = if gic::is_v3() { 0x4_0000 } else { 0 };
    (gic::gicd()..gic::gicd() + 0x1_0000).step_by(4).chain((gic::gicr()..gic::gicr() + redists).step_by(4))
}

fn flood() {
    for n in 0..FLOOD {
        gic::send_sgi(n % 16, 1);
        if n % 64 == 0 {
            // Every SPI pending, all routed to vCPU 0 (IROUTER/ITARGETSR reset values).
            for w in 1..4 {
                gic::wr(gic::gicd() + ISPENDR + 4 * w, u32::MAX);
            }
        }
    }
    FLOODED.store(1, Ordering::SeqCst);
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let version = gic::version();
    guest_rt::println!("irqwild: GICv{version}: garbage to every register");
    for pass in [u32::MAX, 0x5A5A_5A5A, 0] {
        for a in frames() {
            gic::wr(a, pass);
        }
    }
    let sum = frames().fold(0u32, |s, a| s.wrapping_add(gic::rd(a)));
    guest_rt::println!("irqwild: read back every register (sum {sum:#x})");
    for reserved in [
        gic::gicd() + 0x10,
        gic::gicd() + 0x7C,
        gic::gicd() + 0xF04,
        gic::gicd() + 0x5000,
        gic::gicd() + 0xFFFC,
    ] {
        check_eq("reserved distributor space reads as zero after garbage", gic::rd(reserved), 0);
    }
    check_eq("GICD_PIDR2 is read-only", gic::version(), version);

    // Interrupts it never acknowledges.
    gic::init_cpu_interface();
    gic::enable_distributor();
    let private = gic::private_base();
    gic::wr(private + ISENABLER, 0xFFFF);
    guest_rt::exception::set_irq_handler(never_ack);
    gic::irqs(true);
    gic::send_sgi(1, 1);
    for _ in 0..100_000 {
        if ENTRIES.load(Ordering::SeqCst) > 1000 {
            break;
        }
        core::hint::spin_loop();
    }
    gic::irqs(false);
    check(
        "an interrupt never acknowledged is taken again and again (no hv involvement)",
        ENTRIES.load(Ordering::SeqCst) > 1000,
    );

    // A flood from vCPU 1 at vCPU 0, which has IRQs masked and never takes anything.
    for w in 1..4 {
        gic::wr(gic::gicd() + ISENABLER + 4 * w, u32::MAX);
    }
    // SAFETY: the stack is handed to vCPU 1 once and never touched here again.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    check_eq("vCPU 1 starts", guest_rt::smp::start(1, stack, flood), 0);
    let mut spins = 0u64;
    while FLOODED.load(Ordering::SeqCst) == 0 && spins < 2_000_000_000 {
        spins += 1;
        core::hint::spin_loop();
    }
    check("vCPU 1 finished its flood of SGIs and SPIs", FLOODED.load(Ordering::SeqCst) == 1);
    let pending = (1..4).all(|w| gic::rd(gic::gicd() + ISPENDR + 4 * w) == u32::MAX);
    check("every flooded SPI reads as pending (more than list registers and queue hold)", pending);
    check_eq(
        "hv still answers hypercalls",
        guest_rt::hvc::hvc(guest_rt::hvc::HV_VERSION, 0, 0, 0)[0] >> 16,
        1,
    );
    for w in 1..4 {
        gic::wr(gic::gicd() + ICPENDR + 4 * w, u32::MAX);
    }
    check("ICPENDR clears the whole flood", (1..4).all(|w| gic::rd(gic::gicd() + ISPENDR + 4 * w) == 0));
    guest_rt::test::summary()
}
