//! An emulated device reached from user mode (VU-mode) through the guest's own page tables, as
//! Linux's `devmem` reaches one: hv must fetch the trapping instruction with the privilege the
//! guest ran at (a supervisor fetch of a user page faults) and answer the load.
use guest_rt::sv39::{self, entry, Table, A, D, R, U, V, W, X};
use guest_rt::test::check_eq;

static mut ROOT: Table = Table::EMPTY;
/// Where user mode sees the guest's RAM (0x8000_0000): the GiB above it.
const USER_ALIAS: u64 = 0x4000_0000;
const SSTATUS_SIE: u64 = 1 << 1;
const ECALL_FROM_U: u64 = 8;
const LOAD_ACCESS: u64 = 5;
/// A guest-physical address with nothing behind it, in the user-accessible first GiB.
const HOLE: u64 = 0x3000_0000;

core::arch::global_asm!(
    r#"
.section .text, "ax"
// User code, run through the alias: the line status register of the UART at a0, into a0.
.balign 4
.global rvtest_user_load
rvtest_user_load:
    lbu     a0, 5(a0)
    ecall
// The same from an address with nothing behind it: hv reflects an access fault.
.balign 4
.global rvtest_user_load_hole
rvtest_user_load_hole:
    lbu     a0, 0(a0)
    ecall
// rvtest_in_user(uart, entry) -> (a0: what the user code read, a1: scause of its way back).
// Runs `entry` in user mode with a trap vector of its own, which comes back here.
.balign 4
.global rvtest_in_user
rvtest_in_user:
    addi    sp, sp, -16
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    la      t0, 1f
    csrrw   s0, stvec, t0
    csrw    sepc, a1
    li      t0, 0x100
    csrc    sstatus, t0
    sret
.balign 4
1:  csrr    a1, scause
    csrw    stvec, s0
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    addi    sp, sp, 16
    ret
"#
);

#[repr(C)]
struct Back {
    value: u64,
    scause: u64,
}

unsafe extern "C" {
    fn rvtest_user_load();
    fn rvtest_user_load_hole();
    fn rvtest_in_user(uart: u64, entry: u64) -> Back;
}

pub fn run() {
    let uart = guest_rt::console::uart_base() as u64;
    // SAFETY: single-threaded here (vCPU 1 is not started yet); ROOT is ours. The map is the
    // identity on everything the kernel side touches while it is on (its code and stack), so
    // turning translation on changes no address it uses; interrupts are off while user mode
    // runs, so only its ecall comes back.
    let back = unsafe {
        let root = &raw mut ROOT;
        (*root).0[0] = V | R | W | U | A | D; // devices, user-accessible
        (*root).0[2] = entry(0x8000_0000, V | R | W | X | A | D); // RAM, supervisor
        (*root).0[3] = entry(0x8000_0000, V | R | X | U | A); // RAM's user alias
        let satp = sv39::satp(root);
        let (sie, sstatus): (u64, u64);
        core::arch::asm!("csrrw {}, sie, zero", "csrr {}, sstatus", out(reg) sie, out(reg) sstatus);
        // sstatus.SUM stays clear, as Linux runs: a supervisor-privilege read of the user page
        // would fault, so only a fetch at the user's own privilege decodes the load.
        core::arch::asm!("csrw satp, {}", "sfence.vma", in(reg) satp);
        let load = rvtest_in_user(uart, rvtest_user_load as *const () as u64 + USER_ALIAS);
        let hole = rvtest_in_user(HOLE, rvtest_user_load_hole as *const () as u64 + USER_ALIAS);
        core::arch::asm!("csrw satp, zero", "sfence.vma");
        // The trap back cleared sstatus.SIE; the rest of the tests find it as it was.
        core::arch::asm!("csrw sie, {}", "csrs sstatus, {}", in(reg) sie, in(reg) sstatus & SSTATUS_SIE);
        (load, hole)
    };
    let (load, hole) = back;
    check_eq(
        "a load from user mode through the guest's page tables reaches the UART",
        (load.scause, load.value & 0x60),
        (ECALL_FROM_U, 0x60),
    );
    // The kernel's trap vector is a supervisor page: hv must look for it as the supervisor
    // that will run it, not as the user that faulted.
    check_eq("a load from user mode at a hole is an access fault to the kernel", hole.scause, LOAD_ACCESS);
}
