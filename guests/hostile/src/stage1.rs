//! The guest's own stage 1 turned against hv: table descriptors that point into the emulated
//! UART, into a passthrough device page with nothing behind it, and outside every window, and a
//! page that maps an IPA hole. hv walks these for HV_PUTS (AT S12E1R) and sees the guest's own
//! accesses fault on them; the answer is an error code or an injected abort, never a crash.
use crate::{faults, HOLE, HOLE_DEV, UART};
use guest_rt::exception::{catch, Resume};
use guest_rt::hvc::hvc;
use guest_rt::mmu::{self, Table, DEVICE_BLOCK, NORMAL_BLOCK, NORMAL_PAGE, TABLE};
use guest_rt::test::{check, check_eq};

static mut L1: Table = Table([0; 512]);
static mut L2: Table = Table([0; 512]);
static mut L3: Table = Table([0; 512]);
/// A page of text that VA `PAGES` maps; the page after it maps an IPA hole.
static mut TEXT: Table = Table([0; 512]);

/// VAs (1 GiB each) whose next-level table lies in the UART, in the hole device, and at an
/// IPA nothing maps; the device space again as Normal memory; 4 KiB pages.
const VIA_UART: u64 = 2 << 30;
const DEVICES_AS_NORMAL: u64 = 3 << 30;
const VIA_HOLE_DEV: u64 = 4 << 30;
const VIA_NOWHERE: u64 = 5 << 30;
const PAGES: u64 = 6 << 30;

fn mmu(on: bool, ram: u64) {
    // SAFETY: single vCPU running (vCPU 1 is off); the tables are ours, and the map is the
    // identity on everything this code and the runtime touch, so switching changes no address.
    unsafe {
        let (l1, l2, l3, text) = (&raw mut L1, &raw mut L2, &raw mut L3, &raw mut TEXT);
        if on {
            (*l1).0[0] = DEVICE_BLOCK;
            (*l1).0[1] = (ram & !((1 << 30) - 1)) | NORMAL_BLOCK;
            (*l1).0[2] = UART | TABLE;
            (*l1).0[3] = NORMAL_BLOCK;
            (*l1).0[4] = HOLE_DEV | TABLE;
            (*l1).0[5] = 0xF0_0000_0000 | TABLE;
            (*l1).0[6] = l2 as u64 | TABLE;
            (*l2).0[0] = l3 as u64 | TABLE;
            (*l3).0[0] = text as u64 | NORMAL_PAGE;
            (*l3).0[1] = HOLE | NORMAL_PAGE;
            let t = text as *mut u8;
            core::ptr::copy_nonoverlapping(b"abc\n".as_ptr(), t.add(4092), 4);
        }
        mmu::switch(l1 as u64, on);
    }
}

fn load(at: u64) {
    // SAFETY: a deliberate access through a hostile mapping; the caller catches the abort.
    let _ = unsafe { core::ptr::read_volatile(at as *const u32) };
}

fn puts(va: u64, len: u64) -> i64 {
    hvc(0xC600_0002, va, len, 0)[0] as i64
}

pub fn run(ram: (u64, u64)) {
    mmu(true, ram.0);
    guest_rt::println!("hostile: MMU on, with tables in devices and holes");
    for (what, va) in [
        ("a table in the emulated UART", VIA_UART),
        ("a table in a passthrough page with nothing behind it", VIA_HOLE_DEV),
        ("a table at an IPA nothing maps", VIA_NOWHERE),
    ] {
        let (p, c) = (puts(va, 8), faults(|| load(va)));
        guest_rt::println!("hostile: through {what}: HV_PUTS {p}, load {:?}", c.map(|c| (c.ec(), c.fsc())));
        check(
            "  HV_PUTS is INVALID_PARAMETERS, a load is a data abort",
            p == -2 && c.is_some_and(|c| c.ec() == 0x25),
        );
    }
    check_eq(
        "HV_PUTS running from a page into one that maps a hole prints what it can",
        puts(PAGES + 4092, 8),
        4,
    );
    check_eq("HV_PUTS of a page that maps a hole", puts(PAGES + 4096, 8), -2);
    check_eq("HV_PUTS of an unmapped page", puts(PAGES + 8192, 8), -2);

    // The emulated UART through a Normal mapping: accesses the syndrome describes but no
    // register matches, and ones it cannot describe.
    let imsc = DEVICES_AS_NORMAL + UART + 0x38;
    let c = faults(|| load(imsc + 1));
    guest_rt::println!("hostile: unaligned UART load: {:?}", c.map(|c| (c.ec(), c.fsc())));
    check("an unaligned load from an emulated register is a data abort", c.is_some_and(|c| c.ec() == 0x25));
    crate::aborts!("DC ZVA on an emulated device is a data abort", "dc zva, {p}", p = in(reg) DEVICES_AS_NORMAL + UART);
    crate::aborts!("LDXR on an emulated device (Normal at stage 1) is a data abort", "ldxr {v:w}, [{p}]", v = out(reg) _, p = in(reg) imsc);
    let c = catch(Resume::Lr, || {
        // SAFETY: a deliberate branch into the emulated UART; the prefetch abort returns to LR.
        unsafe {
            core::arch::asm!("blr {t}", t = in(reg) DEVICES_AS_NORMAL + UART, out("x30") _, clobber_abi("C"))
        }
    });
    check("executing from an emulated device is a prefetch abort", c.is_some_and(|c| c.ec() == 0x21));
    check_eq("HV_PUTS of a good string still works", guest_rt::hvc::puts(b"hostile: stage 1 done\n"), 22);
    mmu(false, ram.0);
}
