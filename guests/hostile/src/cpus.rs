//! PSCI CPU_ON/CPU_OFF cycling of vCPU 1, back-to-back CPU_ONs, and entry points hv must refuse.
use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::hvc::hvc;
use guest_rt::test::{check, check_eq};

const CPU_ON: u64 = 0xC400_0003;
const AFFINITY_INFO: u64 = 0xC400_0004;
const CYCLES: u32 = 200;

static RUNS: AtomicU32 = AtomicU32::new(0);
static mut STACK: [u8; 4096] = [0; 4096];

fn count() {
    RUNS.fetch_add(1, Ordering::SeqCst);
}

/// Wait until AFFINITY_INFO says vCPU `k` is off.
pub fn wait_off(k: u64) -> bool {
    (0..50_000_000u64).any(|_| hvc(AFFINITY_INFO, k, 0, 0)[0] == 1)
}

fn start() -> i64 {
    // SAFETY: vCPU 1 is off whenever this is called, so nothing else uses the stack.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    guest_rt::smp::start(1, stack, count)
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

    // On, off, on, off: each time vCPU 1 runs once and turns itself off.
    let mut ok = 0;
    for i in 0..CYCLES {
        let r = start();
        // A second CPU_ON straight after: already on, or on its way (ON_PENDING).
        let again = hvc(CPU_ON, 1, ram.0, 0)[0] as i64;
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
