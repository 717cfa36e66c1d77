//! Traps into HS-mode. From a guest (`sscratch` holds its pCPU's frame), hv runs on its own
//! stack and the guest resumes through `hv_quick_return` or `hv_return_to_guest`:
//! - an SBI call or an interrupt is a quick exit: only sp and the registers a Rust call may
//!   clobber (ra, gp, tp, t0-t6, a0-a7) are in the frame. x8, x9 and x18-x27 stay in the hart,
//!   kept by the handler's own callee-saved discipline; a handler that does not return (the vCPU
//!   leaves) drops them with its Rust frames, and the next start writes a whole new frame.
//! - every exception (a load or store to emulate, a fault to reflect) saves all 31 registers:
//!   its handler may read or write any of them. Guest page faults, the common case (emulated
//!   devices), go straight to their handler (mmio_exit.rs).
//!
//! From hv itself (`sscratch` is zero): a fault of one of the guest-memory probes (guest.rs)
//! resumes at its failure path; anything else is a hypervisor bug.
use super::csr::{EXC_ECALL_VS, EXC_LOAD_GUEST_PAGE, EXC_STORE_GUEST_PAGE};
use super::pcpu::STACK_TOP;
use super::regs::{GuestRegs, OFF_SEPC};

core::arch::global_asm!(
    r#"
.section .text, "ax"
.balign 4
.global hv_trap_vector
hv_trap_vector:
    csrrw   sp, sscratch, sp
    beqz    sp, hv_trap_self
    sd      x1, 8(sp)
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    csrr    t0, sscratch
    sd      t0, 16(sp)
    csrw    sscratch, zero
    csrr    t0, sepc
    sd      t0, {sepc}(sp)
    mv      tp, sp
    mv      a0, sp
    csrr    a1, scause
    ld      sp, {stack_top}(tp)
    bltz    a1, 1f
    li      t0, {ecall}
    bne     a1, t0, 2f
    call    {ecall_handler}
    j       hv_quick_return
1:  call    {irq_handler}
    j       hv_quick_return
2:
    sd      x8, 64(tp)
    sd      x9, 72(tp)
    sd      x18, 144(tp)
    sd      x19, 152(tp)
    sd      x20, 160(tp)
    sd      x21, 168(tp)
    sd      x22, 176(tp)
    sd      x23, 184(tp)
    sd      x24, 192(tp)
    sd      x25, 200(tp)
    sd      x26, 208(tp)
    sd      x27, 216(tp)
    li      t0, {load_fault}
    beq     a1, t0, 3f
    li      t0, {store_fault}
    beq     a1, t0, 3f
    call    {handler}
    mv      a0, tp
    j       hv_return_to_guest
3:  call    {page_fault}
    mv      a0, tp
// a0: this pCPU's frame (which is where tp points).
.global hv_return_to_guest
hv_return_to_guest:
    mv      sp, a0
    ld      x8, 64(sp)
    ld      x9, 72(sp)
    ld      x18, 144(sp)
    ld      x19, 152(sp)
    ld      x20, 160(sp)
    ld      x21, 168(sp)
    ld      x22, 176(sp)
    ld      x23, 184(sp)
    ld      x24, 192(sp)
    ld      x25, 200(sp)
    ld      x26, 208(sp)
    ld      x27, 216(sp)
hv_quick_return:
    mv      sp, tp
    ld      t0, {sepc}(sp)
    csrw    sepc, t0
    csrw    sscratch, sp
    ld      x1, 8(sp)
    ld      x3, 24(sp)
    ld      x4, 32(sp)
    ld      x5, 40(sp)
    ld      x6, 48(sp)
    ld      x7, 56(sp)
    ld      x10, 80(sp)
    ld      x11, 88(sp)
    ld      x12, 96(sp)
    ld      x13, 104(sp)
    ld      x14, 112(sp)
    ld      x15, 120(sp)
    ld      x16, 128(sp)
    ld      x17, 136(sp)
    ld      x28, 224(sp)
    ld      x29, 232(sp)
    ld      x30, 240(sp)
    ld      x31, 248(sp)
    ld      sp, 16(sp)
    sret

hv_trap_self:
    csrrw   sp, sscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    csrr    t0, sepc
    la      t1, hv_probe_byte_insn
    beq     t0, t1, 1f
    la      t1, hv_probe_half_insn
    beq     t0, t1, 1f
    la      t1, hv_probe_word_insn
    beq     t0, t1, 1f
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    {fatal}
// Back to hv's probe at its failure path, in HS-mode: the trap should have left hstatus.SPV
// clear and sstatus.SPP set, but QEMU 7.2 keeps SPV set after some HLV faults, and an sret
// would then enter the guest. The probe's caller puts the guest's values back.
1:  la      t1, hv_probe_fail
    csrw    sepc, t1
    li      t1, {spv}
    csrc    0x600, t1
    li      t1, {spp}
    csrs    sstatus, t1
    ld      t0, 0(sp)
    ld      t1, 8(sp)
    addi    sp, sp, 16
    sret
"#,
    sepc = const OFF_SEPC,
    stack_top = const STACK_TOP,
    ecall = const EXC_ECALL_VS,
    ecall_handler = sym super::exit::hv_guest_ecall,
    irq_handler = sym super::exit::hv_guest_irq,
    handler = sym super::exit::hv_guest_trap,
    load_fault = const EXC_LOAD_GUEST_PAGE,
    store_fault = const EXC_STORE_GUEST_PAGE,
    page_fault = sym super::mmio_exit::hv_guest_page_fault,
    fatal = sym hv_fatal,
    spv = const super::csr::HSTATUS_SPV,
    spp = const super::csr::SSTATUS_SPP,
);

/// A trap taken from hv itself, not from a probe: a hypervisor bug.
extern "C" fn hv_fatal(scause: u64, sepc: u64, stval: u64) -> ! {
    panic!("trap in HS-mode: scause {scause:#x} sepc {sepc:#x} stval {stval:#x}")
}

const _: () = assert!(core::mem::size_of::<GuestRegs>() == 264);
