//! riscv64: an Sv39 page table whose next level lies in a hole of the VM (hv walks it with
//! `hlv`), the trap vector at nothing.
use guest_rt::hvc::{sbi, EXT_HV, HV_PUTS};
use guest_rt::println;
use guest_rt::sv39::{self, entry, Table, A, D, R, V, W, X};

static mut ROOT: Table = Table::EMPTY;
/// A guest-physical address with nothing behind it.
const HOLE: u64 = 0x3000_0000;
/// VAs whose next-level table the root says lies in the hole.
const THROUGH_HOLE: u64 = 0xC000_0000;

/// Identity-map the first GiB (devices) and the RAM GiB, put VAs 3-4 GiB's next level in the
/// hole, and turn translation on (satp: Sv39).
fn translation_on_with_a_table_in_a_hole() {
    // SAFETY: single-threaded guest; ROOT is ours, and the new map is the identity on everything
    // this guest touches, so turning translation on changes no address it uses.
    unsafe {
        let root = &raw mut ROOT;
        (*root).0[0] = V | R | W | A | D;
        (*root).0[2] = entry(0x8000_0000, V | R | W | X | A | D);
        (*root).0[3] = entry(HOLE, V);
        let satp = sv39::satp(root);
        core::arch::asm!("csrw satp, {}", "sfence.vma", in(reg) satp);
    }
}

pub fn run() -> u8 {
    // hv reads a puts string through this guest's translation (hlv): a table in a hole makes
    // that walk fault, inside hv. The answer must be an error code, not a crash.
    translation_on_with_a_table_in_a_hole();
    let (r, _) = sbi(EXT_HV, HV_PUTS, THROUGH_HOLE, 8, 0);
    println!("wild: puts through a page table in a hole: {r}");
    println!("wild: unmapping my vectors and writing outside my RAM");
    // SAFETY: deliberately hostile: stvec at a hole, then a store to another. The hypervisor's
    // answer (stopping this VM) is what the test checks.
    unsafe {
        core::arch::asm!("csrw stvec, {v}", v = in(reg) HOLE);
        core::ptr::write_volatile(0x2000_0000 as *mut u64, 0xBAD);
    }
    println!("wild: still running: the hypervisor failed to stop me");
    0
}
