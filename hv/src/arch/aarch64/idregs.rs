//! The ID registers a guest reads: the CPU's own, less what hv does not give the guest. Today
//! that is memory tagging on a board whose RAM holds no allocation tags. Only then does hv trap
//! them (HCR_EL2.TID3); otherwise the guest reads the hardware's values directly.
use super::vgic_config::ARM;

/// ID_AA64PFR1_EL1's memory-tagging fields: MTE 11:8, MTE_frac 43:40, MTEX 55:52.
const PFR1_MTE: u64 = 0xF << 8 | 0xF << 40 | 0xF << 52;

/// Read ID register (op0 3, op1 0, CRn 0, CRm `$crm`, op2 `$op2`).
macro_rules! id {
    ($crm:literal, $op2:literal) => {{
        let v: u64;
        // SAFETY: reads an ID register (or a reserved encoding of the ID space, which reads as
        // zero); no side effects.
        unsafe {
            core::arch::asm!(concat!("mrs {}, s3_0_c0_c", $crm, "_", $op2), out(reg) v, options(nomem, nostack))
        };
        v
    }};
}

/// The CPU's own value of ID register (3, 0, 0, `crm`, `op2`), `crm` in 1..=7; 0 elsewhere.
fn hardware(crm: u8, op2: u8) -> u64 {
    macro_rules! row {
        ($crm:literal) => {
            match op2 {
                0 => id!($crm, 0),
                1 => id!($crm, 1),
                2 => id!($crm, 2),
                3 => id!($crm, 3),
                4 => id!($crm, 4),
                5 => id!($crm, 5),
                6 => id!($crm, 6),
                _ => id!($crm, 7),
            }
        };
    }
    match crm {
        1 => row!(1),
        2 => row!(2),
        3 => row!(3),
        4 => row!(4),
        5 => row!(5),
        6 => row!(6),
        7 => row!(7),
        _ => 0,
    }
}

/// The CPU's memory-tagging level (ID_AA64PFR1_EL1.MTE): 0 none, 1 instructions only, 2 tag
/// storage (FEAT_MTE2), 3 asymmetric faults too (FEAT_MTE3).
pub fn cpu_mte() -> u64 {
    (hardware(4, 1) >> 8) & 0xF
}

/// The guest gets tag storage: the CPU has it and the board's RAM holds tags.
pub fn mte_allowed() -> bool {
    ARM.mte && cpu_mte() >= 2
}

/// Must hv filter what the ID registers say (and so trap them)? When the CPU offers tag
/// storage that the board's RAM cannot back.
pub fn must_filter() -> bool {
    !ARM.mte && cpu_mte() >= 2
}

/// What the guest reads for ID register (3, 0, 0, `crm`, `op2`).
pub fn read(crm: u8, op2: u8) -> u64 {
    let v = hardware(crm, op2);
    if (crm, op2) == (4, 1) && must_filter() {
        v & !PFR1_MTE
    } else {
        v
    }
}
