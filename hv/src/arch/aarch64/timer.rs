//! The EL1 timers' interrupt lines as the guest's GIC would see them.
use super::vgic_config::ARM;

/// The level of hardware PPI `intid` of the vCPU running here: an EL1 timer's output, high while
/// it is enabled, unmasked and its condition holds (counter >= compare value, unsigned). The
/// condition is worked out from the counter rather than read as ISTATUS, which QEMU updates only
/// when its timer callback runs, after the deadline has passed. `None` for any other PPI.
pub fn line(intid: u32) -> Option<bool> {
    let (ctl, cval, count): (u64, u64, u64);
    if intid == ARM.timer_virt {
        // SAFETY: reads this vCPU's virtual timer and the virtual counter (CNTVOFF_EL2 applied,
        // as the guest sees it); no side effects.
        unsafe {
            core::arch::asm!("mrs {}, cntv_ctl_el0", "mrs {}, cntv_cval_el0", "isb", "mrs {}, cntvct_el0",
                out(reg) ctl, out(reg) cval, out(reg) count)
        };
    } else if intid == ARM.timer_phys {
        // SAFETY: reads this vCPU's EL1 physical timer and the physical counter; no side effects.
        unsafe {
            core::arch::asm!("mrs {}, cntp_ctl_el0", "mrs {}, cntp_cval_el0", "isb", "mrs {}, cntpct_el0",
                out(reg) ctl, out(reg) cval, out(reg) count)
        };
    } else {
        return None;
    }
    // ENABLE set, IMASK clear.
    Some(ctl & 0b11 == 0b01 && count >= cval)
}
