//! Interrupts: the timer through Sstc (the guest's stimecmp; hv never sees it), the UART's
//! transmitter-empty interrupt through the virtual PLIC (claim, IIR, complete), and a software
//! interrupt sent by vCPU 1, which vCPU 0 starts with SBI HSM and which stops itself after.
use crate::sbi::{HSM, IPI};
use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::hvc::sbi;
use guest_rt::test::{check, check_eq};

const IRQ_S_SOFT: u64 = 1;
const IRQ_S_TIMER: u64 = 5;
const IRQ_S_EXT: u64 = 9;
const PLIC: usize = 0x0C00_0000;
/// vCPU 0's S-mode context (1): threshold and claim/complete.
const CTX1: usize = PLIC + 0x20_0000 + 0x1000;
const UART_SOURCE: u32 = 10;

static TICKS: AtomicU32 = AtomicU32::new(0);
static UART_IRQS: AtomicU32 = AtomicU32::new(0);
static UART_IIR: AtomicU32 = AtomicU32::new(0);
static IPIS: AtomicU32 = AtomicU32::new(0);
static SPURIOUS: AtomicU32 = AtomicU32::new(0);

fn rd32(a: usize) -> u32 {
    // SAFETY: an aligned 32-bit register of the virtual PLIC.
    unsafe { core::ptr::read_volatile(a as *const u32) }
}
fn wr32(a: usize, v: u32) {
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(a as *mut u32, v) }
}
fn wr8(a: usize, v: u8) {
    // SAFETY: a byte register of the UART.
    unsafe { core::ptr::write_volatile(a as *mut u8, v) }
}
fn rd8(a: usize) -> u8 {
    // SAFETY: as above.
    unsafe { core::ptr::read_volatile(a as *const u8) }
}

fn handler(cause: u64) {
    match cause {
        IRQ_S_TIMER => {
            TICKS.fetch_add(1, Ordering::SeqCst);
            // SAFETY: the guest's own timer compare register (Sstc): far future = off.
            unsafe { core::arch::asm!("csrw 0x14D, {}", in(reg) u64::MAX) };
        }
        IRQ_S_EXT => {
            let s = rd32(CTX1 + 4);
            if s == UART_SOURCE {
                let uart = guest_rt::console::uart_base();
                UART_IIR.store(rd8(uart + 2) as u32, Ordering::SeqCst);
                wr8(uart + 1, 0); // IER: done with it
                UART_IRQS.fetch_add(1, Ordering::SeqCst);
            } else {
                SPURIOUS.fetch_add(1, Ordering::SeqCst);
            }
            if s != 0 {
                wr32(CTX1 + 4, s);
            }
        }
        IRQ_S_SOFT => {
            // SAFETY: clearing the guest's own pending software interrupt.
            unsafe { core::arch::asm!("csrc sip, {}", in(reg) 1u64 << 1) };
            IPIS.fetch_add(1, Ordering::SeqCst);
        }
        _ => {
            SPURIOUS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn enable(bits: u64) {
    // SAFETY: the guest's own interrupt enables.
    unsafe { core::arch::asm!("csrs sie, {}", "csrsi sstatus, 2", in(reg) bits) };
}

fn wait_for(counter: &AtomicU32, n: u32) -> bool {
    for _ in 0..1000 {
        if counter.load(Ordering::SeqCst) >= n {
            return true;
        }
        // SAFETY: waiting for an interrupt.
        unsafe { core::arch::asm!("wfi") };
    }
    counter.load(Ordering::SeqCst) >= n
}

fn now() -> u64 {
    let t: u64;
    // SAFETY: reading the time counter (hcounteren lets the guest).
    unsafe { core::arch::asm!("rdtime {}", out(reg) t) };
    t
}

pub fn run() {
    guest_rt::trap::set_irq_handler(handler);
    // Timer: 1 ms from now at 10 MHz.
    // SAFETY: the guest's own stimecmp (Sstc).
    unsafe { core::arch::asm!("csrw 0x14D, {}", in(reg) now() + 10_000) };
    enable(1 << IRQ_S_TIMER);
    check("a timer interrupt arrives (Sstc)", wait_for(&TICKS, 1));
    check_eq("and only one", TICKS.load(Ordering::SeqCst), 1);

    // UART through the virtual PLIC.
    wr32(PLIC + 4 * UART_SOURCE as usize, 1);
    wr32(PLIC + 0x2000 + 0x80, 1 << UART_SOURCE);
    wr32(CTX1, 0);
    enable(1 << IRQ_S_EXT);
    wr8(guest_rt::console::uart_base() + 1, 1 << 1); // IER.THRI: THR is empty, so it fires
    check("the UART's interrupt arrives through the PLIC", wait_for(&UART_IRQS, 1));
    check_eq("its IIR says transmitter empty", UART_IIR.load(Ordering::SeqCst) & 0xF, 2);
    check_eq("the PLIC has nothing pending after completion", rd32(PLIC + 0x1000), 0);

    // vCPU 1 sends vCPU 0 a software interrupt, then stops itself.
    enable(1 << IRQ_S_SOFT);
    // SAFETY: the stack is handed to vCPU 1 once and never touched here again.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(SECONDARY_STACK) };
    check_eq("HSM starts vCPU 1", guest_rt::smp::start(1, stack, secondary), 0);
    check("vCPU 1's IPI arrives", wait_for(&IPIS, 1));
    let mut stopped = false;
    for _ in 0..100_000 {
        if sbi(HSM, 2, 1, 0, 0) == (0, 1) {
            stopped = true;
            break;
        }
    }
    check("vCPU 1 stopped itself", stopped);
    check_eq("no spurious interrupts", SPURIOUS.load(Ordering::SeqCst), 0);
}

static mut SECONDARY_STACK: [u8; 0x4000] = [0; 0x4000];

/// vCPU 1: sends vCPU 0 an IPI; the runtime stops it after.
fn secondary() {
    let _ = sbi(IPI, 0, 1, 0, 0);
}
