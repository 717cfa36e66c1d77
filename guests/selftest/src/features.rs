//! What the ID registers advertise must work: hv leaves FP/SIMD, SVE and SME to the pinned
//! vCPU, so an instruction of a feature the guest is shown never traps (under `-cpu max`, SVE
//! and SME are shown).
use guest_rt::exception::{catch, Resume};
use guest_rt::test::check;

pub fn run() {
    let (pfr0, pfr1): (u64, u64);
    // SAFETY: reads two ID registers.
    unsafe {
        core::arch::asm!("mrs {}, id_aa64pfr0_el1", "mrs {}, id_aa64pfr1_el1", out(reg) pfr0, out(reg) pfr1)
    };
    if (pfr0 >> 32) & 0xF != 0 {
        let t = catch(Resume::Next, || {
            // SAFETY: enables SVE at EL1/EL0 (CPACR_EL1.ZEN) and reads the vector length
            // (RDVL X0, #1, written as its encoding); touches no memory.
            unsafe {
                core::arch::asm!(
                    "mrs {t}, cpacr_el1", "orr {t}, {t}, #(3 << 16)", "msr cpacr_el1, {t}", "isb",
                    ".inst 0x04bf5020",
                    t = out(reg) _, out("x0") _,
                )
            };
        });
        check("SVE, advertised, runs (RDVL)", t.is_none());
    } else {
        guest_rt::println!("selftest: no SVE advertised");
    }
    if (pfr1 >> 24) & 0xF != 0 {
        let t = catch(Resume::Next, || {
            // SAFETY: enables SME at EL1/EL0 (CPACR_EL1.SMEN) and reads the streaming vector
            // length (RDSVL X0, #1, written as its encoding); touches no memory.
            unsafe {
                core::arch::asm!(
                    "mrs {t}, cpacr_el1", "orr {t}, {t}, #(3 << 24)", "msr cpacr_el1, {t}", "isb",
                    ".inst 0x04bf5820",
                    t = out(reg) _, out("x0") _,
                )
            };
        });
        check("SME, advertised, runs (RDSVL)", t.is_none());
    } else {
        guest_rt::println!("selftest: no SME advertised");
    }
}
