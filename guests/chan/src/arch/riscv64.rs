//! The chan guest on riscv64: hv's SBI extension, reflected access faults, the virtual PLIC
//! (vCPU 0's S-mode context).
use guest_rt::hvc::{sbi, EXT_HV};

pub const INVALID: i64 = -3;
pub const DENIED: i64 = -4;
pub const BAD_STATE: i64 = -10;

const PLIC: usize = 0x0C00_0000;
/// vCPU 0's S-mode context (1): its enables, and its threshold and claim/complete.
const ENABLE_CTX1: usize = PLIC + 0x2000 + 0x80;
const CTX1: usize = PLIC + 0x20_0000 + 0x1000;
const IRQ_S_EXT: u64 = 9;
const LOAD_ACCESS: u64 = 5;
const STORE_ACCESS: u64 = 7;

fn rd(a: usize) -> u32 {
    // SAFETY: an aligned 32-bit register of the virtual PLIC.
    unsafe { core::ptr::read_volatile(a as *const u32) }
}
fn wr(a: usize, v: u32) {
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(a as *mut u32, v) }
}

/// Does this access take an access fault (hv reflects one for what the VM may not reach)?
pub fn aborts(f: impl FnOnce()) -> bool {
    guest_rt::trap::catch(f).is_some_and(|c| c.scause == LOAD_ACCESS || c.scause == STORE_ACCESS)
}

pub fn ring_call(ch: u64, to: u64, vector: u64) -> i64 {
    sbi(EXT_HV, 5, ch, to, vector).0
}

/// The state, or the error code.
pub fn control(vm: u64, op: u64) -> i64 {
    match sbi(EXT_HV, 6, vm, op, 0) {
        (0, state) => state as i64,
        (e, _) => e,
    }
}

/// The interrupt a device-tree `interrupts` property names: one PLIC source.
pub fn intid(cells: &[u64]) -> u32 {
    cells.first().copied().unwrap_or(0) as u32
}

static HANDLER: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn on_trap(cause: u64) {
    if cause == IRQ_S_EXT {
        let h = HANDLER.load(core::sync::atomic::Ordering::SeqCst);
        if h != 0 {
            // SAFETY: only `init` stores here, a `fn()`.
            let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(h) };
            f();
        }
    }
}

pub fn init(handler: fn()) {
    HANDLER.store(handler as usize, core::sync::atomic::Ordering::SeqCst);
    guest_rt::trap::set_irq_handler(on_trap);
    wr(CTX1, 0); // threshold: every priority
                 // SAFETY: the guest's own interrupt enables.
    unsafe { core::arch::asm!("csrs sie, {}", "csrsi sstatus, 2", in(reg) 1u64 << IRQ_S_EXT) };
}

pub fn enable(source: u32) {
    wr(PLIC + 4 * source as usize, 1);
    let word = ENABLE_CTX1 + 4 * (source as usize / 32);
    wr(word, rd(word) | 1 << (source % 32));
}

/// The source being taken (claimed), and the claim to hand to `done`.
pub fn take() -> (u32, u32) {
    let s = rd(CTX1 + 4);
    (s, s)
}

pub fn done(claim: u32) {
    if claim != 0 {
        wr(CTX1 + 4, claim);
    }
}

pub fn irqs(on: bool) {
    // SAFETY: sstatus.SIE only.
    unsafe {
        if on {
            core::arch::asm!("csrsi sstatus, 2");
        } else {
            core::arch::asm!("csrci sstatus, 2");
        }
    }
}

pub fn wfi() {
    // SAFETY: waits for an interrupt, which one masked by sstatus.SIE still ends.
    unsafe { core::arch::asm!("wfi") };
}
