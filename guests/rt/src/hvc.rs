//! Hypercalls (see docs/hypercalls.md) and PSCI, over HVC or SMC.

pub const HV_VERSION: u64 = 0xC600_0000;
pub const HV_PUTC: u64 = 0xC600_0001;
pub const HV_PUTS: u64 = 0xC600_0002;
pub const HV_EXIT: u64 = 0xC600_0003;
pub const HV_NOP: u64 = 0xC600_0004;
pub const PSCI_VERSION: u64 = 0x8400_0000;
pub const PSCI_FEATURES: u64 = 0x8400_000A;
pub const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;

/// `hvc #0` with x0..x3; returns x0..x3.
#[inline(always)]
pub fn hvc(f: u64, a1: u64, a2: u64, a3: u64) -> [u64; 4] {
    let mut r = [0u64; 4];
    // SAFETY: the hypervisor implements the SMCCC calling convention: it reads x0-x3 and may
    // write x0-x3; other registers are preserved.
    unsafe {
        core::arch::asm!("hvc #0",
            inout("x0") f => r[0], inout("x1") a1 => r[1], inout("x2") a2 => r[2], inout("x3") a3 => r[3],
            options(nostack));
    }
    r
}

/// The same call through `smc #0` (trapped to the hypervisor, which serves PSCI on both).
#[inline(always)]
pub fn smc(f: u64, a1: u64, a2: u64, a3: u64) -> [u64; 4] {
    let mut r = [0u64; 4];
    // SAFETY: as for `hvc`; HCR_EL2.TSC routes SMC to the hypervisor.
    unsafe {
        core::arch::asm!("smc #0",
            inout("x0") f => r[0], inout("x1") a1 => r[1], inout("x2") a2 => r[2], inout("x3") a3 => r[3],
            options(nostack));
    }
    r
}

pub fn putc(c: u8) {
    hvc(HV_PUTC, c as u64, 0, 0);
}

/// Returns bytes printed, or a negative SMCCC error.
pub fn puts(s: &[u8]) -> i64 {
    hvc(HV_PUTS, s.as_ptr() as u64, s.len() as u64, 0)[0] as i64
}

pub fn exit(status: u8) -> ! {
    hvc(HV_EXIT, status as u64, 0, 0);
    loop {
        // SAFETY: parking the CPU has no memory effects.
        unsafe { core::arch::asm!("wfe") };
    }
}
