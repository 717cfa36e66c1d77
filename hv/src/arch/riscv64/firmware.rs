//! hv's calls to the M-mode firmware (OpenSBI on QEMU), over SBI: starting harts, sending
//! them IPIs, powering the machine off.
use super::sbi::{EXT_HSM, EXT_IPI, EXT_SRST};

/// `ecall` to the firmware with extension `ext`, function `fid`; returns (error, value).
fn ecall(ext: u64, fid: u64, a0: u64, a1: u64, a2: u64) -> (i64, u64) {
    let (err, val): (u64, u64);
    // SAFETY: an SBI call: the firmware reads a0-a2, a6, a7 and writes a0, a1 only.
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") a0 => err, inlateout("a1") a1 => val, in("a2") a2,
            in("a6") fid, in("a7") ext, options(nostack))
    };
    (err as i64, val)
}

/// Start hart `hart` at `entry` (HS-mode, translation off) with a1 = `opaque`; SBI error code.
pub fn hart_start(hart: usize, entry: u64, opaque: u64) -> i64 {
    ecall(EXT_HSM, 0, hart as u64, entry, opaque).0
}

/// A supervisor software interrupt to hart `hart`: a kick.
pub fn send_ipi(hart: usize) {
    let _ = ecall(EXT_IPI, 0, 1 << (hart % 64), (hart / 64 * 64) as u64, 0);
}

/// Shut the machine down (QEMU exits).
pub fn system_off() -> ! {
    let _ = ecall(EXT_SRST, 0, 0, 0, 0);
    loop {
        // SAFETY: waiting for an interrupt has no memory effects.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}
