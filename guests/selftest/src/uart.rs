//! The virtual PL011: identification, flags, read-only and storage registers, access widths,
//! and load/store forms that give the hypervisor no syndrome (ISV=0).
use guest_rt::exception::{catch, Resume};
use guest_rt::test::{check, check_eq};

const FR: usize = 0x18;
const CR: usize = 0x30;
const IMSC: usize = 0x38;
const RIS: usize = 0x3C;
const ICR: usize = 0x44;
const PERIPH_ID: usize = 0xFE0;
const INT_TX: u32 = 1 << 5;

fn rd(base: usize, off: usize) -> u32 {
    // SAFETY: `base` is the vPL011 from the DTB; the access is aligned and volatile.
    unsafe { core::ptr::read_volatile((base + off) as *const u32) }
}
fn wr(base: usize, off: usize, v: u32) {
    // SAFETY: as for `rd`.
    unsafe { core::ptr::write_volatile((base + off) as *mut u32, v) }
}

pub fn run(base: usize) {
    check("the DTB names a PL011 console", base != 0);
    if base == 0 {
        return;
    }
    let id: [u32; 8] = core::array::from_fn(|i| rd(base, PERIPH_ID + 4 * i));
    check_eq("PL011 PeriphID/PCellID", id, [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]);
    let fr = rd(base, FR);
    check_eq("FR: TX empty, RX empty, not full, not busy", fr & 0xF8, 0x90);
    wr(base, FR, 0xFFFF_FFFF);
    check_eq("FR is read-only (write ignored)", rd(base, FR), fr);
    wr(base, IMSC, 0x7F0);
    check_eq("IMSC stores what was written", rd(base, IMSC), 0x7F0);
    wr(base, CR, 0x301);
    check_eq("CR stores what was written", rd(base, CR), 0x301);
    check_eq("reserved offset 0x100 reads as zero", rd(base, 0x100), 0);
    wr(base, 0x100, 0x1234);
    check_eq("reserved offset 0x100 ignores writes", rd(base, 0x100), 0);

    // Byte and halfword accesses to DR (the PL011 allows them); '8' and '\n' appear on the console.
    // SAFETY: aligned volatile MMIO to the vPL011.
    unsafe {
        core::ptr::write_volatile(base as *mut u8, b'8');
        core::ptr::write_volatile(base as *mut u16, b'\n' as u16);
    }
    check("8- and 16-bit writes to DR are accepted", true);
    // Linux's amba-pl011 driver reads and writes every register 16 bits wide.
    // SAFETY: aligned volatile 16-bit MMIO accesses to IMSC.
    let half = unsafe {
        core::ptr::write_volatile((base + IMSC) as *mut u16, 0x7F0);
        core::ptr::read_volatile((base + IMSC) as *const u16)
    };
    check_eq("16-bit write and read of IMSC", half, 0x7F0);
    // SAFETY: aligned volatile byte read of FR.
    let fr8 = unsafe { core::ptr::read_volatile((base + FR) as *const u8) };
    check_eq("8-bit read of FR", fr8 as u32 & 0xF8, 0x90);
    let wide = catch(Resume::Next, || {
        // SAFETY: aligned volatile 64-bit MMIO read; the device refuses it.
        let _ = unsafe { core::ptr::read_volatile((base + IMSC) as *const u64) };
    });
    check("64-bit read of a 32-bit register is aborted", wide.is_some_and(|c| c.ec() == 0x25));

    // Post-indexed load: ISV=0, decoded by the hypervisor's fallback decoder.
    let (v, next): (u32, usize);
    // SAFETY: reads IMSC through a post-indexed load; only x-registers named here change.
    unsafe {
        core::arch::asm!("ldr {v:w}, [{p}], #4", v = out(reg) v, p = inout(reg) base + IMSC => next);
    }
    check_eq("post-indexed LDR reads IMSC", v, 0x7F0);
    check_eq("post-indexed LDR writes back the base", next, base + IMSC + 4);
    // Pre-indexed store to IMSC.
    let mut p = base + IMSC - 8;
    // SAFETY: stores 0x55 to IMSC through a pre-indexed store.
    unsafe { core::arch::asm!("str {v:w}, [{p}, #8]!", v = in(reg) 0x55u32, p = inout(reg) p) };
    check_eq("pre-indexed STR writes IMSC", rd(base, IMSC), 0x55);
    check_eq("pre-indexed STR writes back the base", p, base + IMSC);
    // Load pair across IMSC and RIS.
    let (a, b): (u32, u32);
    // SAFETY: LDP of two 32-bit registers, IMSC and RIS.
    unsafe {
        core::arch::asm!("ldp {a:w}, {b:w}, [{p}]", a = out(reg) a, b = out(reg) b, p = in(reg) base + IMSC)
    };
    check_eq("LDP reads IMSC and RIS", (a, b), (0x55, rd(base, RIS)));
    // Printing writes DR, which raises TX in RIS; ICR clears it. Read everything back before the
    // next print sets it again.
    let tx_raised = rd(base, RIS) & INT_TX;
    wr(base, ICR, 0x7FF);
    let cleared = rd(base, RIS);
    // Store pair: IMSC is written, RIS is read-only.
    // SAFETY: STP of two 32-bit registers to IMSC and RIS.
    unsafe {
        core::arch::asm!("stp {a:w}, {b:w}, [{p}]", a = in(reg) 0x3u32, b = in(reg) 0xFFu32, p = in(reg) base + IMSC)
    };
    let after = (rd(base, IMSC), rd(base, RIS));
    check_eq("a DR write raises TX in RIS", tx_raised, INT_TX);
    check_eq("ICR clears RIS", cleared, 0);
    check_eq("STP writes IMSC and leaves read-only RIS alone", after, (0x3, 0));
}
