//! PSCI CPU_ON/CPU_OFF cycling of vCPU 1, back-to-back CPU_ONs, and entry points hv must refuse.
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use guest_rt::hvc::hvc;
use guest_rt::test::{check, check_eq};

const CPU_ON: u64 = 0xC400_0003;
const AFFINITY_INFO: u64 = 0xC400_0004;
const CYCLES: u32 = 200;

static RUNS: AtomicU32 = AtomicU32::new(0);
/// vCPU 1 holds in `count` until vCPU 0 has made its second CPU_ON, so that one always finds
/// vCPU 1 on.
static GO: AtomicBool = AtomicBool::new(true);
/// SVCR as vCPU 1 found it when started again after leaving in streaming mode.
static SVCR_SEEN: AtomicU64 = AtomicU64::new(u64::MAX);
static mut STACK: [u8; 4096] = [0; 4096];

fn count() {
    while !GO.load(Ordering::SeqCst) {
        core::hint::spin_loop();
    }
    RUNS.fetch_add(1, Ordering::SeqCst);
}

/// Wait until AFFINITY_INFO says vCPU `k` is off.
pub fn wait_off(k: u64) -> bool {
    (0..50_000_000u64).any(|_| hvc(AFFINITY_INFO, k, 0, 0)[0] == 1)
}

fn start_with(f: fn()) -> i64 {
    // SAFETY: vCPU 1 is off whenever this is called, so nothing else uses the stack.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    guest_rt::smp::start(1, stack, f)
}

fn start() -> i64 {
    start_with(count)
}

fn has_sme() -> bool {
    let pfr1: u64;
    // SAFETY: reads an ID register.
    unsafe { core::arch::asm!("mrs {}, id_aa64pfr1_el1", out(reg) pfr1) };
    (pfr1 >> 24) & 0xF != 0
}

/// Enable SME at EL1 (CPACR_EL1.SMEN) and return SVCR.
fn svcr() -> u64 {
    let v: u64;
    // SAFETY: enables SME for this vCPU and reads SVCR (S3_3_C4_C2_2); no memory is touched.
    unsafe {
        core::arch::asm!(
            "mrs {t}, cpacr_el1", "orr {t}, {t}, #(3 << 24)", "msr cpacr_el1, {t}", "isb",
            "mrs {v}, s3_3_c4_c2_2",
            t = out(reg) _, v = out(reg) v,
        )
    };
    v
}

/// Enter streaming mode with ZA on (SVCR.SM and ZA), then leave the vCPU that way.
fn streaming() {
    let _ = svcr();
    // SAFETY: SMSTART: PSTATE.SM and ZA set; the code after it (an atomic add and the return
    // to CPU_OFF) uses no SIMD instruction that streaming mode forbids.
    unsafe { core::arch::asm!("msr s3_3_c4_c2_2, {}", "isb", in(reg) 3u64) };
    count();
}

fn look() {
    SVCR_SEEN.store(svcr(), Ordering::SeqCst);
    count();
}

pub fn run(ram: (u64, u64)) {
    let end = ram.0 + ram.1;
    for (what, entry) in [
        ("CPU_ON with an entry below RAM is INVALID_ADDRESS", ram.0 - 4),
        ("CPU_ON with an entry at the end of RAM is INVALID_ADDRESS", end),
        ("CPU_ON with an entry in a device is INVALID_ADDRESS", crate::UART),
        ("CPU_ON with an entry near 2^64 is INVALID_ADDRESS", u64::MAX - 3),
    ] {
        check_eq(what, hvc(CPU_ON, 1, entry, 0)[0] as i64, -9);
    }
    check_eq("vCPU 1 stayed off", hvc(AFFINITY_INFO, 1, 0, 0)[0], 1);

    // A vCPU that turned itself off in streaming mode comes back with SVCR clear, as from reset
    // (the guest's own code would otherwise run its first SIMD instruction in streaming mode).
    if has_sme() {
        let before = RUNS.load(Ordering::SeqCst);
        let ok = start_with(streaming) == 0 && wait_off(1) && start_with(look) == 0 && wait_off(1);
        check_eq(
            "CPU_ON after CPU_OFF in streaming mode starts with SVCR clear",
            (ok, SVCR_SEEN.load(Ordering::SeqCst)),
            (true, 0),
        );
        RUNS.store(before, Ordering::SeqCst);
    }
    // On, off, on, off: each time vCPU 1 runs once and turns itself off.
    let mut ok = 0;
    for i in 0..CYCLES {
        GO.store(false, Ordering::SeqCst);
        let r = start();
        // A second CPU_ON while vCPU 1 runs (it waits for GO): already on, or on its way
        // (ON_PENDING). Were it started, it would run from the image's entry.
        let again = hvc(CPU_ON, 1, ram.0, 0)[0] as i64;
        GO.store(true, Ordering::SeqCst);
        let ran = (0..50_000_000u64).any(|_| RUNS.load(Ordering::SeqCst) > i);
        if r == 0 && (again == -4 || again == -5) && ran && wait_off(1) {
            ok += 1;
        }
    }
    check_eq(
        "200 CPU_ON/CPU_OFF cycles of vCPU 1, each run once",
        (ok, RUNS.load(Ordering::SeqCst)),
        (CYCLES, CYCLES),
    );
    check("vCPU 1 is off at the end", hvc(AFFINITY_INFO, 1, 0, 0)[0] == 1);
}
