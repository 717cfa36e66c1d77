//! The EL2 vector table and the guest context switch. An exit saves the guest's general-purpose
//! registers, ELR_EL2 and SPSR_EL2 into a `GuestRegs` frame on this pCPU's stack, calls the Rust
//! handler with it, and restores from it (with whatever the handler changed).
//!
//! The most frequent exits take shorter paths that save only x0-x18 and x30: the Rust handlers
//! preserve x19-x29 themselves (AAPCS64) and none changes SPSR. HVC: an SMCCC call reads and
//! writes only x0-x3. Data aborts: the common MMIO access (Rt in the saved registers) is done
//! in place; anything else falls back to the full frame, whose x19-x29 are still live. WFI and
//! physical interrupts read no guest register at all.
//! EL1 system registers are never switched: each pCPU runs exactly one vCPU.
use crate::arch::aarch64::regs::FRAME_SIZE;

core::arch::global_asm!(
    r#"
.macro SAVE_GUEST
    stp     x0, x1, [sp, #-{frame}]!
    stp     x2, x3, [sp, #16]
    SAVE_FROM_X4
.endm

.macro RESTORE_X4_X17
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
.endm

.macro SAVE_X4_X17
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
.endm

// x18-x30, ELR and SPSR into the full layout; x0 = the frame.
.macro SAVE_TAIL
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

// x4-x30, ELR and SPSR, completing a frame whose x0-x3 are saved.
.macro SAVE_FROM_X4
    SAVE_X4_X17
    SAVE_TAIL
.endm

// Fast paths: save what an AAPCS64 handler may clobber besides x0-x3 (already saved): x4-x18
// and x30. With `indexed` = 1 each sits in its full-layout slot, so a register number indexes the
// frame (the MMIO path needs that); with 0 they share one pair store (HVC needs only x0-x3).
// x0 = the frame.
.macro FAST_SAVE indexed
    SAVE_X4_X17
.if \indexed
    str     x18, [sp, #144]
    str     x30, [sp, #240]
.else
    stp     x18, x30, [sp, #144]
.endif
    mov     x0, sp
.endm

.macro FAST_RESTORE_ERET indexed
.if \indexed
    ldr     x18, [sp, #144]
    ldr     x30, [sp, #240]
.else
    ldp     x18, x30, [sp, #144]
.endif
    RESTORE_X4_X17
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame}
    eret
.endm

// Each slot sits at hv_vectors + 0x80 * n; `.org` makes an oversized slot an assembly error
// instead of a silently shifted table.
.macro VECTOR slot, target
.org hv_vectors + \slot * 0x80
    b       \target
.endm

.section .text.vectors, "ax"
.balign 0x800
.global hv_vectors
hv_vectors:
    VECTOR  0, hv_fatal_entry       // current EL, SP_EL0
    VECTOR  1, hv_fatal_entry
    VECTOR  2, hv_fatal_entry
    VECTOR  3, hv_fatal_entry
    VECTOR  4, hv_fatal_entry       // current EL, SP_ELx: a hypervisor bug
    VECTOR  5, hv_fatal_entry
    VECTOR  6, hv_fatal_entry
    VECTOR  7, hv_fatal_entry

// Lower EL, AArch64, synchronous: data aborts and WFI (the exits real guests take most) branch
// out first; the HVC fast path fits in the slot itself (exactly 32 instructions).
.org hv_vectors + 0x400
    stp     x0, x1, [sp, #-{frame}]!
    stp     x2, x3, [sp, #16]
    mrs     x0, esr_el2
    lsr     x0, x0, #26
    cmp     x0, #0x24               // EC = data abort from a lower EL
    b.eq    guest_dabt
    cmp     x0, #0x01               // EC = WFI/WFE
    b.eq    guest_wfx
    cmp     x0, #0x16               // EC = HVC from AArch64
    b.ne    guest_sync_slow
    FAST_SAVE 0
    bl      {hvc}
    FAST_RESTORE_ERET 0
    VECTOR  9, guest_irq_entry
    VECTOR  10, guest_irq_entry
    VECTOR  11, guest_serror_entry
    VECTOR  12, guest_sync_entry    // lower EL, AArch32 (refused by the handler)
    VECTOR  13, guest_irq_entry
    VECTOR  14, guest_irq_entry
    VECTOR  15, guest_serror_entry
.org hv_vectors + 0x800

// A data abort (x0-x3 saved): try the MMIO fast path first. It handles Rt in x0-x18 only, so
// x18 and x30 go as a pair, as for HVC.
guest_dabt:
    FAST_SAVE 0
    bl      {dabt}
    cbz     w0, 1f
    FAST_RESTORE_ERET 0
1:  // Not handled. x19-x29 still hold the guest's values (the handler preserved them), and the
    // frame still holds x0-x18 and x30: complete it and take the slow path.
    ldp     x18, x30, [sp, #144]
    SAVE_TAIL
    bl      {sync}
    b       guest_restore

// Not an HVC, a data abort or WFx: x0-x3 are saved, x0 holds the EC. A trapped system
// register write (an SGI) tries its fast path; the rest complete the frame.
guest_sync_slow:
    cmp     x0, #0x18               // EC = MSR/MRS
    b.eq    guest_sysreg
    SAVE_FROM_X4
    bl      {sync}
    b       guest_restore

// As for data aborts: done in place when Rt is in the saved registers, else the full frame.
guest_sysreg:
    FAST_SAVE 1
    bl      {sysreg}
    cbz     w0, 1f
    FAST_RESTORE_ERET 1
1:  ldr     x18, [sp, #144]
    ldr     x30, [sp, #240]
    SAVE_TAIL
    bl      {sync}
    b       guest_restore

guest_sync_entry:
    SAVE_GUEST
    bl      {sync}
    b       guest_restore

// WFI (x0-x3 saved), and physical interrupts: handlers that never read the frame, so only
// what an AAPCS64 handler may clobber is saved, as for HVC.
guest_wfx:
    FAST_SAVE 0
    bl      {wfx}
    FAST_RESTORE_ERET 0

guest_irq_entry:
    stp     x0, x1, [sp, #-{frame}]!
    stp     x2, x3, [sp, #16]
    FAST_SAVE 0
    bl      {irq}
    FAST_RESTORE_ERET 0

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
    RESTORE_X4_X17
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame}
    eret

// An exception at EL2 is a hypervisor bug, but for one instruction: hv's AT S12E1R walks the
// guest's stage-1 tables, and a table the guest put in a device page can make that walk take
// an external abort. That is the guest's doing, so the AT reports a failed translation.
hv_fatal_entry:
    mrs     x0, elr_el2
    adr     x1, hv_at_insn
    cmp     x0, x1
    b.ne    1f
    adr     x1, hv_at_fault
    msr     elr_el2, x1
    eret
1:  mrs     x0, esr_el2
    mrs     x1, elr_el2
    mrs     x2, far_el2
    b       {fatal}

// u64 hv_at_s12e1r(u64 va): PAR_EL1 after AT S12E1R, or 1 (PAR.F, failed) if the walk aborted.
// Clobbers only x0 and x1 (see hv_fatal_entry).
.global hv_at_s12e1r
hv_at_s12e1r:
hv_at_insn:
    at      s12e1r, x0
    isb
    mrs     x0, par_el1
    ret
hv_at_fault:
    mov     x0, #1
    ret

// First entry into a guest: x0 = its frame (the top frame of this pCPU's stack).
.global guest_enter
guest_enter:
    mov     sp, x0
    b       guest_restore
"#,
    frame = const FRAME_SIZE,
    sync = sym super::trap::hv_guest_sync,
    hvc = sym super::trap::hv_guest_hvc,
    wfx = sym super::trap::hv_guest_wfx,
    dabt = sym super::trap::hv_guest_dabt,
    sysreg = sym super::trap::hv_guest_sysreg,
    irq = sym super::trap::hv_guest_irq,
    serror = sym super::trap::hv_guest_serror,
    fatal = sym super::trap::hv_fatal,
);
