//! The chan guest on AArch64: HVC calls, injected data aborts, the virtual GIC.
use guest_rt::exception::{catch, Resume};
use guest_rt::gic;
use guest_rt::hvc::hvc;

pub const HV_RING: u64 = 0xC600_0005;
pub const HV_VM_CONTROL: u64 = 0xC600_0006;
pub const INVALID: i64 = -2;
pub const DENIED: i64 = -3;
pub const BAD_STATE: i64 = -4;

/// Does this access take an injected data abort?
pub fn aborts(f: impl FnOnce()) -> bool {
    catch(Resume::Next, f).is_some_and(|c| c.ec() == 0x25)
}

pub fn ring_call(ch: u64, to: u64, vector: u64) -> i64 {
    hvc(HV_RING, ch, to, vector)[0] as i64
}

/// The state, or the error code.
pub fn control(vm: u64, op: u64) -> i64 {
    hvc(HV_VM_CONTROL, vm, op, 0)[0] as i64
}

/// The interrupt a device-tree `interrupts` property names: GIC cells (type, number, flags).
pub fn intid(cells: &[u64]) -> u32 {
    cells.get(1).copied().unwrap_or(0) as u32 + 32
}

pub fn init(handler: fn()) {
    gic::init_cpu_interface();
    gic::enable_distributor();
    guest_rt::exception::set_irq_handler(handler);
    gic::irqs(true);
}

pub fn enable(intid: u32) {
    gic::set_bit(gic::gicd() + gic::ISENABLER, intid);
}

/// The interrupt being taken, and its acknowledge to hand to `done`.
pub fn take() -> (u32, u32) {
    let iar = gic::ack();
    (iar & 0xFF_FFFF, iar)
}

pub fn done(ack: u32) {
    if ack & 0xFF_FFFF < 1020 {
        gic::eoi(ack);
    }
}

pub fn irqs(on: bool) {
    gic::irqs(on);
}

pub fn wfi() {
    // SAFETY: waits for an interrupt, which one masked at PSTATE still ends.
    unsafe { core::arch::asm!("wfi") };
}
