//! Physical interrupts taken while a guest runs, and guest WFI. The virtual timer's PPI becomes
//! a HW-linked virtual interrupt of the running vCPU (the guest's EOI deactivates it, no trap);
//! the maintenance interrupt refills list registers from the vCPU's queue.
use super::cpu_id;
use super::gicv3::{self, IchBank};
use crate::machine::{BOARD, NUM_CPUS};
use crate::vgic::VgicCpu;
use hv_types::IntId;

/// Priority the guest sees for the virtual timer.
const VTIMER_PRIORITY: u8 = 0xA0;

/// Each pCPU's vCPU interrupt state (a lock, because later other pCPUs inject too).
static VGIC: [spin::Mutex<VgicCpu>; NUM_CPUS] = [const { spin::Mutex::new(VgicCpu::new()) }; NUM_CPUS];

/// Drain the physical CPU interface: acknowledge every pending interrupt and route it.
pub fn handle() {
    if !gicv3::PRESENT {
        return;
    }
    let mut vgic = VGIC[cpu_id()].lock();
    loop {
        let intid = gicv3::ack();
        if intid >= 1020 {
            break;
        }
        gicv3::priority_drop(intid);
        if intid == BOARD.timer_virt {
            // Stays active until the guest deactivates its virtual twin.
            vgic.inject(&mut IchBank, IntId(intid), VTIMER_PRIORITY, true);
        } else {
            if intid == BOARD.maintenance {
                vgic.refill(&mut IchBank);
            }
            gicv3::deactivate(intid);
        }
    }
}

/// A trapped WFI: sleep the pCPU unless the vCPU already has an interrupt waiting. A physical
/// interrupt wakes `wfi` even though hv runs with IRQs masked; it is taken as soon as the guest
/// resumes.
pub fn wait() {
    if gicv3::PRESENT && !VGIC[cpu_id()].lock().has_pending(&IchBank) {
        aarch64_cpu::asm::wfi();
    }
}
