//! riscv64 entry: a0 = hart ID, a1 = DTB, VS-mode (the guest's S-mode) with translation off.
//! Stack, .bss, FP on (the gc target uses its registers), the trap vector (trap.rs).
core::arch::global_asm!(
    r#"
.section .text.boot, "ax"
.global _start
_start:
    csrw    sscratch, a0            // the hart's index, for trap.rs
    mv      s1, a1
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  li      t0, (1 << 13)           // sstatus.FS = Initial
    csrs    sstatus, t0
    la      t0, guest_trap_vector
    csrw    stvec, t0
    mv      a0, s1
    call    guest_main
3:  wfi
    j       3b
"#
);
