//! What hv reflects to the guest: an access no device serves is an access fault with the
//! address in stval, a fetch from a hole an instruction access fault, a hypervisor CSR an
//! illegal instruction; each arrives at the guest's own trap handler.
use guest_rt::test::{check, check_eq};
use guest_rt::trap::catch;

/// Guest-physical addresses with nothing behind them in this VM.
const HOLE: u64 = 0x3000_0000;
const LOAD_ACCESS: u64 = 5;
const STORE_ACCESS: u64 = 7;
const INSN_ACCESS: u64 = 1;
const ILLEGAL: u64 = 2;

pub fn run() {
    // SAFETY: an access hv answers with a fault, which `catch` records and steps over.
    let c = catch(|| unsafe {
        core::ptr::read_volatile(HOLE as *const u32);
    });
    check_eq(
        "a load from a hole is a load access fault",
        c.map(|c| (c.scause, c.stval)),
        Some((LOAD_ACCESS, HOLE)),
    );
    // SAFETY: an access hv answers with a fault, which `catch` records and steps over.
    let c = catch(|| unsafe { core::ptr::write_volatile((HOLE + 8) as *mut u64, 1) });
    check_eq(
        "a store to a hole is a store access fault",
        c.map(|c| (c.scause, c.stval)),
        Some((STORE_ACCESS, HOLE + 8)),
    );
    // SAFETY: an access hv answers with a fault, which `catch` records and steps over.
    let c = catch(|| unsafe {
        let f: extern "C" fn() = core::mem::transmute::<usize, extern "C" fn()>(HOLE as usize);
        f();
    });
    check_eq(
        "a jump into a hole is an instruction access fault",
        c.map(|c| (c.scause, c.stval)),
        Some((INSN_ACCESS, HOLE)),
    );
    // SAFETY: an access hv answers with a fault, which `catch` records and steps over.
    let c = catch(|| unsafe {
        let v: u64;
        core::arch::asm!("csrr {}, 0x600", out(reg) v); // hstatus
        let _ = v;
    });
    check_eq("reading hstatus is an illegal instruction", c.map(|c| c.scause), Some(ILLEGAL));
    // SAFETY: an access hv answers with a fault, which `catch` records and steps over.
    let c = catch(|| unsafe {
        core::arch::asm!(".insn r 0x73, 0, 0x31, x0, x0, x0"); // hfence.gvma
    });
    check_eq("hfence.gvma is an illegal instruction", c.map(|c| c.scause), Some(ILLEGAL));
    let uart = guest_rt::console::uart_base() as u64;
    // SAFETY: an access hv answers with a fault, which `catch` records and steps over.
    let c = catch(|| unsafe {
        core::ptr::read_volatile(uart as *const u32);
    });
    check(
        "a 32-bit read of a byte-wide UART register is refused",
        c.map(|c| (c.scause, c.stval)) == Some((LOAD_ACCESS, uart)),
    );
}
