//! Physical interrupts taken while a guest runs, guest WFI, parked pCPUs, and what a departing
//! vCPU leaves behind (delivery itself is the vGIC host's, vgic_host.rs). A hardware interrupt a VM
//! owns (its EL1 timers, a passthrough SPI) goes through the VM's virtual distributor and
//! reaches the guest HW-linked, so the guest's EOI deactivates it with no trap (on GICv2 through
//! an EOI maintenance interrupt, see `Lr::to_v2`). The maintenance interrupt and the kick SGI
//! refill list registers.
use super::cpu_id;
use super::gic::{self, Bank};
use super::pcpu::{self, this};
use super::vgic_config::{vcpu_irq, ARM};
use super::vgic_host::VmHost;
use super::vms;
use crate::arch::aarch64::vgic::{private, vcpu};
use crate::arch::Arch;
use crate::console_in;
use crate::machine::{BOARD, HW_SPIS, VMS};
use core::sync::atomic::Ordering;
use hv_types::VmId;

/// Interrupt every other pCPU running a vCPU of `vm` (it stopped: they must leave it).
pub fn kick_vm(vm: VmId) {
    for c in VMS[vm.0].vcpus {
        if c.0 != cpu_id() {
            gic::kick(c.0);
        }
    }
}

/// The vCPU about to (re)enter the guest picks up what was posted while it was away.
pub fn resume() {
    this().irq.lock().queue.refill(&mut Bank);
}

/// The owner of passthrough SPI `intid`.
fn spi_owner(intid: u32) -> Option<VmId> {
    HW_SPIS.iter().find(|s| s.0 == intid).map(|s| s.1)
}

/// Take one physical interrupt and route it; another one pending traps again as soon as the
/// guest resumes, so the common case (one tick) acknowledges once. True when this pCPU's vCPU
/// must leave its VM (a kick from the vCPU that stopped or restarts it).
pub fn handle<A: Arch>(vm: VmId, k: usize) -> bool {
    let iar = gic::ack();
    let intid = iar & 0x3FF;
    if intid >= 1020 {
        return vms::vm(vm).must_exit();
    }
    gic::priority_drop(iar);
    // A HW interrupt stays active until the guest deactivates its virtual twin (or hv releases
    // it), so it cannot fire again meanwhile.
    if intid == ARM.timer_virt || intid == ARM.timer_phys {
        // The vCPU's own state only: no VM-wide lock on a tick.
        private::fire(&mut VmHost::running(vm, k), k, intid);
        return false;
    }
    if let Some(owner) = spi_owner(intid) {
        vms::vm(owner).irqs.dist.lock().fire(&mut VmHost::of(owner), intid);
        return false;
    }
    gic::deactivate(iar);
    if intid == BOARD.console_irq {
        console_in::pump::<A>();
    } else if intid == gic::KICK || intid == ARM.maintenance || intid == gic::KICK_WATCH {
        gic::complete_eois();
        this().irq.lock().queue.refill(&mut Bank);
        if intid == gic::KICK_WATCH {
            gic::watch_acks(vm, cpu_id());
        }
        if vms::vm(vm).irqs.refused.swap(false, Ordering::AcqRel) {
            vms::vm(vm).irqs.dist.lock().sweep(&mut VmHost::running(vm, k));
        }
        // A kick is also how another vCPU tells this one to leave (its VM stopped or restarts)
        // or to wait (paused).
        return vms::vm(vm).must_exit();
    }
    // Console input may have been a command for this VM (console_in.rs).
    intid == BOARD.console_irq && vms::vm(vm).must_exit()
}

/// The same for a pCPU with no vCPU to run (parked): only console input and passthrough SPIs
/// need work; a kick just wakes it to look at its mailbox.
pub fn handle_parked<A: Arch>() {
    loop {
        let iar = gic::ack();
        let intid = iar & 0x3FF;
        if intid >= 1020 {
            return;
        }
        gic::priority_drop(iar);
        if let Some(owner) = spi_owner(intid) {
            vms::vm(owner).irqs.dist.lock().fire(&mut VmHost::of(owner), intid);
            continue;
        }
        gic::deactivate(iar);
        if intid == BOARD.console_irq {
            console_in::pump::<A>();
        }
    }
}

/// This pCPU's vCPU left its VM: nothing of it may stay in the list registers, its queue, or
/// its EL1 timers (a restarted guest must start from reset state).
pub fn quiesce() {
    let cpu = cpu_id();
    // SAFETY: writes the EL1 timers' control registers, which belong to the departing vCPU;
    // disabling them drops their interrupt lines.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", "msr cntp_ctl_el0, xzr", "isb") };
    this().irq.lock().queue.clear();
    gic::quiesce(cpu);
}

/// A VM restarts: nothing may remain queued for its vCPUs, and the physical SPIs it was
/// handling are deactivated (its guest will never EOI them now).
pub fn reset_vm(vm: VmId) {
    for (k, c) in VMS[vm.0].vcpus.iter().enumerate() {
        *pcpu::of(c.0).irq.lock() = vcpu_irq(k, VMS[vm.0].vcpus.len());
    }
    vms::vm(vm).irqs.refused.store(false, Ordering::Release);
    for &(intid, owner) in &HW_SPIS {
        if owner == vm {
            gic::release(intid, cpu_id(), cpu_id());
        }
    }
}

/// The guest is about to acknowledge (a trapped Group 1 CPU-interface access on GICv3, an
/// access to the unmapped first page of its CPU interface on GICv2; see
/// `gic::watching_acks`): passthrough SPIs waiting in this pCPU's list registers whose line
/// has dropped are withdrawn and their physical twins released, so the guest's acknowledge,
/// run again once hv returns, finds only what bare metal would signal.
pub fn check_acks(vm: VmId) {
    let cpu = cpu_id();
    let irq = this().irq.lock();
    vcpu::withdraw_stale_spis(&mut Bank, gic::spi_pending, |intid| gic::release(intid, cpu, cpu));
    // One still queued (the list registers were full) reaches them later: keep watching.
    if !irq.queue.holds_hw_spi() {
        gic::stop_watching_acks(vm);
    }
}

/// A trapped WFI: sleep the pCPU unless the vCPU already has an interrupt waiting. A timer
/// tick whose line has dropped since (the guest disabled its timer) does not count, and is
/// withdrawn. A physical interrupt wakes `wfi` even though hv runs with IRQs masked; it is
/// handled before the guest resumes. True when the vCPU must leave its VM.
pub fn wait<A: Arch>(vm: VmId, k: usize) -> bool {
    // List registers only: this pCPU's, so no lock is needed to look.
    if vcpu::hw_ppi_pending(&Bank) {
        private::drop_stale(&mut VmHost::running(vm, k), k);
    }
    if this().irq.lock().queue.has_pending(&Bank) {
        return false;
    }
    aarch64_cpu::asm::wfi();
    // What woke it is (nearly always) an interrupt for this vCPU: take it here rather than in a
    // second exit straight after the guest resumes.
    handle::<A>(vm, k)
}
