//! Physical interrupts taken while a guest runs, virtual-interrupt delivery between pCPUs, and
//! guest WFI, parked pCPUs, and what a departing vCPU leaves behind. A hardware interrupt a VM
//! owns (its EL1 timers, a passthrough SPI) goes through the VM's virtual distributor and
//! reaches the guest HW-linked, so the guest's EOI deactivates it with no trap (on GICv2 through
//! an EOI maintenance interrupt, see `Lr::to_v2`). The maintenance interrupt and the kick SGI
//! refill list registers.
use super::gic::{self, Bank};
use super::{console_in, cpu_id};
use crate::machine::{BOARD, HW_SPIS, NUM_CPUS, NUM_VMS, VGIC, VMS};
use crate::vgic::{Lr, LrBank, VgicCpu};
use crate::vm;
use core::sync::atomic::{AtomicBool, Ordering};
use hv_mmio::{Delivery, Held, MmioCtx};
use hv_types::{IntId, VmId};

/// Each pCPU's vCPU list-register overflow queue. Other pCPUs post into it, hence the lock.
static QUEUES: [spin::Mutex<VgicCpu>; NUM_CPUS] = [const { spin::Mutex::new(VgicCpu::new()) }; NUM_CPUS];

/// The pCPU running vCPU `k` of `vm`.
fn pcpu(vm: VmId, k: usize) -> Option<usize> {
    VMS[vm.0].vcpus.get(k).map(|c| c.0)
}

/// A delivery to one of the VM's vCPUs was refused (queue full): the virtual distributor kept
/// it pending, and the next refill sweeps the distributor again.
static REFUSED: [AtomicBool; NUM_VMS] = [const { AtomicBool::new(false) }; NUM_VMS];

/// Make an interrupt pending for vCPU `k` of `vm`: straight into a list register when it runs
/// here, else into its queue with a kick to its pCPU. False if its queue is full.
pub fn deliver(vm: VmId, k: usize, d: Delivery) -> bool {
    let Some(p) = pcpu(vm, k) else { return false };
    let lr = Lr::pending(IntId(d.intid), d.priority, d.hw, d.source);
    let ok = if p == cpu_id() {
        QUEUES[p].lock().inject(&mut Bank, lr)
    } else {
        let posted = QUEUES[p].lock().post(lr);
        if posted == Some(true) {
            gic::kick(p);
        }
        posted.is_some()
    };
    if !ok {
        REFUSED[vm.0].store(true, Ordering::Release);
    }
    ok
}

/// What vCPU `k` holds of `intid`; a vCPU on another pCPU shows only its queue.
pub fn held(vm: VmId, k: usize, intid: u32) -> Held {
    let Some(p) = pcpu(vm, k) else { return Held::default() };
    let local = (p == cpu_id()).then_some(&Bank);
    QUEUES[p].lock().held(local, IntId(intid))
}

pub fn take(vm: VmId, k: usize, intid: u32, pending: bool, active: bool) -> Held {
    let Some(p) = pcpu(vm, k) else { return Held::default() };
    let mut bank = Bank;
    let local = (p == cpu_id()).then_some(&mut bank);
    QUEUES[p].lock().take(local, IntId(intid), pending, active)
}

pub fn activate(vm: VmId, k: usize, intid: u32) -> bool {
    pcpu(vm, k) == Some(cpu_id()) && QUEUES[cpu_id()].lock().activate(&mut Bank, IntId(intid))
}

/// Is the line of hardware PPI `intid` of vCPU `k` still asserted? Only the EL1 timers of the
/// vCPU running here can be read (ENABLE and ISTATUS set, IMASK clear); otherwise assume so.
pub fn line(vm: VmId, k: usize, intid: u32) -> bool {
    if pcpu(vm, k) != Some(cpu_id()) {
        return true;
    }
    let ctl: u64;
    if intid == BOARD.timer_virt {
        // SAFETY: reads this vCPU's virtual timer control register.
        unsafe { core::arch::asm!("mrs {}, cntv_ctl_el0", out(reg) ctl) };
    } else if intid == BOARD.timer_phys {
        // SAFETY: reads this vCPU's EL1 physical timer control register.
        unsafe { core::arch::asm!("mrs {}, cntp_ctl_el0", out(reg) ctl) };
    } else {
        return true;
    }
    ctl & 0b111 == 0b101
}

pub fn release_hw(vm: VmId, k: usize, intid: u32) {
    if let Some(p) = pcpu(vm, k) {
        gic::release(intid, p, cpu_id());
    }
}

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
    QUEUES[cpu_id()].lock().refill(&mut Bank);
}

/// The owner of passthrough SPI `intid`.
fn spi_owner(intid: u32) -> Option<VmId> {
    HW_SPIS.iter().find(|s| s.0 == intid).map(|s| s.1)
}

/// Drain the physical CPU interface: acknowledge every pending interrupt and route it. True
/// when this pCPU's vCPU must leave its VM (a kick from the vCPU that stopped or restarts it).
pub fn handle(vm: VmId, k: usize, ctx: &mut impl MmioCtx) -> bool {
    loop {
        let iar = gic::ack();
        let intid = iar & 0x3FF;
        if intid >= 1020 {
            return vm::must_leave(vm);
        }
        gic::priority_drop(iar);
        // A HW interrupt stays active until the guest deactivates its virtual twin (or hv
        // releases it), so it cannot fire again meanwhile.
        if intid == BOARD.timer_virt || intid == BOARD.timer_phys {
            VGIC[vm.0].lock().fire(ctx, k, intid);
        } else if let Some(owner) = spi_owner(intid) {
            VGIC[owner.0].lock().fire(&mut super::trap::DevCtx { vm: owner, vcpu: 0 }, 0, intid);
        } else {
            gic::deactivate(iar);
            if intid == BOARD.console_irq {
                console_in::pump();
            } else if intid == gic::KICK || intid == BOARD.maintenance {
                gic::complete_eois();
                QUEUES[cpu_id()].lock().refill(&mut Bank);
                if REFUSED[vm.0].swap(false, Ordering::AcqRel) {
                    VGIC[vm.0].lock().sweep(ctx);
                }
            }
        }
    }
}

/// The same for a pCPU with no vCPU to run (parked): only console input and passthrough SPIs
/// need work; a kick just wakes it to look at its mailbox.
pub fn handle_parked() {
    loop {
        let iar = gic::ack();
        let intid = iar & 0x3FF;
        if intid >= 1020 {
            return;
        }
        gic::priority_drop(iar);
        if let Some(owner) = spi_owner(intid) {
            VGIC[owner.0].lock().fire(&mut super::trap::DevCtx { vm: owner, vcpu: 0 }, 0, intid);
            continue;
        }
        gic::deactivate(iar);
        if intid == BOARD.console_irq {
            console_in::pump();
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
    QUEUES[cpu].lock().clear();
    gic::quiesce(cpu);
}

/// A VM restarts: nothing may remain queued for its vCPUs, and the physical SPIs it was
/// handling are deactivated (its guest will never EOI them now).
pub fn reset_vm(vm: VmId) {
    for c in VMS[vm.0].vcpus {
        QUEUES[c.0].lock().clear();
    }
    REFUSED[vm.0].store(false, Ordering::Release);
    for &(intid, owner) in &HW_SPIS {
        if owner == vm {
            gic::release(intid, cpu_id(), cpu_id());
        }
    }
}

/// A trapped WFI: sleep the pCPU unless the vCPU already has an interrupt waiting. A timer
/// tick whose line has dropped since (the guest disabled its timer) does not count, and is
/// withdrawn. A physical interrupt wakes `wfi` even though hv runs with IRQs masked; it is
/// taken as soon as the guest resumes.
pub fn wait(vm: VmId, k: usize, ctx: &mut impl MmioCtx) {
    let has_hw = (0..Bank.count()).any(|i| {
        let lr = Bank.read(i);
        lr.is_hw() && lr.is_pending() && !lr.is_active() && lr.intid().0 < 32
    });
    if has_hw {
        VGIC[vm.0].lock().drop_stale(ctx, k);
    }
    if !QUEUES[cpu_id()].lock().has_pending(&Bank) {
        aarch64_cpu::asm::wfi();
    }
}
