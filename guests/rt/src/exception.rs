//! Guest exception handling: a test arms an expectation, performs a faulting access, and reads
//! back what the (injected) exception looked like.
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Registers saved by the vector stub. Writes to `elr` take effect on return.
#[repr(C)]
pub struct Frame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
}

/// What a caught exception looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caught {
    /// Vector index (0..16): 4 = current EL with SP_ELx, synchronous.
    pub vector: u64,
    pub esr: u64,
    pub far: u64,
    pub elr: u64,
}

impl Caught {
    pub fn ec(&self) -> u64 {
        (self.esr >> 26) & 0x3F
    }
    /// Data/instruction fault status code.
    pub fn fsc(&self) -> u64 {
        self.esr & 0x3F
    }
    pub fn wnr(&self) -> bool {
        self.esr & (1 << 6) != 0
    }
}

/// How to resume after an expected fault.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Skip the faulting instruction.
    Next,
    /// Return to the link register (for faulting branches).
    Lr,
}

static ARMED: AtomicBool = AtomicBool::new(false);
/// The IRQ handler (`fn()` as usize), 0 for none.
static IRQ_HANDLER: AtomicU64 = AtomicU64::new(0);

/// Call `f` for every IRQ taken at EL1 (the guest unmasks IRQs itself).
pub fn set_irq_handler(f: fn()) {
    IRQ_HANDLER.store(f as usize as u64, Ordering::SeqCst);
}
static RESUME_LR: AtomicBool = AtomicBool::new(false);
static HITS: AtomicU64 = AtomicU64::new(0);
static LAST: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Run `f`, expecting at most one synchronous exception; returns what was caught.
pub fn catch(resume: Resume, f: impl FnOnce()) -> Option<Caught> {
    HITS.store(0, Ordering::SeqCst);
    RESUME_LR.store(resume == Resume::Lr, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    (HITS.load(Ordering::SeqCst) > 0).then(|| Caught {
        vector: LAST[0].load(Ordering::SeqCst),
        esr: LAST[1].load(Ordering::SeqCst),
        far: LAST[2].load(Ordering::SeqCst),
        elr: LAST[3].load(Ordering::SeqCst),
    })
}

#[no_mangle]
extern "C" fn guest_exception(vector: u64, frame: &mut Frame) {
    let (esr, far): (u64, u64);
    // SAFETY: reading EL1 syndrome registers has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, esr_el1", "mrs {}, far_el1", out(reg) esr, out(reg) far);
    }
    let handler = IRQ_HANDLER.load(Ordering::SeqCst);
    if vector % 4 == 1 && handler != 0 {
        // SAFETY: only `set_irq_handler` stores here, always a valid `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(handler as usize) };
        f();
        return;
    }
    if ARMED.load(Ordering::SeqCst) && vector.is_multiple_of(4) {
        for (slot, v) in LAST.iter().zip([vector, esr, far, frame.elr]) {
            slot.store(v, Ordering::SeqCst);
        }
        HITS.fetch_add(1, Ordering::SeqCst);
        frame.elr = if RESUME_LR.load(Ordering::SeqCst) { frame.x[30] } else { frame.elr + 4 };
        return;
    }
    crate::println!(
        "guest: unexpected exception: vector {vector} esr {esr:#x} far {far:#x} elr {:#x}",
        frame.elr
    );
    crate::hvc::exit(99)
}
