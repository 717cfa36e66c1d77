//! Entry at EL2 with the MMU off: pick this pCPU's stack, zero .bss once, install the vectors,
//! turn on the EL2 MMU, then wait for a vCPU to run (run.rs). The boot CPU starts every VM's
//! vCPU 0. This is the one file that picks the architecture's contract type for the core.
use super::platform::Aarch64;
use super::{el2, firmware, gic, gic_io, pcpu, run};
use crate::arch::aarch64::regs::FRAME_SIZE;
use crate::hv_println;
use crate::machine::{self, NUM_CPUS, STACK_SIZE, VMS};
use core::sync::atomic::Ordering;

core::arch::global_asm!(
    r#"
.section .text.boot, "ax"
.global _start
_start:
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff           // Aff0: the pCPU index on the boards we support
    mov     x2, #1
    b       1f
.global _secondary_start
_secondary_start:                   // PSCI CPU_ON from the firmware: x0 = pCPU index
    mov     x1, x0
    mov     x2, #0
1:  cmp     x1, #{ncpus}
    b.hs    4f
    ldr     x3, ={pcpus}            // TPIDR_EL2 = &PCPUS[x1]
    mov     x4, #{pcpu_size}
    madd    x3, x1, x4, x3
    msr     tpidr_el2, x3
    ldr     x3, =__stacks_start
    ldr     x4, ={stack}
    add     x5, x1, #1
    madd    x3, x5, x4, x3
    sub     sp, x3, #{frame}        // the top frame is where a guest's registers live
    adr     x4, hv_vectors
    msr     vbar_el2, x4
    isb
    cbz     x2, 3f
    ldr     x4, =__bss_start
    ldr     x5, =__bss_end
2:  cmp     x4, x5
    b.hs    3f
    str     xzr, [x4], #8
    b       2b
3:  mov     x0, x1
    mov     x1, x2
    bl      {main}
4:  wfe
    b       4b
"#,
    ncpus = const NUM_CPUS,
    pcpus = sym pcpu::PCPUS,
    pcpu_size = const pcpu::SIZE,
    stack = const STACK_SIZE,
    frame = const FRAME_SIZE,
    main = sym hv_main,
);

extern "C" fn hv_main(cpu: usize, primary: bool) -> ! {
    el2::init_mmu();
    if primary {
        // The console first: anything hv says from here on is printed.
        crate::uart::init();
        if let Err(why) = gic::identify() {
            hv_println!("hv: the board's GIC is not as described in {}: {why}", machine::SOURCE);
            firmware::system_off();
        }
    }
    gic::init(cpu, primary);
    pcpu::this().powered.store(true, Ordering::Release);
    if primary {
        banner();
        crate::boot::boot::<Aarch64>();
    }
    run::wait_for_vcpu::<Aarch64>(cpu)
}

fn banner() {
    hv_println!("hv {}: hypervisor at EL2, {} pCPU(s)", env!("CARGO_PKG_VERSION"), NUM_CPUS);
    for line in machine::REPORT.lines() {
        hv_println!("hv: {line}");
    }
    hv_println!("hv: GIC distributor reports {} interrupt lines", gic_io::gic_lines());
    let frame = crate::arch::aarch64::regs::FRAME_SIZE;
    hv_println!("hv: static memory per pCPU/vCPU: {STACK_SIZE} B stack (its {frame} B exit frame included)");
    for (v, s) in VMS.iter().zip(&machine::VM_STATIC) {
        // The VM (its run state, vGIC distributor and console line), and each vCPU's private
        // interrupts and queue (in its pCPU's entry).
        let state = core::mem::size_of::<crate::vm::Vm<super::vms::VmIrqs>>();
        let vcpus = v.vcpus.len() * core::mem::size_of::<spin::Mutex<crate::arch::aarch64::vgic::VcpuIrq>>();
        hv_println!(
            "hv: static memory for vm `{}`: {} B stage-2 tables, {} B device state, {state} B VM state (its vGIC included), {vcpus} B vCPU interrupt state",
            v.name,
            s.tables,
            s.devices,
        );
    }
}
