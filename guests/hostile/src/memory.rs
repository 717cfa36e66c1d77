//! Accesses with the MMU off (so VA = IPA): wild addresses, and on the emulated UART the forms
//! the data-abort syndrome cannot describe. hv emulates the ones it decodes (pairs, indexed
//! forms) and answers the rest with an injected data abort.
use crate::{faults, HOLE, UART};
use guest_rt::exception::Caught;
use guest_rt::test::{check, check_eq};

/// IMSC and RIS of the vPL011: registers without read side effects.
const IMSC: u64 = UART + 0x38;

/// `ldp w, w` at `at`: ISV=0, decoded by hv's fallback decoder.
pub fn pair_read(at: u64) -> (u32, u32) {
    let (a, b): (u32, u32);
    // SAFETY: a load pair from an emulated device (or a deliberate fault, caught by the caller).
    unsafe { core::arch::asm!("ldp {a:w}, {b:w}, [{p}]", a = out(reg) a, b = out(reg) b, p = in(reg) at) };
    (a, b)
}

fn load(at: u64) {
    // SAFETY: a deliberate access to an address this VM may not own; the caller catches it.
    let _ = unsafe { core::ptr::read_volatile(at as *const u64) };
}

fn store(at: u64) {
    // SAFETY: as for `load`.
    unsafe { core::ptr::write_volatile(at as *mut u64, 0xBAD) };
}

fn aborted(what: &str, c: Option<Caught>) {
    check(what, c.is_some_and(|c| c.ec() == 0x25));
}

/// Does the CPU have the LSE atomics (ID_AA64ISAR0_EL1.Atomic >= 2)?
fn has_lse() -> bool {
    let isar0: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe { core::arch::asm!("mrs {}, id_aa64isar0_el1", out(reg) isar0) };
    (isar0 >> 20) & 0xF >= 2
}

#[target_feature(enable = "lse")]
/// # Safety
/// `at` is an address whose access the caller catches.
unsafe fn atomics(at: u64) -> [Option<Caught>; 3] {
    // SAFETY: deliberate atomics on an emulated device; the caller's catch handles the aborts.
    unsafe {
        [
            faults(
                || core::arch::asm!("ldadd {v:w}, {o:w}, [{p}]", v = in(reg) 1u32, o = out(reg) _, p = in(reg) at),
            ),
            faults(
                || core::arch::asm!("swp {v:w}, {o:w}, [{p}]", v = in(reg) 1u32, o = out(reg) _, p = in(reg) at),
            ),
            faults(
                || core::arch::asm!("cas {c:w}, {v:w}, [{p}]", c = inout(reg) 0u32 => _, v = in(reg) 1u32, p = in(reg) at),
            ),
        ]
    }
}

pub fn run(ram: (u64, u64)) {
    let end = ram.0 + ram.1;
    // Wild addresses: below, between and above everything this VM has, and the top of the IPA
    // space; loads, stores and pairs.
    let mut wild_ok = true;
    for at in [0u64, 0x0100_0000, HOLE, ram.0 - 8, end, end + 0x20_0000, 0x80_0000_0000, 0xFF_FFFF_F000] {
        for c in [
            faults(|| load(at)),
            faults(|| store(at)),
            faults(|| {
                let _ = pair_read(at);
            }),
        ] {
            wild_ok &= c.is_some_and(|c| c.ec() == 0x25);
        }
    }
    check("loads, stores and pairs at wild IPAs are data aborts", wild_ok);
    aborted(
        "a pair whose second half leaves RAM is a data abort",
        faults(|| {
            let _ = pair_read(end - 4);
        }),
    );
    aborted(
        "a pair whose second half leaves the UART for a hole is a data abort",
        faults(|| {
            let _ = pair_read(UART + 0xFFC);
        }),
    );

    // Forms hv decodes: pairs and indexed loads on the emulated UART.
    // SAFETY: IMSC is a plain read/write register of the vPL011.
    unsafe { core::ptr::write_volatile(IMSC as *mut u32, 0x50) };
    check_eq("LDP on the emulated UART reads IMSC and RIS", pair_read(IMSC).0, 0x50);
    let (v, base): (u32, u64);
    // SAFETY: a pre-indexed load of IMSC; the base register is written back.
    unsafe { core::arch::asm!("ldr {v:w}, [{b}, #8]!", v = out(reg) v, b = inout(reg) IMSC - 8 => base) };
    check_eq("pre-indexed LDR on the emulated UART, with writeback", (v, base), (0x50, IMSC));
    // SAFETY: restores IMSC.
    unsafe { core::ptr::write_volatile(IMSC as *mut u32, 0) };

    // Forms no syndrome describes and no emulation can honour: an injected data abort each.
    crate::aborts!("LDXR on an emulated device is a data abort", "ldxr {v:w}, [{p}]", v = out(reg) _, p = in(reg) IMSC);
    // A store-exclusive without a preceding load-exclusive may fail without any access
    // (QEMU's does): a status of 1 is as good an answer as an abort.
    let mut status = 0u32;
    let c = faults(|| {
        // SAFETY: a deliberate store-exclusive to the emulated UART; an abort is caught.
        unsafe {
            core::arch::asm!("clrex", "stxr {s:w}, {v:w}, [{p}]", s = inout(reg) status, v = in(reg) 0u32, p = in(reg) IMSC)
        }
    });
    check(
        "STXR on an emulated device is a data abort or fails",
        c.is_some_and(|c| c.ec() == 0x25) || status == 1,
    );
    crate::aborts!("LDAXP on an emulated device is a data abort", "ldaxp {a:w}, {b:w}, [{p}]", a = out(reg) _, b = out(reg) _, p = in(reg) IMSC);
    crate::aborts!("a SIMD load (LDR q0) on an emulated device is a data abort", "ldr q0, [{p}]", p = in(reg) UART + 0x30, out("v0") _);
    crate::aborts!("a SIMD store (STR s0) on an emulated device is a data abort", "str s0, [{p}]", p = in(reg) IMSC, out("v0") _);
    crate::aborts!("LDP of SIMD registers on an emulated device is a data abort", "ldp d0, d1, [{p}]", p = in(reg) IMSC, out("v0") _, out("v1") _);
    // Acquire/release forms carry a syndrome: emulated.
    let v: u32;
    // SAFETY: a load-acquire of IMSC.
    unsafe { core::arch::asm!("ldar {v:w}, [{p}]", v = out(reg) v, p = in(reg) IMSC) };
    check_eq("LDAR on the emulated UART is emulated", v, 0);

    if has_lse() {
        // SAFETY: the CPU has LSE; every access is caught.
        let got = unsafe { atomics(IMSC) };
        check(
            "LSE atomics (LDADD, SWP, CAS) on an emulated device are data aborts",
            got.iter().all(|c| c.is_some_and(|c| c.ec() == 0x25)),
        );
    } else {
        guest_rt::println!("hostile: no LSE atomics on this CPU; skipping them");
    }
    // The UART still works after all of that.
    // SAFETY: reads FR.
    let fr = unsafe { core::ptr::read_volatile((UART + 0x18) as *const u32) };
    check_eq("the UART's FR is intact", fr & 0x90, 0x90);
}
