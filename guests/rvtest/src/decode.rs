//! Loads and stores hv decodes for emulated devices: every width, sign and zero extension,
//! compressed forms, the register file edges (x0, a high register). The virtual PLIC's 32-bit
//! registers and the UART's byte registers are the targets.
use guest_rt::test::{check, check_eq};
use guest_rt::trap::catch;

/// The virtual PLIC: source 1's priority, and S-mode context 1's first enable word.
const PLIC: u64 = 0x0C00_0000;
const PRIORITY1: u64 = PLIC + 4;
const ENABLE_CTX1: u64 = PLIC + 0x2000 + 0x80;
const LOAD_ACCESS: u64 = 5;

pub fn run() {
    let (mut lw, mut lwu, mut clw): (u64, u64, u64);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    unsafe {
        core::arch::asm!(
            "sw {v}, 0({a})",
            "lw {lw}, 0({a})",
            "lwu {lwu}, 0({a})",
            a = in(reg) ENABLE_CTX1, v = in(reg) 0xFFFF_FFFEu64,
            lw = out(reg) lw, lwu = out(reg) lwu,
        );
    }
    check_eq("lw sign-extends a device word", lw, 0xFFFF_FFFF_FFFF_FFFE);
    check_eq("lwu zero-extends it", lwu, 0xFFFF_FFFE);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    unsafe {
        core::arch::asm!(
            "c.sw a1, 0(a0)",
            "c.lw a2, 0(a0)",
            in("a0") PRIORITY1, in("a1") 5u64, out("a2") clw,
        );
    }
    check_eq("c.sw and c.lw reach the device", clw, 5);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    unsafe {
        core::arch::asm!("sw x0, 0({a})", "lw {r}, 0({a})", a = in(reg) PRIORITY1, r = out(reg) lw);
    }
    check_eq("a store of x0 writes zero", lw, 0);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    unsafe {
        core::arch::asm!("li t6, 3", "sw t6, 0({a})", "lw t5, 0({a})", "mv {r}, t5", a = in(reg) PRIORITY1, r = out(reg) lw, out("t5") _, out("t6") _);
    }
    check_eq("x30 and x31 as data registers", lw, 3);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    let c = catch(|| unsafe {
        let v: u64;
        core::arch::asm!("ld {}, 0({})", out(reg) v, in(reg) PRIORITY1);
        let _ = v;
    });
    check_eq(
        "a 64-bit load of a 32-bit register is refused",
        c.map(|c| (c.scause, c.stval)),
        Some((LOAD_ACCESS, PRIORITY1)),
    );
    let uart = guest_rt::console::uart_base() as u64;
    let (mut lb, mut lbu): (u64, u64);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    unsafe {
        core::arch::asm!(
            "sb {v}, 7({a})",
            "lb {lb}, 7({a})",
            "lbu {lbu}, 7({a})",
            a = in(reg) uart, v = in(reg) 0xF0u64, lb = out(reg) lb, lbu = out(reg) lbu,
        );
    }
    check_eq("lb sign-extends a device byte", lb, 0xFFFF_FFFF_FFFF_FFF0);
    check_eq("lbu zero-extends it", lbu, 0xF0);
    // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
    unsafe { core::arch::asm!("sw x0, 0({a})", a = in(reg) ENABLE_CTX1) };
    check(
        "the enable word is clear again",
        // SAFETY: accesses to the emulated devices' registers, which hv decodes and serves; the PLIC enable word is cleared at the end.
        unsafe { core::ptr::read_volatile(ENABLE_CTX1 as *const u32) } == 0,
    );
}
