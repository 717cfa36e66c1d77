//! A minimal test harness: named checks, a summary line in the common `N passed, N failed` form.
use core::sync::atomic::{AtomicU32, Ordering};

static PASSED: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);

/// Record one check.
pub fn check(name: &str, ok: bool) {
    if ok {
        PASSED.fetch_add(1, Ordering::Relaxed);
        crate::println!("ok - {name}");
    } else {
        FAILED.fetch_add(1, Ordering::Relaxed);
        crate::println!("FAIL - {name}");
    }
}

/// Record an equality check, printing both sides on failure.
pub fn check_eq<T: PartialEq + core::fmt::Debug>(name: &str, got: T, want: T) {
    if got != want {
        crate::println!("  {name}: got {got:?}, want {want:?}");
    }
    check(name, got == want);
}

/// Print the summary; returns the number of failures (the exit status, capped at 255).
pub fn summary() -> u8 {
    let (p, f) = (PASSED.load(Ordering::Relaxed), FAILED.load(Ordering::Relaxed));
    crate::println!("{p} passed, {f} failed");
    f.min(255) as u8
}
