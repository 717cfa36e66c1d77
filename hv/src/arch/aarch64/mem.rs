//! Bulk writes to guest RAM from EL2 (a VM's restart): zero it, copy pristine images back, and
//! make both visible to a guest that starts with its MMU and caches off, so they must reach
//! the point of coherency, and to its instruction fetches.

/// Bytes DC ZVA zeroes, or `None` when it is prohibited (DCZID_EL0).
fn zva_block() -> Option<usize> {
    let dczid: u64;
    // SAFETY: reads an ID register.
    unsafe { core::arch::asm!("mrs {}, dczid_el0", out(reg) dczid) };
    (dczid & (1 << 4) == 0).then(|| 4usize << (dczid & 0xF))
}

/// The smallest data cache line (CTR_EL0.DminLine), for maintenance by address.
fn dcache_line() -> usize {
    let ctr: u64;
    // SAFETY: reads an ID register.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr) };
    4 << ((ctr >> 16) & 0xF)
}

/// Zero `[pa, pa + len)`, identity-mapped Normal memory at EL2 (page-aligned guest RAM).
pub fn zero(pa: usize, len: usize) {
    match zva_block() {
        Some(b) if pa.is_multiple_of(b) && len.is_multiple_of(b) => {
            for a in (pa..pa + len).step_by(b) {
                // SAFETY: `a` is inside the range the caller owns; DC ZVA zeroes one block.
                unsafe { core::arch::asm!("dc zva, {}", in(reg) a) };
            }
        }
        // SAFETY: the caller owns the range, mapped writable at EL2.
        _ => unsafe { core::ptr::write_bytes(pa as *mut u8, 0, len) },
    }
}

/// Copy `len` bytes from `from` to `to` (disjoint ranges of board RAM).
pub fn copy(from: usize, to: usize, len: usize) {
    // SAFETY: the caller owns both ranges, mapped at EL2; they do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(from as *const u8, to as *mut u8, len) };
}

/// Clean `[pa, pa + len)` to the point of coherency, then invalidate the instruction caches:
/// the guest starts with caches off and runs code hv just wrote.
pub fn publish(pa: usize, len: usize) {
    let line = dcache_line();
    let start = pa & !(line - 1);
    for a in (start..pa + len).step_by(line) {
        // SAFETY: cache maintenance by address on memory hv owns; no data changes.
        unsafe { core::arch::asm!("dc cvac, {}", in(reg) a) };
    }
    // SAFETY: completes the cleaning and drops stale instructions for every VMID.
    unsafe { core::arch::asm!("dsb sy", "ic ialluis", "dsb sy", "isb") };
}
