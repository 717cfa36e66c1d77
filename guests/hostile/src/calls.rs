//! Garbage in every SMCCC function-ID range, over HVC and SMC: unknown calls answer
//! NOT_SUPPORTED, known ones answer, nothing stops the VM but the calls meant to.
use crate::Lcg;
use guest_rt::hvc::{hvc, smc, NOT_SUPPORTED};
use guest_rt::test::{check, check_eq};

/// IDs that stop or start something, or print: the sweep leaves them to their own tests.
const SPARED: [u32; 8] = [
    0x8400_0002, // CPU_OFF
    0x8400_0003, // CPU_ON (32)
    0xC400_0003, // CPU_ON (64)
    0x8400_0008, // SYSTEM_OFF
    0x8400_0009, // SYSTEM_RESET
    0xC600_0001, // HV_PUTC
    0xC600_0002, // HV_PUTS
    0xC600_0003, // HV_EXIT
];

/// IDs hv serves; anything else must be NOT_SUPPORTED.
fn known(fid: u32) -> bool {
    matches!(fid, 0x8000_0000 | 0x8000_0001 | 0xC600_0000..=0xC600_0006)
        || matches!(fid, 0x8400_0000..=0x8400_000A | 0xC400_0001 | 0xC400_0003 | 0xC400_0004)
}

fn spared(fid: u32) -> bool {
    SPARED.contains(&fid)
}

/// One garbage call that stops nothing: for vCPU 1's flood.
pub fn harmless_garbage(g: &mut Lcg) {
    let fid = g.u64() as u32;
    if !spared(fid) {
        hvc((g.u64() << 32) | fid as u64, g.u64(), g.u64(), g.u64());
    }
}

pub fn run() {
    let mut g = Lcg(0xBAD_CA11);
    let mut wrong = 0u32;
    let mut calls = 0u32;
    // Every owning entity, fast and yielding, SMC32 and SMC64, the first 64 functions of each,
    // with garbage in the upper half of x0 and in every argument.
    for owner in 0..64u32 {
        for flags in [0x8000_0000u32, 0xC000_0000, 0x0000_0000, 0x4000_0000] {
            for f in 0..64u32 {
                let fid = flags | (owner << 24) | f;
                if spared(fid) {
                    continue;
                }
                let x0 = (g.u64() << 32) | fid as u64;
                let r = if f % 2 == 0 {
                    hvc(x0, g.u64(), g.u64(), g.u64())
                } else {
                    smc(x0, g.u64(), g.u64(), g.u64())
                };
                calls += 1;
                if !known(fid) && r[0] as i64 != NOT_SUPPORTED {
                    wrong += 1;
                    if wrong < 4 {
                        guest_rt::println!("  {fid:#x} answered {:#x}", r[0]);
                    }
                }
            }
        }
    }
    // Random IDs anywhere.
    for _ in 0..4096 {
        let fid = g.u64() as u32;
        if spared(fid) {
            continue;
        }
        let r = hvc((g.u64() << 32) | fid as u64, g.u64(), g.u64(), g.u64());
        calls += 1;
        if !known(fid) && r[0] as i64 != NOT_SUPPORTED {
            wrong += 1;
        }
    }
    guest_rt::println!("hostile: {calls} garbage calls");
    check_eq("every unknown function ID in every range answers NOT_SUPPORTED", wrong, 0);

    // HVC with a non-zero immediate: SMCCC uses #0 only; hv must still answer, not crash.
    let r: u64;
    // SAFETY: an HVC with x0 = HV_VERSION; hv preserves everything but x0-x3.
    unsafe {
        core::arch::asm!("hvc #0x1234", inout("x0") 0xC600_0000u64 => r, out("x1") _, out("x2") _, out("x3") _)
    };
    check("HVC #0x1234 is answered", r == 0x1_0001 || r as i64 == NOT_SUPPORTED);

    // PSCI with garbage arguments.
    let psci = |f: u64, a: u64, b: u64| hvc(f, a, b, 0)[0] as i64;
    check_eq("AFFINITY_INFO of a garbage MPIDR", psci(0xC400_0004, u64::MAX, 0), -2);
    check_eq("AFFINITY_INFO at a garbage level", psci(0xC400_0004, 0, 7), -2);
    check_eq("CPU_ON of a garbage MPIDR", psci(0xC400_0003, 0xFF00_0000_0001, 0x4000_0000), -2);
    check_eq("CPU_ON of myself", psci(0xC400_0003, 0, 0x4000_0000), -4);
    check_eq("PSCI_FEATURES of garbage", psci(0x8400_000A, 0xDEAD_BEEF, 0), NOT_SUPPORTED);
    check_eq("CPU_SUSPEND (standby) returns", psci(0xC400_0001, 0, 0), 0);
    check_eq("SMCCC_ARCH_FEATURES of garbage", psci(0x8000_0001, u64::MAX, 0), NOT_SUPPORTED);
    check_eq("SMCCC_ARCH_WORKAROUND_1 is refused", psci(0x8000_8000, 0, 0), NOT_SUPPORTED);

    // HV_PUTS with hostile buffers.
    for (what, va, len) in [
        ("HV_PUTS of an unmapped IPA", crate::HOLE, 8u64),
        ("HV_PUTS of the emulated UART's registers", crate::UART, 8),
        ("HV_PUTS of a wrapping buffer", u64::MAX - 3, 8),
        ("HV_PUTS longer than its limit", 0x4000_0000, 1 << 20),
        ("HV_PUTS of length 2^64-1", 0x4000_0000, u64::MAX),
    ] {
        check_eq(what, hvc(0xC600_0002, va, len, 0)[0] as i64, -2);
    }
}
