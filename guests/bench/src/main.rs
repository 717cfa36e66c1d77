//! Exit-cost benchmarks. Run under QEMU `-icount shift=0,sleep=off`, where one instruction is one
//! nanosecond of virtual time: CNTVCT deltas around N iterations, minus an empty loop of the
//! same shape, give deterministic instructions per operation (guest + hypervisor).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use guest_rt::counter::{counter, freq};
use guest_rt::gic;
use guest_rt::hvc::{HV_NOP, PSCI_VERSION};
use guest_rt::println;

guest_rt::entry!(main);

const N: u64 = 100_000;
const UART_FR: usize = 0x18;

/// Run one case a few times for a trace (see `main`).
fn profile(case: &str, vcpus: usize) -> u8 {
    let uart = guest_rt::console::uart_base();
    println!("PROFILE start");
    match case {
        // The baseline: boot and the prints around a case, subtracted from every profile.
        "none" => {}
        "hvc_null" => (0..PROFILE_N).for_each(|_| {
            guest_rt::hvc::hvc(HV_NOP, 0, 0, 0);
        }),
        "hvc_psci_version" => (0..PROFILE_N).for_each(|_| {
            guest_rt::hvc::hvc(PSCI_VERSION, 0, 0, 0);
        }),
        "mmio_vuart_read" => (0..PROFILE_N).for_each(|_| {
            // SAFETY: a volatile read of the virtual PL011's flag register.
            unsafe { core::ptr::read_volatile((uart + UART_FR) as *const u32) };
        }),
        "mmio_vgicd_read" => {
            let typer = gic::gicd() + 0x4;
            (0..PROFILE_N).for_each(|_| {
                // SAFETY: a volatile read of the virtual distributor's GICD_TYPER.
                unsafe { core::ptr::read_volatile(typer as *const u32) };
            })
        }
        _ => {
            gic::init_cpu_interface();
            gic::enable_distributor();
            guest_rt::exception::set_irq_handler(on_irq);
            match case {
                "virq_latency" => drop(virq_latency(false, PROFILE_N)),
                "virq_latency_wfi" => drop(virq_latency(true, PROFILE_N)),
                _ => drop(sgi_roundtrip(vcpus, PROFILE_N)),
            }
        }
    }
    println!("PROFILE end n={PROFILE_N}");
    0
}

/// Operations a profile run traces.
const PROFILE_N: u64 = 100;

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

/// Interrupts timed for `virq_latency` and each SGI round trip.
const N_IRQ: u64 = 1000;
static FIRED_AT: AtomicU64 = AtomicU64::new(0);
static FIRED: AtomicBool = AtomicBool::new(false);
static PONG: AtomicBool = AtomicBool::new(false);
static READY: AtomicBool = AtomicBool::new(false);
/// SGIs of the round trip: PING to vCPU 1, PONG back to vCPU 0.
const PING: u32 = 1;
const PONG_SGI: u32 = 2;
static mut STACK: [u8; 8192] = [0; 8192];

/// One IRQ handler for both vCPUs. The timer's first act is to read the counter; then it
/// acknowledges, stops the timer and EOIs. PING answers with PONG; PONG ends a round trip.
fn on_irq() {
    let t: u64;
    // SAFETY: reads the virtual counter.
    unsafe { core::arch::asm!("mrs {t}, cntvct_el0", t = out(reg) t) };
    let iar = gic::ack();
    match iar & 0x3FF {
        27 => {
            // SAFETY: stops this vCPU's virtual timer, so its level interrupt drops.
            unsafe { core::arch::asm!("msr cntv_ctl_el0, {z}", "isb", z = in(reg) 0u64) };
            gic::eoi(iar);
            FIRED_AT.store(t, Ordering::SeqCst);
            FIRED.store(true, Ordering::SeqCst);
        }
        PING => {
            gic::eoi(iar);
            gic::send_sgi(PONG_SGI, 1 << 0);
        }
        PONG_SGI => {
            gic::eoi(iar);
            PONG.store(true, Ordering::SeqCst);
        }
        _ => gic::eoi(iar),
    }
}

/// Virtual nanoseconds from the virtual timer's deadline to the guest handler's first
/// instruction, summed over N_IRQ interrupts; the guest spins, or waits in WFI, meanwhile.
fn virq_latency(wfi: bool, n: u64) -> u64 {
    gic::wr(gic::private_base() + gic::ISENABLER, 1 << 27);
    gic::irqs(true);
    let mut total_ticks = 0;
    for _ in 0..n {
        FIRED.store(false, Ordering::SeqCst);
        let deadline = counter() + 64;
        // SAFETY: arm this vCPU's virtual timer at `deadline`, enabled and unmasked.
        unsafe {
            core::arch::asm!("msr cntv_cval_el0, {d}", "msr cntv_ctl_el0, {c}", "isb", d = in(reg) deadline, c = in(reg) 1u64)
        };
        while !FIRED.load(Ordering::SeqCst) {
            if wfi {
                // SAFETY: waits for an interrupt; the timer's wakes it.
                unsafe { core::arch::asm!("wfi") };
            } else {
                core::hint::spin_loop();
            }
        }
        total_ticks += FIRED_AT.load(Ordering::SeqCst) - deadline;
    }
    gic::irqs(false);
    total_ticks * 1_000_000_000 / freq()
}

/// vCPU 1: answer each PING with a PONG, waiting in WFI between them (an idle CPU).
fn responder() {
    gic::init_cpu_interface();
    gic::wr(gic::private_base() + gic::ISENABLER, 1 << PING);
    gic::irqs(true);
    READY.store(true, Ordering::SeqCst);
    // SAFETY: wakes vCPU 0 from its WFE.
    unsafe { core::arch::asm!("sev") };
    loop {
        // SAFETY: waits for the next PING.
        unsafe { core::arch::asm!("wfi") };
    }
}

/// Virtual nanoseconds for N_IRQ round trips: vCPU 0 sends an SGI to vCPU 1, whose handler
/// sends one back; both wait in WFI. None without a second vCPU.
fn sgi_roundtrip(vcpus: usize, n: u64) -> Option<u64> {
    if vcpus < 2 {
        return None;
    }
    // SAFETY: the stack is handed to vCPU 1 once and never touched here again.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    if guest_rt::smp::start(1, stack, responder) != 0 {
        return None;
    }
    // WFE, not a spin: under -icount QEMU runs one vCPU at a time, and a spinning one would
    // keep vCPU 1 from running for a whole time slice.
    while !READY.load(Ordering::SeqCst) {
        // SAFETY: waits for an event (vCPU 1's SEV, or any interrupt).
        unsafe { core::arch::asm!("wfe") };
    }
    gic::wr(gic::private_base() + gic::ISENABLER, 1 << PONG_SGI);
    gic::irqs(true);
    let start = counter();
    for _ in 0..n {
        PONG.store(false, Ordering::SeqCst);
        gic::send_sgi(PING, 1 << 1);
        while !PONG.load(Ordering::SeqCst) {
            // SAFETY: waits for the PONG.
            unsafe { core::arch::asm!("wfi") };
        }
    }
    let ticks = counter() - start;
    gic::irqs(false);
    Some(ticks * 1_000_000_000 / freq())
}

fn main(fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let vcpus = fdt.as_ref().map_or(1, |f| f.cpus().count());
    // `only=<case>` in the bootargs runs that case alone, a few times: scripts/profile-exit
    // traces it instruction by instruction.
    let only = fdt.as_ref().and_then(|f| f.chosen().bootargs()).and_then(|a| a.strip_prefix("only="));
    if let Some(case) = only {
        return profile(case, vcpus);
    }
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
    // The address out of the loop, as the UART's: the figure is the access, not finding it.
    let typer = gic::gicd() + 0x4;
    report(
        "mmio_vgicd_read",
        time(|| {
            // SAFETY: a volatile read of the virtual distributor's GICD_TYPER.
            unsafe { core::ptr::read_volatile(typer as *const u32) };
        }),
        empty,
    );
    // Not loops of N: N_IRQ interrupts, each timed from its own deadline.
    gic::init_cpu_interface();
    gic::enable_distributor();
    guest_rt::exception::set_irq_handler(on_irq);
    for (name, wfi) in [("virq_latency", false), ("virq_latency_wfi", true)] {
        println!("BENCH {name} n={N_IRQ} instr_per_op={}.00", virq_latency(wfi, N_IRQ) / N_IRQ);
    }
    if let Some(ns) = sgi_roundtrip(vcpus, N_IRQ) {
        println!("BENCH sgi_roundtrip n={N_IRQ} instr_per_op={}.00", ns / N_IRQ);
    }
    0
}
