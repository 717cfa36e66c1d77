//! riscv64: the virtual NS16550A, the virtual PLIC, the guest's own timer (Sstc), SBI reset.
use super::{rd, wr};
use guest_rt::test::check_eq;

const UART_IER: usize = 1;
const UART_LSR: usize = 5;
const LSR_DR: u8 = 1;
const PLIC: usize = 0x0C00_0000;
/// Source 10's priority, and vCPU 0's S-mode context's first enable word and threshold.
const PRIORITY10: usize = PLIC + 4 * 10;
const ENABLE_CTX1: usize = PLIC + 0x2000 + 0x80;
const THRESHOLD_CTX1: usize = PLIC + 0x20_0000 + 0x1000;
const SRST: u64 = 0x5352_5354;
/// RAM this guest never loads anything into (past its image, below the DTB of its 16 MiB VM).
pub const SCRATCH: usize = 0x80A0_0000;
pub const RESET_CALL: &str = "an SBI system reset";

fn rd8(a: usize) -> u8 {
    // SAFETY: a byte register of the UART the DTB names.
    unsafe { core::ptr::read_volatile(a as *const u8) }
}

fn stimecmp() -> u64 {
    let v: u64;
    // SAFETY: reads the guest's own timer compare register (Sstc).
    unsafe { core::arch::asm!("csrr {}, 0x14D", out(reg) v) };
    v
}

pub fn check_devices_reset(uart: usize) {
    check_eq(
        "the virtual PLIC has no priority, enable or threshold set",
        (rd(PRIORITY10), rd(ENABLE_CTX1), rd(THRESHOLD_CTX1)),
        (0, 0, 0),
    );
    check_eq("the timer is off", stimecmp(), u64::MAX);
    check_eq("the NS16550A has no interrupt enabled", rd8(uart + UART_IER), 0);
}

/// One byte from the console (the NS16550A's receive FIFO), polled.
pub fn getc(uart: usize) -> u8 {
    while rd8(uart + UART_LSR) & LSR_DR == 0 {
        core::hint::spin_loop();
    }
    rd8(uart)
}

pub fn dirty_devices(uart: usize) {
    wr(PRIORITY10, 7);
    wr(ENABLE_CTX1, 1 << 10);
    wr(THRESHOLD_CTX1, 3);
    // SAFETY: the UART's interrupt enable, and the guest's own timer far in the future.
    unsafe {
        core::ptr::write_volatile((uart + UART_IER) as *mut u8, 1);
        core::arch::asm!("csrw 0x14D, {}", in(reg) u64::MAX / 2);
    }
}

pub fn reset() {
    guest_rt::hvc::sbi(SRST, 0, 1, 0, 0); // cold reboot, no reason
}
