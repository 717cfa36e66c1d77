//! riscv64 guest traps: every trap saves the caller-saved registers and calls `guest_trap`.
//! Interrupts go to the handler the guest set; an exception a test expected is recorded and the
//! faulting instruction skipped; any other exception is reported and ends the VM (status 102).
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

core::arch::global_asm!(
    r#"
.section .text, "ax"
.balign 4
.global guest_trap_vector
guest_trap_vector:
    addi    sp, sp, -144
    sd      ra, 0(sp)
    sd      t0, 8(sp)
    sd      t1, 16(sp)
    sd      t2, 24(sp)
    sd      a0, 32(sp)
    sd      a1, 40(sp)
    sd      a2, 48(sp)
    sd      a3, 56(sp)
    sd      a4, 64(sp)
    sd      a5, 72(sp)
    sd      a6, 80(sp)
    sd      a7, 88(sp)
    sd      t3, 96(sp)
    sd      t4, 104(sp)
    sd      t5, 112(sp)
    sd      t6, 120(sp)
    mv      a0, sp
    call    guest_trap
    ld      ra, 0(sp)
    ld      t0, 8(sp)
    ld      t1, 16(sp)
    ld      t2, 24(sp)
    ld      a0, 32(sp)
    ld      a1, 40(sp)
    ld      a2, 48(sp)
    ld      a3, 56(sp)
    ld      a4, 64(sp)
    ld      a5, 72(sp)
    ld      a6, 80(sp)
    ld      a7, 88(sp)
    ld      t3, 96(sp)
    ld      t4, 104(sp)
    ld      t5, 112(sp)
    ld      t6, 120(sp)
    addi    sp, sp, 144
    sret
"#
);

/// What a caught exception looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caught {
    pub scause: u64,
    pub stval: u64,
    pub sepc: u64,
}

/// Harts whose expectations are kept apart (each hart keeps its index in sscratch, which
/// `_start` and the secondaries' entries set from a0).
const HARTS: usize = 8;
static ARMED: [AtomicBool; HARTS] = [const { AtomicBool::new(false) }; HARTS];
static HITS: [AtomicU64; HARTS] = [const { AtomicU64::new(0) }; HARTS];
static LAST: [[AtomicU64; 3]; HARTS] = [const { [const { AtomicU64::new(0) }; 3] }; HARTS];

/// This hart's slot.
fn hart() -> usize {
    let v: u64;
    // SAFETY: reading the guest's own scratch register.
    unsafe { core::arch::asm!("csrr {}, sscratch", out(reg) v) };
    v as usize % HARTS
}
/// The interrupt handler (`fn(cause)` as usize), 0 for none.
static IRQ_HANDLER: AtomicU64 = AtomicU64::new(0);

/// Call `f(cause)` for every interrupt (the guest enables them itself).
pub fn set_irq_handler(f: fn(u64)) {
    IRQ_HANDLER.store(f as usize as u64, Ordering::SeqCst);
}

/// Run `f`, expecting at most one exception; returns what was caught. The faulting instruction
/// is skipped.
pub fn catch(f: impl FnOnce()) -> Option<Caught> {
    let h = hart();
    HITS[h].store(0, Ordering::SeqCst);
    ARMED[h].store(true, Ordering::SeqCst);
    f();
    ARMED[h].store(false, Ordering::SeqCst);
    (HITS[h].load(Ordering::SeqCst) > 0).then(|| Caught {
        scause: LAST[h][0].load(Ordering::SeqCst),
        stval: LAST[h][1].load(Ordering::SeqCst),
        sepc: LAST[h][2].load(Ordering::SeqCst),
    })
}

fn csr_sepc() -> u64 {
    let v: u64;
    // SAFETY: reading sepc has no side effects.
    unsafe { core::arch::asm!("csrr {}, sepc", out(reg) v) };
    v
}

/// `frame[0]` is the interrupted code's `ra`.
#[unsafe(no_mangle)]
extern "C" fn guest_trap(frame: &mut [u64; 18]) {
    let (scause, stval): (u64, u64);
    // SAFETY: reading the trap CSRs has no side effects.
    unsafe { core::arch::asm!("csrr {}, scause", "csrr {}, stval", out(reg) scause, out(reg) stval) };
    let sepc = csr_sepc();
    if scause >> 63 != 0 {
        let h = IRQ_HANDLER.load(Ordering::SeqCst);
        if h != 0 {
            // SAFETY: only `set_irq_handler` stores here, a `fn(u64)`.
            let f: fn(u64) = unsafe { core::mem::transmute::<usize, fn(u64)>(h as usize) };
            f(scause & !(1 << 63));
        }
        return;
    }
    let h = hart();
    if !ARMED[h].load(Ordering::SeqCst) {
        crate::println!("guest trap: scause {scause:#x} sepc {sepc:#x} stval {stval:#x}");
        crate::hvc::exit(102);
    }
    HITS[h].fetch_add(1, Ordering::SeqCst);
    LAST[h][0].store(scause, Ordering::SeqCst);
    LAST[h][1].store(stval, Ordering::SeqCst);
    LAST[h][2].store(sepc, Ordering::SeqCst);
    // Skip the instruction: 2 bytes if compressed. A fetch fault resumes at ra (the test called
    // into the hole).
    let next = if scause == 1 || scause == 12 {
        frame[0]
    } else {
        // SAFETY: the instruction that trapped is readable (it just ran from there).
        let half = unsafe { core::ptr::read_volatile(sepc as *const u16) };
        sepc + if half & 3 == 3 { 4 } else { 2 }
    };
    // SAFETY: resume at the next instruction.
    unsafe { core::arch::asm!("csrw sepc, {}", in(reg) next) };
}
