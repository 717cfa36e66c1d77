//! Entry in HS-mode from the SBI firmware, translation off: a0 = hart ID, a1 = the firmware's
//! DTB (unused: the description says everything). The hart the firmware boots first zeroes .bss;
//! the others come in through SBI HSM at `_secondary_start`. Each points `tp` at its entry of
//! `PCPUS`, takes its stack, installs the trap vector and waits for a vCPU (run.rs). The boot
//! hart starts every VM's vCPU 0. This is the one file that picks the contract type for the core.
use super::platform::Riscv64;
use super::{csr, pcpu, plic, run};
use crate::hv_println;
use crate::machine::{self, HW_SPIS, NUM_CPUS, STACK_SIZE, VMS};
use core::sync::atomic::Ordering;

core::arch::global_asm!(
    r#"
.option arch, +m
.section .text.boot, "ax"
.global _start
_start:
    li      t2, 1
    j       1f
.global _secondary_start
_secondary_start:
    li      t2, 0
1:  li      t0, {ncpus}
    bgeu    a0, t0, 4f
    la      t0, {pcpus}
    li      t1, {pcpu_size}
    mul     t1, a0, t1
    add     tp, t0, t1
    la      t0, __stacks_start
    li      t1, {stack}
    addi    t3, a0, 1
    mul     t1, t1, t3
    add     sp, t0, t1
    la      t0, hv_trap_vector
    csrw    stvec, t0
    csrw    sscratch, zero
    beqz    t2, 3f
    la      t0, __bss_start
    la      t1, __bss_end
2:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       2b
3:  mv      a1, t2
    call    {main}
4:  wfi
    j       4b
"#,
    ncpus = const NUM_CPUS,
    pcpus = sym pcpu::PCPUS,
    pcpu_size = const pcpu::SIZE,
    stack = const STACK_SIZE,
    main = sym hv_main,
);

unsafe extern "C" {
    static __stacks_start: u8;
}

extern "C" fn hv_main(hart: usize, primary: bool) -> ! {
    let me = pcpu::this();
    // The stack top this hart started on, for the trap entry (it runs on a fresh one each time).
    let top = (&raw const __stacks_start as u64) + (hart as u64 + 1) * STACK_SIZE as u64;
    me.stack_top.store(top, Ordering::Relaxed);
    setup_hart();
    plic::hart_init(hart);
    me.powered.store(true, Ordering::Release);
    if primary {
        crate::uart::init();
        banner();
        // Each passthrough source goes to the hart of its VM's vCPU 0.
        for &(s, owner) in &HW_SPIS {
            plic::route(s, VMS[owner.0].vcpus[0].0);
        }
        crate::boot::boot::<Riscv64>();
    }
    run::wait_for_vcpu::<Riscv64>(hart)
}

/// This hart's hypervisor controls: which guest exceptions and interrupts VS-mode takes itself,
/// the counters and Sstc it may use, FP left to the guest, and the interrupts hv takes (IPIs
/// for kicks, external ones from the PLIC).
fn setup_hart() {
    csr::write!("csrw", "0x602", csr::HEDELEG); // hedeleg
    csr::write!("csrw", "0x603", csr::HIDELEG); // hideleg
    csr::write!("csrw", "0x606", csr::HCOUNTEREN); // hcounteren
    csr::write!("csrs", "0x60A", csr::HENVCFG_STCE); // henvcfg
    csr::write!("csrw", "0x645", 0); // hvip
    csr::write!("csrs", "sstatus", csr::SSTATUS_FS_INITIAL);
    csr::write!("csrc", "sstatus", csr::SSTATUS_SIE);
    csr::write!("csrw", "sie", csr::IRQ_SSI | csr::IRQ_SEI);
}

fn banner() {
    hv_println!("hv {}: hypervisor in HS-mode, {} hart(s)", env!("CARGO_PKG_VERSION"), NUM_CPUS);
    for line in machine::REPORT.lines() {
        hv_println!("hv: {line}");
    }
    let frame = core::mem::size_of::<super::regs::GuestRegs>();
    hv_println!("hv: static memory per pCPU/vCPU: {STACK_SIZE} B stack, {frame} B exit frame");
    for (v, s) in VMS.iter().zip(&machine::VM_STATIC) {
        let state = core::mem::size_of::<crate::vm::Vm<super::vms::VmIrqs>>();
        hv_println!(
            "hv: static memory for vm `{}`: {} B stage-2 tables, {} B device state, {state} B VM state (its vPLIC included)",
            v.name,
            s.tables,
            s.devices,
        );
    }
}
