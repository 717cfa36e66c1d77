//! Entry at EL2 with the MMU off: pick this pCPU's stack, zero .bss once, install the vectors,
//! turn on the EL2 MMU, then wait for a vCPU to run. The boot CPU starts every VM's vCPU 0.
//! A pCPU whose vCPU leaves its VM (CPU_OFF, the VM stopped or restarts) parks here again,
//! asleep in WFI until a kick hands it a vCPU; it stays powered, so a later CPU_ON just works.
use super::{console_in, el2, firmware, gic, irq, pcpu, uart};
use crate::arch::aarch64::regs::FRAME_SIZE;
use crate::machine::{self, NUM_CPUS, STACK_SIZE, VMS};
use crate::services::StartError;
use crate::{hv_println, vm};
use core::sync::atomic::Ordering;
use hv_types::VmId;

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

unsafe extern "C" {
    fn _secondary_start();
}

extern "C" fn hv_main(cpu: usize, primary: bool) -> ! {
    el2::init_mmu();
    if primary {
        if let Err(why) = gic::identify() {
            hv_println!("hv: the board's GIC is not as described in {}: {why}", machine::SOURCE);
            firmware::system_off();
        }
    }
    gic::init(cpu, primary);
    pcpu::this().powered.store(true, Ordering::Release);
    if primary {
        banner();
        console_in::init();
        for v in &VMS {
            let dtb = v.dtb.map_or(0, |d| d.0);
            if start_vcpu(v.id, 0, v.entry.0, dtb).is_err() {
                hv_println!("hv: cannot start vm `{}`", v.name);
            }
        }
    }
    wait_for_vcpu(cpu)
}

fn banner() {
    hv_println!("hv {}: hypervisor at EL2, {} pCPU(s)", env!("CARGO_PKG_VERSION"), NUM_CPUS);
    for line in machine::REPORT.lines() {
        hv_println!("hv: {line}");
    }
    hv_println!("hv: GIC distributor reports {} interrupt lines", uart::gic_lines());
    let frame = crate::arch::aarch64::regs::FRAME_SIZE;
    hv_println!("hv: static memory per pCPU/vCPU: {STACK_SIZE} B stack (its {frame} B exit frame included)");
    for (v, s) in VMS.iter().zip(&machine::VM_STATIC) {
        let state = core::mem::size_of::<vm::VmState>();
        // The distributor, and each vCPU's private interrupts and queue (in its pCPU's entry).
        let vgic = core::mem::size_of::<spin::Mutex<crate::arch::aarch64::vgic::VGicd>>()
            + v.vcpus.len() * core::mem::size_of::<spin::Mutex<crate::arch::aarch64::vgic::VcpuIrq>>();
        hv_println!(
            "hv: static memory for vm `{}`: {} B stage-2 tables, {} B device state, {vgic} B vGIC, {state} B run state",
            v.name,
            s.tables,
            s.devices,
        );
    }
}

/// Hand vCPU `k` of `vm` to its pCPU, powering that pCPU on if needed.
pub fn start_vcpu(vm: VmId, k: usize, entry: u64, arg: u64) -> Result<(), StartError> {
    let Some(&pcpu) = VMS[vm.0].vcpus.get(k) else {
        return Err(StartError::NoSuchVcpu);
    };
    if !vm::claim_vcpu(vm, k) {
        return Err(StartError::AlreadyOn);
    }
    let target = pcpu::of(pcpu.0);
    let mb = &target.mailbox;
    mb.entry.store(entry, Ordering::Relaxed);
    mb.arg.store(arg, Ordering::Relaxed);
    mb.full.store(true, Ordering::Release);
    if target.powered.load(Ordering::Acquire) {
        // Parked in WFI (or about to be): the kick wakes it to read its mailbox.
        gic::kick(pcpu.0);
        return Ok(());
    }
    if firmware::cpu_on(pcpu.0, _secondary_start as *const () as u64) != 0 {
        // The pCPU never came up: the vCPU is not running, so a later CPU_ON may try again.
        mb.full.store(false, Ordering::Release);
        vm::release_vcpu(vm, k);
        return Err(StartError::Failed);
    }
    Ok(())
}

/// Sleep until a vCPU is handed to this pCPU, then run it. While parked the pCPU still serves
/// console input and passthrough interrupts routed to it.
fn wait_for_vcpu(cpu: usize) -> ! {
    let me = pcpu::this();
    let mb = &me.mailbox;
    loop {
        if mb.full.swap(false, Ordering::AcqRel) {
            let Some((vm, k)) = me.vcpu else { break };
            // Handed over just before its VM stopped or began a restart: not started after all.
            if vm::must_leave(vm) {
                vm::release_vcpu(vm, k);
                continue;
            }
            el2::enter_vcpu(&VMS[vm.0], k, mb.entry.load(Ordering::Relaxed), mb.arg.load(Ordering::Relaxed));
        }
        // A pending interrupt ends WFI even with IRQs masked at EL2; it is handled below.
        aarch64_cpu::asm::wfi();
        irq::handle_parked();
    }
    panic!("pCPU {cpu} was given a vCPU the description does not pin to it")
}

/// Leave the guest for good on this pCPU: tidy what its vCPU left in the GIC and timers, drop
/// every Rust frame (reset SP to the top of this pCPU's stack) and wait for the next vCPU.
pub fn park() -> ! {
    irq::quiesce();
    let cpu = super::cpu_id();
    unsafe extern "C" {
        static __stacks_start: u8;
    }
    // SAFETY: the same stack top boot code gave this pCPU, below its reserved exit frame; no
    // Rust frame survives (park never returns), so reusing the stack from the top is sound.
    unsafe {
        let top = (&raw const __stacks_start as usize) + (cpu + 1) * STACK_SIZE - FRAME_SIZE;
        core::arch::asm!(
            "mov sp, {top}",
            "mov x0, {cpu}",
            "b {parked}",
            top = in(reg) top,
            cpu = in(reg) cpu,
            parked = sym parked,
            options(noreturn)
        )
    }
}

extern "C" fn parked(cpu: usize) -> ! {
    wait_for_vcpu(cpu)
}
