//! Secondary harts: SBI HSM HART_START into a stub that takes its stack from the start's opaque
//! value, sets up the hart as `_start` does (its index in sscratch, FP on, the trap vector) and
//! runs a Rust function, then stops the hart. The riscv64 twin of `smp.rs`.
use crate::hvc::sbi;
use core::sync::atomic::{AtomicUsize, Ordering};

core::arch::global_asm!(
    r#"
.section .text, "ax"
.balign 4
.global guest_secondary_start
guest_secondary_start:              // a0 = hart ID, a1 = opaque = top of this hart's stack
    csrw    sscratch, a0            // the hart's index, for trap.rs
    mv      sp, a1
    li      t0, (1 << 13)           // sstatus.FS = Initial
    csrs    sstatus, t0
    la      t0, guest_trap_vector
    csrw    stvec, t0
    call    guest_secondary_main
"#
);

unsafe extern "C" {
    fn guest_secondary_start();
}

/// The function the next secondary runs (`fn()` as usize).
static ENTRY: AtomicUsize = AtomicUsize::new(0);
const EXT_HSM: u64 = 0x0048_534D;
const HART_START: u64 = 0;
const HART_STOP: u64 = 1;

#[unsafe(no_mangle)]
extern "C" fn guest_secondary_main() -> ! {
    // SAFETY: only `start` stores here, always a valid `fn()`, before the hart is started.
    let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(ENTRY.load(Ordering::SeqCst)) };
    f();
    sbi(EXT_HSM, HART_STOP, 0, 0, 0);
    loop {
        // SAFETY: never reached: HSM stop does not return.
        unsafe { core::arch::asm!("wfi") };
    }
}

/// Start hart `hart` running `f` on `stack`; the SBI error code.
pub fn start(hart: u64, stack: &'static mut [u8], f: fn()) -> i64 {
    ENTRY.store(f as usize, Ordering::SeqCst);
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
    sbi(EXT_HSM, HART_START, hart, guest_secondary_start as *const () as u64, top as u64).0
}
