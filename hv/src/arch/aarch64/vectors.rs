//! The EL2 vector table and the guest context switch. Every exit from a guest saves all 31
//! general-purpose registers, ELR_EL2 and SPSR_EL2 into a `GuestRegs` frame on this pCPU's stack,
//! calls the Rust handler with it, and restores from it (with whatever the handler changed).
//! EL1 system registers are never switched: each pCPU runs exactly one vCPU, so they stay live.
use crate::regs::FRAME_SIZE;

core::arch::global_asm!(
    r#"
.macro SAVE_GUEST
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x0, elr_el2
    stp     x30, x0, [sp, #240]
    mrs     x0, spsr_el2
    str     x0, [sp, #256]
    mov     x0, sp
.endm

.macro VECTOR target
.balign 0x80
    b       \target
.endm

.section .text.vectors, "ax"
.balign 0x800
.global hv_vectors
hv_vectors:
    VECTOR  hv_fatal_entry          // current EL, SP_EL0
    VECTOR  hv_fatal_entry
    VECTOR  hv_fatal_entry
    VECTOR  hv_fatal_entry
    VECTOR  hv_fatal_entry          // current EL, SP_ELx: a hypervisor bug
    VECTOR  hv_fatal_entry
    VECTOR  hv_fatal_entry
    VECTOR  hv_fatal_entry
    VECTOR  guest_sync_entry        // lower EL, AArch64
    VECTOR  guest_irq_entry
    VECTOR  guest_irq_entry
    VECTOR  guest_serror_entry
    VECTOR  guest_sync_entry        // lower EL, AArch32 (refused by the handler)
    VECTOR  guest_irq_entry
    VECTOR  guest_irq_entry
    VECTOR  guest_serror_entry

guest_sync_entry:
    SAVE_GUEST
    bl      {sync}
    b       guest_restore

guest_irq_entry:
    SAVE_GUEST
    bl      {irq}
    b       guest_restore

guest_serror_entry:
    SAVE_GUEST
    bl      {serror}
    b       guest_restore

// Enter or re-enter the guest from the frame at sp.
.global guest_restore
guest_restore:
    ldp     x30, x0, [sp, #240]
    msr     elr_el2, x0
    ldr     x0, [sp, #256]
    msr     spsr_el2, x0
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame}
    eret

hv_fatal_entry:
    mrs     x0, esr_el2
    mrs     x1, elr_el2
    mrs     x2, far_el2
    b       {fatal}

// First entry into a guest: x0 = its frame (the top frame of this pCPU's stack).
.global guest_enter
guest_enter:
    mov     sp, x0
    b       guest_restore
"#,
    frame = const FRAME_SIZE,
    sync = sym super::trap::hv_guest_sync,
    irq = sym super::trap::hv_guest_irq,
    serror = sym super::trap::hv_guest_serror,
    fatal = sym super::trap::hv_fatal,
);
