//! The generic timer's virtual counter, for guests that time themselves (the benchmarks).
//! Under QEMU's `-icount` one tick of it at the counter's frequency counts instructions.

/// CNTVCT_EL0, ordered with the code around it (an ISB on each side).
#[inline(always)]
pub fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading the virtual counter has no side effects; the ISBs keep it in order.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", "isb", out(reg) v) };
    v
}

/// CNTFRQ_EL0: the counter's ticks per second.
#[inline(always)]
pub fn freq() -> u64 {
    let f: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) f) };
    f
}
