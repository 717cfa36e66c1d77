//! AArch64: a page table in a device page (hv walks it with AT S12E1R), VBAR_EL1 at nothing.
use guest_rt::mmu::{self, Table, DEVICE_BLOCK, NORMAL_BLOCK, TABLE};
use guest_rt::println;

/// A level-1 table (39-bit VAs, 1 GiB entries).
static mut L1: Table = Table([0; 512]);
/// Where the description passes a device page through with nothing behind it (QEMU's platform
/// bus): reading it is an external abort.
const HOLE: u64 = 0x0C00_0000;
/// VAs whose level-2 table the level-1 entry says lies in that page.
const THROUGH_HOLE: u64 = 0x8000_0000;

/// Identity-map the first 2 GiB (devices, then RAM), put the next level of VAs 2-3 GiB in the
/// hole, and turn the MMU on.
fn mmu_on_with_a_table_in_a_device_page() {
    // SAFETY: single-threaded guest; L1 is ours, and the new map is the identity on everything
    // this guest touches, so turning the MMU on changes no address it uses.
    unsafe {
        let l1 = &raw mut L1;
        (*l1).0[0] = DEVICE_BLOCK;
        (*l1).0[1] = 0x4000_0000 | NORMAL_BLOCK;
        (*l1).0[2] = HOLE | TABLE;
        mmu::switch(l1 as u64, true);
    }
}

pub fn run() -> u8 {
    // hv reads an HV_PUTS string through this guest's stage 1 (AT S12E1R): a table in a device
    // page makes that walk abort, inside hv. The answer must be an error code, not a crash.
    mmu_on_with_a_table_in_a_device_page();
    let r = guest_rt::hvc::hvc(0xC600_0002, THROUGH_HOLE, 8, 0)[0] as i64;
    println!("wild: HV_PUTS through a page table in a device page: {r}");
    println!("wild: unmapping my vectors and writing outside my RAM");
    // SAFETY: deliberately hostile: VBAR_EL1 at an unmapped IPA, then a store to a hole. The
    // hypervisor's answer (stopping this VM) is what the test checks.
    unsafe {
        core::arch::asm!("msr vbar_el1, {v}", "isb", v = in(reg) 0x1000_0000u64);
        core::ptr::write_volatile(0x2000_0000 as *mut u64, 0xBAD);
    }
    println!("wild: still running: the hypervisor failed to stop me");
    0
}
