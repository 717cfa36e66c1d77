//! A seeded fuzz driver for the guest-facing logic, on stable Rust: each target turns a case's
//! random stream into hostile input and asserts the architectural invariants. `cargo test` runs a
//! short smoke of every target (they live beside the code they test: `hv/src/arch/*/`,
//! `devices/src/`); `make fuzz` runs millions of cases in an optimised build that keeps
//! overflow checks (profile `fuzz`) and reports executions per second.
//!
//! Written by hand rather than with cargo-fuzz: libFuzzer needs a nightly toolchain, which a
//! fresh machine here does not have, and structure-aware generation (biased towards the values
//! and encodings the code branches on) finds these bugs without coverage feedback.
extern crate std;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// Case generator: splitmix64, so any case replays from its seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    pub fn bool(&mut self) -> bool {
        self.u64() & 1 != 0
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.u64() % n
    }
    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
    /// A value biased to where code branches and arithmetic overflows: 0, small, all ones,
    /// near the top, powers of two and their neighbours, or anything.
    pub fn value(&mut self) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => self.below(64),
            2 => u64::MAX - self.below(64),
            3 => {
                let p = 1u64 << self.below(64);
                p.wrapping_add(self.below(3)).wrapping_sub(1)
            }
            4 => self.u64() & 0xFFFF_FFFF,
            5 => self.u64() | 0xFFFF_FFFF_0000_0000,
            _ => self.u64(),
        }
    }
}

/// Cases per target: `HV_FUZZ_EXECS`, else `smoke` (the `cargo test` run).
fn execs(smoke: u64) -> u64 {
    std::env::var("HV_FUZZ_EXECS").ok().and_then(|v| v.parse().ok()).unwrap_or(smoke)
}

/// Run `one` on `execs` cases of `name`. A failing case is reported with the seed that replays
/// it alone (`HV_FUZZ_CASE=<seed>`); `HV_FUZZ_SEED` shifts the whole run.
pub fn run(name: &str, smoke: u64, mut one: impl FnMut(&mut Rng)) {
    let parse = |k: &str| {
        std::env::var(k).ok().and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
    };
    if let Some(case) = parse("HV_FUZZ_CASE") {
        one(&mut Rng::new(case));
        return;
    }
    let base = parse("HV_FUZZ_SEED").unwrap_or(0x4856_0000) ^ fnv(name);
    let n = execs(smoke);
    let start = Instant::now();
    for i in 0..n {
        let case = base.wrapping_add(i.wrapping_mul(0xD1B5_4A32_D192_ED03));
        if catch_unwind(AssertUnwindSafe(|| one(&mut Rng::new(case)))).is_err() {
            panic!("fuzz {name}: case {case:#x} failed; HV_FUZZ_CASE={case:x} replays it");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::println!(
        "fuzz {name}: {n} execs in {secs:.2} s, {:.0} exec/s, 0 failures",
        n as f64 / secs.max(1e-9)
    );
}

/// FNV-1a, so each target draws its own cases.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01B3))
}
