//! A pCPU between vCPUs: a vCPU is handed to its pCPU through the pCPU's mailbox (powering it
//! on through the firmware the first time), and a pCPU whose vCPU leaves its VM (CPU_OFF, the VM
//! stopped or restarts) parks here, asleep in WFI until a kick hands it a vCPU; it stays
//! powered, so a later CPU_ON just works. Generic over the contract type only so that console
//! input taken while parked reaches the core without this file naming the implementation.
use super::{el2, firmware, gic, irq, pcpu, vms};
use crate::arch::aarch64::regs::FRAME_SIZE;
use crate::arch::Arch;
use crate::machine::{STACK_SIZE, VMS};
use crate::services::StartError;
use core::sync::atomic::Ordering;
use hv_types::VmId;

unsafe extern "C" {
    /// Where a pCPU powered on through the firmware starts (boot.rs).
    fn _secondary_start();
}

/// Hand vCPU `k` of `vm` to its pCPU, powering that pCPU on if needed.
pub fn start_vcpu(vm: VmId, k: usize, entry: u64, arg: u64) -> Result<(), StartError> {
    let Some(&pcpu) = VMS[vm.0].vcpus.get(k) else {
        return Err(StartError::NoSuchVcpu);
    };
    if !vms::vm(vm).claim_vcpu(k) {
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
        vms::vm(vm).release_vcpu(k);
        return Err(StartError::Failed);
    }
    Ok(())
}

/// Sleep until a vCPU is handed to this pCPU, then run it. While parked the pCPU still serves
/// console input and passthrough interrupts routed to it.
pub fn wait_for_vcpu<A: Arch>(cpu: usize) -> ! {
    let me = pcpu::this();
    let mb = &me.mailbox;
    loop {
        if mb.full.swap(false, Ordering::AcqRel) {
            let Some((vm, k)) = me.vcpu else { break };
            // Handed over just before its VM stopped or began a restart: not started after all.
            if vms::vm(vm).must_leave() {
                vms::vm(vm).release_vcpu(k);
                continue;
            }
            el2::enter_vcpu(&VMS[vm.0], k, mb.entry.load(Ordering::Relaxed), mb.arg.load(Ordering::Relaxed));
        }
        // A pending interrupt ends WFI even with IRQs masked at EL2; it is handled below.
        aarch64_cpu::asm::wfi();
        irq::handle_parked::<A>();
    }
    panic!("pCPU {cpu} was given a vCPU the description does not pin to it")
}

/// Leave the guest for good on this pCPU: tidy what its vCPU left in the GIC and timers, drop
/// every Rust frame (reset SP to the top of this pCPU's stack) and wait for the next vCPU.
pub fn park<A: Arch>() -> ! {
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
            parked = sym parked::<A>,
            options(noreturn)
        )
    }
}

extern "C" fn parked<A: Arch>(cpu: usize) -> ! {
    wait_for_vcpu::<A>(cpu)
}
