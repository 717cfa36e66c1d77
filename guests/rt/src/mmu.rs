//! A guest's own stage 1, as the hostile guests build it: 39-bit VAs, 4 KiB granule, walks
//! starting at level 1 (1 GiB entries). MAIR attribute 0 is Device-nGnRnE, 1 is Normal
//! write-back.

/// One translation table.
#[repr(C, align(4096))]
pub struct Table(pub [u64; 512]);

/// Descriptors (AF set; AttrIndx 0 = Device, 1 = Normal inner-shareable).
pub const DEVICE_BLOCK: u64 = 0b01 | (1 << 10);
pub const NORMAL_BLOCK: u64 = 0b01 | (1 << 2) | (3 << 8) | (1 << 10);
pub const NORMAL_PAGE: u64 = 0b11 | (1 << 2) | (3 << 8) | (1 << 10);
pub const TABLE: u64 = 0b11;

/// Load MAIR, TCR and TTBR0 (level-1 table at `l1`) and turn the MMU on or off.
///
/// # Safety
/// With `on`, the tables at `l1` must map everything the caller and the runtime touch at the
/// same address (an identity map), and no other vCPU of the VM may be running.
pub unsafe fn switch(l1: u64, on: bool) {
    let tcr: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32);
    // SAFETY: the caller's promise; the sequence is the architecture's for a new stage 1.
    unsafe {
        core::arch::asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "dsb ish",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "mrs {t}, sctlr_el1",
            "bic {t}, {t}, #1",
            "orr {t}, {t}, {m}",
            "msr sctlr_el1, {t}",
            "isb",
            mair = in(reg) 0xFF00u64,
            tcr = in(reg) tcr,
            ttbr = in(reg) l1,
            m = in(reg) on as u64,
            t = out(reg) _,
        )
    };
}
