//! A hart between vCPUs: a vCPU is handed over through the hart's mailbox (the hart is started
//! through SBI HSM the first time), and a hart whose vCPU leaves its VM parks here, asleep in
//! WFI until a kick hands it a vCPU. Generic over the contract type only so that console input
//! taken while parked reaches the core without this file naming the implementation.
use super::{firmware, irq, pcpu, vcpu, vms};
use crate::arch::Arch;
use crate::machine::{STACK_SIZE, VMS};
use crate::services::StartError;
use core::sync::atomic::Ordering;
use hv_types::VmId;

unsafe extern "C" {
    /// Where a hart started through SBI HSM begins (boot.rs).
    fn _secondary_start();
    static __stacks_start: u8;
}

/// Hand vCPU `k` of `vm` to its hart, starting that hart if needed.
pub fn start_vcpu(vm: VmId, k: usize, entry: u64, arg: u64) -> Result<(), StartError> {
    let Some(&cpu) = VMS[vm.0].vcpus.get(k) else {
        return Err(StartError::NoSuchVcpu);
    };
    if !vms::vm(vm).claim_vcpu(k) {
        return Err(StartError::AlreadyOn);
    }
    let target = pcpu::of(cpu.0);
    let mb = &target.mailbox;
    mb.entry.store(entry, Ordering::Relaxed);
    mb.arg.store(arg, Ordering::Relaxed);
    mb.full.store(true, Ordering::Release);
    if target.powered.load(Ordering::Acquire) {
        // Parked in WFI (or about to be): the kick wakes it to read its mailbox.
        if cpu.0 != pcpu::this().index {
            firmware::send_ipi(cpu.0);
        }
        return Ok(());
    }
    if firmware::hart_start(cpu.0, _secondary_start as *const () as u64, 0) != 0 {
        mb.full.store(false, Ordering::Release);
        vms::vm(vm).release_vcpu(k);
        return Err(StartError::Failed);
    }
    Ok(())
}

/// Sleep until a vCPU is handed to this hart, then run it.
pub fn wait_for_vcpu<A: Arch>(hart: usize) -> ! {
    let me = pcpu::this();
    loop {
        if me.mailbox.full.swap(false, Ordering::AcqRel) {
            let Some((vm, k)) = me.vcpu else { break };
            if vms::vm(vm).must_leave() {
                vms::vm(vm).release_vcpu(k);
                continue;
            }
            let (entry, arg) =
                (me.mailbox.entry.load(Ordering::Relaxed), me.mailbox.arg.load(Ordering::Relaxed));
            vcpu::enter(&VMS[vm.0], k, entry, arg);
        }
        // A pending interrupt ends WFI even with interrupts masked in HS-mode; taken below.
        // SAFETY: waiting for an interrupt has no memory effects.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
        irq::handle_parked::<A>();
    }
    panic!("hart {hart} was given a vCPU the description does not pin to it")
}

/// Leave the guest for good on this hart: drop every Rust frame and wait for the next vCPU.
pub fn park<A: Arch>() -> ! {
    irq::quiesce();
    let hart = pcpu::this().index;
    // SAFETY: the stack top boot code gave this hart; no Rust frame survives (park never
    // returns), so reusing the stack from the top is sound.
    unsafe {
        let top = (&raw const __stacks_start as usize) + (hart + 1) * STACK_SIZE;
        core::arch::asm!(
            "mv sp, {top}",
            "mv a0, {hart}",
            "j {parked}",
            top = in(reg) top,
            hart = in(reg) hart,
            parked = sym parked::<A>,
            options(noreturn)
        )
    }
}

extern "C" fn parked<A: Arch>(hart: usize) -> ! {
    wait_for_vcpu::<A>(hart)
}
