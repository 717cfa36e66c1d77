//! A hostile riscv64 guest: everything hv must answer architecturally, thrown at it from two
//! vCPUs at once. Garbage in every SBI extension and function (but the ones that stop the VM),
//! loads and stores of every width at random offsets of the virtual PLIC and UART and in holes,
//! hypervisor instructions and CSRs, RFENCE storms between the two vCPUs, HSM starts with wild
//! entry points. Every fault is caught by its own handler; it ends with `N passed, 0 failed` if
//! hv answered everything and is still there. Runs beside another VM, which must finish too.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use guest_rt::hvc::sbi;
use guest_rt::test::{check, check_eq};
use guest_rt::trap::catch;

guest_rt::entry!(main);

const ROUNDS: u64 = 20_000;
const PLIC: u64 = 0x0C00_0000;
const HOLE: u64 = 0x3000_0000;
const HSM: u64 = 0x0048_534D;
const RFENCE: u64 = 0x5246_4E43;
const SRST: u64 = 0x5352_5354;

/// splitmix64: a case per seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Values the code branches on as often as random ones.
    fn value(&mut self) -> u64 {
        match self.next() % 6 {
            0 => 0,
            1 => u64::MAX,
            2 => 1 << (self.next() % 64),
            3 => self.next() % 16,
            4 => 0x8000_0000 + self.next() % 0x100_0000,
            _ => self.next(),
        }
    }
}

/// SBI calls that must not stop the VM (SRST, HSM stop, hv's exit), start a vCPU at a random
/// address, or print random memory are left out.
fn garbage_call(r: &mut Rng) {
    let exts = [0x10, 0x5449_4D45, 0x0073_5049, RFENCE, HSM, 0x4442_434E, 0x0A00_4856, 0, 1, 2, 0x4E41_434C];
    let ext =
        if r.next().is_multiple_of(8) { r.value() } else { exts[(r.next() % exts.len() as u64) as usize] };
    let fid = r.next() % 8;
    let stops = ext == SRST || (ext == HSM && fid <= 1) || (ext == 0x0A00_4856 && fid == 3) || ext == 8;
    let prints =
        (ext == 0x4442_434E && fid != 1) || (ext == 0x0A00_4856 && (fid == 1 || fid == 2)) || ext == 1;
    // HSM suspend waits for an interrupt: only its refused forms.
    let waits = ext == HSM && fid == 3;
    if stops || waits || prints {
        return;
    }
    let (a0, a1, a2) = (r.value(), r.value(), r.value());
    let _ = sbi(ext, fid, a0, a1, a2);
}

/// A load or store of a random width at a random device or hole address; refused ones fault.
fn wild_access(r: &mut Rng) {
    let uart = guest_rt::console::uart_base() as u64;
    let base = [PLIC, PLIC + 0x20_0000, PLIC + 0x2000, uart, HOLE][(r.next() % 5) as usize];
    let addr = (base + (r.next() % 0x4000)) & !7;
    let addr = addr + (r.next() % 8) * (r.next() % 2);
    let v = r.value();
    let _ = catch(|| {
        // SAFETY: device registers and holes: hv serves or refuses each access, the guest's RAM
        // is not touched.
        unsafe {
            match r.next() % 8 {
                0 => drop(core::ptr::read_volatile(addr as *const u8)),
                1 => drop(core::ptr::read_volatile((addr & !1) as *const u16)),
                2 => drop(core::ptr::read_volatile((addr & !3) as *const u32)),
                3 => drop(core::ptr::read_volatile((addr & !7) as *const u64)),
                4 => core::ptr::write_volatile(addr as *mut u8, v as u8),
                5 => core::ptr::write_volatile((addr & !3) as *mut u32, v as u32),
                6 => core::ptr::write_volatile((addr & !7) as *mut u64, v),
                _ => core::arch::asm!("amoadd.w {0}, {1}, ({2})", out(reg) _, in(reg) v, in(reg) addr & !3),
            }
        }
    });
}

/// Hypervisor-only instructions and CSRs: each an illegal instruction for the guest.
fn hypervisor_insns() -> u32 {
    let mut refused = 0;
    // Each a hypervisor instruction or CSR, which traps and is caught.
    let tries: [fn(); 5] = [
        // SAFETY: hfence.gvma traps.
        || unsafe { core::arch::asm!(".insn r 0x73, 0, 0x31, x0, x0, x0") },
        // SAFETY: hlv.bu traps.
        || unsafe { core::arch::asm!(".insn r 0x73, 4, 0x30, a0, a0, x1", out("a0") _) },
        // SAFETY: a write of hgatp traps.
        || unsafe { core::arch::asm!("csrw 0x680, zero") },
        // SAFETY: a read of hstatus traps.
        || unsafe { core::arch::asm!("csrr a0, 0x600", out("a0") _) },
        // SAFETY: a write of hvip traps.
        || unsafe { core::arch::asm!("csrw 0x645, {}", in(reg) u64::MAX) },
    ];
    for t in tries {
        if catch(t).is_some_and(|c| c.scause == 2) {
            refused += 1;
        }
    }
    refused
}

static ROUNDS_DONE: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
static SECOND_UP: AtomicBool = AtomicBool::new(false);

/// vCPU 1: the same storm with its own seed, fences aimed at vCPU 0 between; the runtime stops
/// it after.
fn secondary() {
    SECOND_UP.store(true, Ordering::SeqCst);
    let mut r = Rng(0xB0B);
    for i in 0..ROUNDS {
        garbage_call(&mut r);
        wild_access(&mut r);
        let _ = sbi(RFENCE, 1, 0b11, 0, 0);
        ROUNDS_DONE[1].store(i + 1, Ordering::SeqCst);
    }
}

/// vCPU 1's stack: only its own code uses it.
static mut STACK: [u8; 0x4000] = [0; 0x4000];

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    // HSM starts that must be refused, then the real one.
    for entry in [0, 0x10, HOLE, u64::MAX, PLIC] {
        check("a start at a wild entry is refused", sbi(HSM, 0, 1, entry, 0).0 != 0);
    }
    // SAFETY: the stack is handed to vCPU 1 once and never touched here again.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    check_eq("vCPU 1 starts", guest_rt::smp::start(1, stack, secondary), 0);
    check_eq("hypervisor instructions are illegal to the guest", hypervisor_insns(), 5);
    let mut r = Rng(0xA11CE);
    for i in 0..ROUNDS {
        garbage_call(&mut r);
        wild_access(&mut r);
        if i % 16 == 0 {
            let _ = sbi(RFENCE, 0, 0b11, 0, 0);
        }
        ROUNDS_DONE[0].store(i + 1, Ordering::SeqCst);
    }
    check_eq("vCPU 0 finished its storm", ROUNDS_DONE[0].load(Ordering::SeqCst), ROUNDS);
    let mut stopped = false;
    for _ in 0..10_000_000 {
        if sbi(HSM, 2, 1, 0, 0) == (0, 1) {
            stopped = true;
            break;
        }
    }
    check(
        "vCPU 1 finished its storm and stopped",
        stopped && ROUNDS_DONE[1].load(Ordering::SeqCst) == ROUNDS,
    );
    check("vCPU 1 was up", SECOND_UP.load(Ordering::SeqCst));
    guest_rt::test::summary()
}
