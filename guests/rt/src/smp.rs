//! Secondary vCPUs: PSCI CPU_ON into a stub that takes its stack from the context id, installs
//! the vectors and runs a Rust function, then turns the vCPU off.
use core::sync::atomic::{AtomicUsize, Ordering};

core::arch::global_asm!(
    r#"
.section .text, "ax"
.global guest_secondary_start
guest_secondary_start:              // x0 = context id = top of this vCPU's stack
    mov     sp, x0
    adr     x1, guest_vectors
    msr     vbar_el1, x1
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    bl      guest_secondary_main
1:  wfe
    b       1b
"#
);

unsafe extern "C" {
    fn guest_secondary_start();
}

/// The function the next secondary runs (`fn()` as usize).
static ENTRY: AtomicUsize = AtomicUsize::new(0);
const PSCI_CPU_ON: u64 = 0xC400_0003;
const PSCI_CPU_OFF: u64 = 0x8400_0002;

#[no_mangle]
extern "C" fn guest_secondary_main() -> ! {
    // SAFETY: only `start` stores here, always a valid `fn()`, before the vCPU is started.
    let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(ENTRY.load(Ordering::SeqCst)) };
    f();
    crate::hvc::hvc(PSCI_CPU_OFF, 0, 0, 0);
    loop {
        core::hint::spin_loop();
    }
}

/// Start vCPU `cpu` (its MPIDR) running `f` on `stack`; the PSCI return code.
pub fn start(cpu: u64, stack: &'static mut [u8], f: fn()) -> i64 {
    ENTRY.store(f as usize, Ordering::SeqCst);
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
    crate::hvc::hvc(PSCI_CPU_ON, cpu, guest_secondary_start as *const () as u64, top as u64)[0] as i64
}
