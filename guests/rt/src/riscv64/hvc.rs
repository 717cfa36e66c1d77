//! hv's calls on riscv64: an SBI extension of hv's own (docs/hypercalls.md), and plain SBI.

/// hv's firmware-specific SBI extension ("HV"), functions numbered as on AArch64.
pub const EXT_HV: u64 = 0x0A00_4856;
pub const HV_VERSION: u64 = 0;
pub const HV_PUTC: u64 = 1;
pub const HV_PUTS: u64 = 2;
pub const HV_EXIT: u64 = 3;
pub const HV_NOP: u64 = 4;
pub const NOT_SUPPORTED: i64 = -2;
pub const INVALID_PARAMETERS: i64 = -3;

/// `ecall` with extension `ext`, function `fid`, arguments a0-a2; returns (error, value).
#[inline(always)]
pub fn sbi(ext: u64, fid: u64, a0: u64, a1: u64, a2: u64) -> (i64, u64) {
    let (err, val): (u64, u64);
    // SAFETY: an SBI call: the hypervisor reads a0-a2, a6, a7 and writes a0 and a1 only.
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") a0 => err, inlateout("a1") a1 => val, in("a2") a2,
            in("a6") fid, in("a7") ext, options(nostack))
    };
    (err as i64, val)
}

pub fn putc(c: u8) {
    sbi(EXT_HV, HV_PUTC, c as u64, 0, 0);
}

/// Returns bytes printed, or a negative SBI error.
pub fn puts(s: &[u8]) -> i64 {
    match sbi(EXT_HV, HV_PUTS, s.as_ptr() as u64, s.len() as u64, 0) {
        (0, n) => n as i64,
        (e, _) => e,
    }
}

pub fn exit(status: u8) -> ! {
    sbi(EXT_HV, HV_EXIT, status as u64, 0, 0);
    loop {
        // SAFETY: waiting for an interrupt has no memory effects.
        unsafe { core::arch::asm!("wfi") };
    }
}
