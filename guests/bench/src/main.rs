//! Exit-cost benchmarks. Run under QEMU `-icount shift=0,sleep=off`, where one instruction is one
//! nanosecond of virtual time: CNTVCT deltas around N iterations, minus an empty loop of the
//! same shape, give deterministic instructions per operation (guest + hypervisor).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use guest_rt::gic;
use guest_rt::hvc::{HV_NOP, PSCI_VERSION};
use guest_rt::println;

guest_rt::entry!(main);

const N: u64 = 100_000;
const UART_FR: usize = 0x18;

fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading the virtual counter has no side effects; the ISB keeps it in order.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", "isb", out(reg) v) };
    v
}

fn freq() -> u64 {
    let f: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) f) };
    f
}

/// Virtual nanoseconds (= instructions under icount) for N iterations of `body`.
#[inline(never)]
fn time(body: impl Fn()) -> u64 {
    let start = counter();
    for _ in 0..N {
        body();
    }
    let ticks = counter() - start;
    ticks * 1_000_000_000 / freq()
}

fn report(name: &str, ns: u64, base: u64) {
    let per = ns.saturating_sub(base) as f64 / N as f64;
    // Two decimals without float formatting support costs: print as fixed point.
    let hundredths = (per * 100.0) as u64;
    println!("BENCH {name} n={N} instr_per_op={}.{:02}", hundredths / 100, hundredths % 100);
}

/// Interrupts timed for `virq_latency`.
const N_IRQ: u64 = 1000;
static FIRED_AT: AtomicU64 = AtomicU64::new(0);
static FIRED: AtomicBool = AtomicBool::new(false);

/// First thing on handler entry: read the counter. Then acknowledge, stop the timer, EOI.
fn on_timer() {
    let t: u64;
    // SAFETY: reads the virtual counter.
    unsafe { core::arch::asm!("mrs {t}, cntvct_el0", t = out(reg) t) };
    let iar = gic::ack();
    // SAFETY: stops this vCPU's virtual timer, so its level interrupt drops.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, {z}", "isb", z = in(reg) 0u64) };
    gic::eoi(iar);
    FIRED_AT.store(t, Ordering::SeqCst);
    FIRED.store(true, Ordering::SeqCst);
}

/// Virtual nanoseconds from the virtual timer's deadline to the guest handler's first
/// instruction, summed over N_IRQ interrupts.
fn virq_latency() -> u64 {
    gic::init_cpu_interface();
    gic::enable_distributor();
    gic::wr(gic::private_base() + gic::ISENABLER, 1 << 27);
    gic::irqs(true);
    guest_rt::exception::set_irq_handler(on_timer);
    let mut total_ticks = 0;
    for _ in 0..N_IRQ {
        FIRED.store(false, Ordering::SeqCst);
        let deadline = counter() + 64;
        // SAFETY: arm this vCPU's virtual timer at `deadline`, enabled and unmasked.
        unsafe {
            core::arch::asm!("msr cntv_cval_el0, {d}", "msr cntv_ctl_el0, {c}", "isb", d = in(reg) deadline, c = in(reg) 1u64)
        };
        while !FIRED.load(Ordering::SeqCst) {
            core::hint::spin_loop();
        }
        total_ticks += FIRED_AT.load(Ordering::SeqCst) - deadline;
    }
    // SAFETY: mask IRQs again.
    unsafe { core::arch::asm!("msr daifset, #2") };
    total_ticks * 1_000_000_000 / freq()
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let uart = guest_rt::console::uart_base();
    let empty = time(|| {
        // SAFETY: an empty asm block the compiler cannot remove; it stands in for one operation.
        unsafe { core::arch::asm!("", options(nostack)) }
    });
    report("empty_loop", empty, 0);
    report(
        "hvc_null",
        time(|| {
            guest_rt::hvc::hvc(HV_NOP, 0, 0, 0);
        }),
        empty,
    );
    report(
        "hvc_psci_version",
        time(|| {
            guest_rt::hvc::hvc(PSCI_VERSION, 0, 0, 0);
        }),
        empty,
    );
    if uart != 0 {
        report(
            "mmio_vuart_read",
            time(|| {
                // SAFETY: a volatile read of the virtual PL011's flag register.
                unsafe { core::ptr::read_volatile((uart + UART_FR) as *const u32) };
            }),
            empty,
        );
    }
    // Not a loop of N: N_IRQ interrupts, each timed from its own deadline.
    let per = virq_latency() / N_IRQ;
    println!("BENCH virq_latency n={N_IRQ} instr_per_op={per}.00");
    0
}
