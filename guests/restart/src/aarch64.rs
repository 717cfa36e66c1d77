//! AArch64: the vPL011, the virtual GIC distributor, the virtual timer, PSCI SYSTEM_RESET.
use super::{rd, wr};
use guest_rt::gic;
use guest_rt::test::check_eq;

const UART_FR: usize = 0x18;
const UART_IMSC: usize = 0x38;
const FR_RXFE: u32 = 1 << 4;
const PSCI_SYSTEM_RESET: u64 = 0x8400_0009;
/// RAM this guest never loads anything into (past its image, below the DTB of its 16 MiB VM).
pub const SCRATCH: usize = 0x40A0_0000;
pub const RESET_CALL: &str = "PSCI SYSTEM_RESET";

fn cntv_ctl() -> u64 {
    let v: u64;
    // SAFETY: reads this vCPU's virtual timer control.
    unsafe { core::arch::asm!("mrs {}, cntv_ctl_el0", out(reg) v) };
    v
}

pub fn check_devices_reset(uart: usize) {
    check_eq("the virtual distributor is off", rd(gic::gicd()) & 3, 0);
    check_eq("the virtual timer is off", cntv_ctl() & 1, 0);
    check_eq("the vPL011 has no interrupt enabled", rd(uart + UART_IMSC), 0);
}

/// One byte from the console (the vPL011's receive FIFO), polled.
pub fn getc(uart: usize) -> u8 {
    while rd(uart + UART_FR) & FR_RXFE != 0 {
        core::hint::spin_loop();
    }
    rd(uart) as u8
}

pub fn dirty_devices(uart: usize) {
    gic::init_cpu_interface();
    gic::enable_distributor();
    wr(uart + UART_IMSC, 1 << 4);
    // SAFETY: arms this vCPU's virtual timer far in the future, enabled.
    unsafe {
        core::arch::asm!("msr cntv_tval_el0, {t}", "msr cntv_ctl_el0, {c}", "isb", t = in(reg) u32::MAX as u64, c = in(reg) 1u64)
    };
}

pub fn reset() {
    guest_rt::hvc::hvc(PSCI_SYSTEM_RESET, 0, 0, 0);
}
