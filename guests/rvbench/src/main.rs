//! riscv64 exit-cost benchmarks. Under QEMU `-icount shift=0,sleep=off` the cycle counter counts
//! instructions (all of them, hv's included), so `rdcycle` deltas around N iterations, minus an
//! empty loop of the same shape, give deterministic instructions per operation.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use guest_rt::hvc::{sbi, EXT_HV, HV_NOP};
use guest_rt::println;

guest_rt::entry!(main);

const N: u64 = 100_000;
const N_IRQ: u64 = 1000;
const PLIC: usize = 0x0C00_0000;
const IPI: u64 = 0x0073_5049;
const BASE: u64 = 0x10;
const IRQ_S_SOFT: u64 = 1;
const IRQ_S_TIMER: u64 = 5;

fn cycles() -> u64 {
    let c: u64;
    // SAFETY: reading the cycle counter (hcounteren lets the guest) has no side effects.
    unsafe { core::arch::asm!("rdcycle {}", out(reg) c) };
    c
}

fn time() -> u64 {
    let t: u64;
    // SAFETY: reading the time counter has no side effects.
    unsafe { core::arch::asm!("rdtime {}", out(reg) t) };
    t
}

/// Instructions per call of `f`, the loop's own cost subtracted, in hundredths.
fn measure(mut f: impl FnMut()) -> u64 {
    let t0 = cycles();
    for _ in 0..N {
        core::hint::black_box(());
    }
    let empty = cycles() - t0;
    let t0 = cycles();
    for _ in 0..N {
        f();
    }
    let full = cycles() - t0;
    full.saturating_sub(empty) * 100 / N
}

fn report(name: &str, hundredths: u64, n: u64) {
    println!("BENCH {name} n={n} instr_per_op={}.{:02}", hundredths / 100, hundredths % 100);
}

static FIRED_AT: AtomicU64 = AtomicU64::new(0);
/// Software interrupts taken by vCPU 0 and by vCPU 1 (each keeps its hart index in sscratch).
static IPIS: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];

fn vcpu() -> usize {
    let v: u64;
    // SAFETY: reading the guest's own scratch register.
    unsafe { core::arch::asm!("csrr {}, sscratch", out(reg) v) };
    (v & 1) as usize
}

fn on_irq(cause: u64) {
    let now = cycles();
    match cause {
        IRQ_S_TIMER => {
            FIRED_AT.store(now, Ordering::SeqCst);
            // SAFETY: the guest's own stimecmp (Sstc): far future = off.
            unsafe { core::arch::asm!("csrw 0x14D, {}", in(reg) u64::MAX) };
        }
        IRQ_S_SOFT => {
            // SAFETY: clearing the guest's own pending software interrupt.
            unsafe { core::arch::asm!("csrc sip, {}", in(reg) 1u64 << 1) };
            IPIS[vcpu()].fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    }
}

fn wfi() {
    // SAFETY: waiting for an interrupt.
    unsafe { core::arch::asm!("wfi") };
}

fn enable(bits: u64) {
    // SAFETY: the guest's own interrupt enables.
    unsafe { core::arch::asm!("csrs sie, {}", "csrsi sstatus, 2", in(reg) bits) };
}

/// Instructions from the timer's deadline to the handler, over `n` deadlines (the guest
/// spinning). The time counter ticks every 100 instructions at 10 MHz under -icount.
fn timer_latency(n: u64) -> u64 {
    enable(1 << IRQ_S_TIMER);
    let mut total = 0;
    for _ in 0..n {
        FIRED_AT.store(0, Ordering::SeqCst);
        let deadline = time() + 50;
        // SAFETY: the guest's own stimecmp (Sstc).
        unsafe { core::arch::asm!("csrw 0x14D, {}", in(reg) deadline) };
        while FIRED_AT.load(Ordering::SeqCst) == 0 {
            core::hint::spin_loop();
        }
        total += FIRED_AT.load(Ordering::SeqCst).saturating_sub(deadline * 100);
    }
    total / n
}

static PONG: AtomicU64 = AtomicU64::new(0);

/// vCPU 0 -> vCPU 1 -> vCPU 0 with SBI IPIs, instructions per round trip.
fn ipi_roundtrip(n: u64) -> Option<u64> {
    enable(1 << IRQ_S_SOFT);
    // SAFETY: the stack is handed to vCPU 1 once and never touched here again.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    if guest_rt::smp::start(1, stack, responder) != 0 {
        return None;
    }
    // Not a bare spin: under -icount QEMU runs the harts in turn, and a hart that spins with no
    // timer due keeps the other from starting.
    while PONG.load(Ordering::SeqCst) == 0 {
        wfi(); // vCPU 1 sends an IPI once it is up
    }
    let base = IPIS[0].load(Ordering::SeqCst);
    let t0 = cycles();
    for i in 1..=n {
        sbi(IPI, 0, 1 << 1, 0, 0);
        while IPIS[0].load(Ordering::SeqCst) < base + i {
            wfi();
        }
    }
    Some((cycles() - t0) / n)
}

/// vCPU 1's stack: only its own code uses it.
static mut STACK: [u8; 0x4000] = [0; 0x4000];

/// vCPU 1: answer every IPI with one back.
fn responder() {
    enable(1 << IRQ_S_SOFT);
    PONG.store(1, Ordering::SeqCst);
    sbi(IPI, 0, 1, 0, 0);
    let mut seen = 0;
    loop {
        let now = IPIS[1].load(Ordering::SeqCst);
        if now > seen {
            seen = now;
            sbi(IPI, 0, 1, 0, 0);
        }
        wfi();
    }
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let uart = guest_rt::console::uart_base();
    report(
        "sbi_null",
        measure(|| {
            sbi(EXT_HV, HV_NOP, 0, 0, 0);
        }),
        N,
    );
    report(
        "sbi_base_version",
        measure(|| {
            sbi(BASE, 0, 0, 0, 0);
        }),
        N,
    );
    report(
        "mmio_vuart_read",
        measure(|| {
            // SAFETY: a volatile read of the virtual NS16550A's line status register.
            unsafe { core::ptr::read_volatile((uart + 5) as *const u8) };
        }),
        N,
    );
    report(
        "mmio_vplic_read",
        measure(|| {
            // SAFETY: a volatile read of the virtual PLIC's priority register of source 1.
            unsafe { core::ptr::read_volatile((PLIC + 4) as *const u32) };
        }),
        N,
    );
    guest_rt::trap::set_irq_handler(on_irq);
    report("timer_latency", timer_latency(N_IRQ) * 100, N_IRQ);
    if let Some(c) = ipi_roundtrip(N_IRQ) {
        report("ipi_roundtrip", c * 100, N_IRQ);
    }
    0
}
