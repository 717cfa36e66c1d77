//! The board's physical GIC, whichever version the description names, behind one set of calls
//! so the interrupt path is written once. The version is a build-time constant: the other
//! driver is never reached and the optimiser drops it.
use super::gic_io::rd32;
use super::vgic_config::ARM;
use super::{gicv2, gicv3};
use crate::arch::aarch64::vgic::{Lr, LrBank};
use crate::desc::GicDesc;
use crate::machine::{HW_SPIS, VMS};
use hv_types::VmId;

pub const V3: bool = matches!(ARM.gic, GicDesc::V3 { .. });

/// The physical SGI one pCPU sends another: "your vCPU has queued interrupts, or its VM has
/// stopped". Guests never see physical SGIs, so any number would do.
pub const KICK: u32 = 15;
/// A kick that also has the pCPU watch its vCPU's acknowledges (GICv3; see `watch_acks`).
pub const KICK_WATCH: u32 = 14;
/// Priority of every interrupt hv takes; all equal, so none preempts another.
const PRIORITY: u8 = 0x80;

/// Do the GIC frames the description names answer as what they are named? (See each
/// driver's `identify`.) Only the hardware can tell; the boot CPU asks before touching them.
pub fn identify() -> Result<(), &'static str> {
    if V3 {
        gicv3::identify()
    } else {
        gicv2::identify()
    }
}

/// Bring up the GIC for pCPU `cpu`: the distributor and passthrough SPIs once (boot CPU), then
/// this pCPU's kick SGIs, the EL1 timers' and maintenance PPIs and its CPU interface.
pub fn init(cpu: usize, primary: bool) {
    let private = [KICK, KICK_WATCH, ARM.timer_virt, ARM.timer_phys, ARM.maintenance];
    if V3 {
        if primary {
            gicv3::init_distributor();
        }
        gicv3::init_cpu(cpu, &private, PRIORITY);
    } else {
        if primary {
            gicv2::init_distributor();
        }
        gicv2::init_cpu(&private, PRIORITY);
    }
    if primary {
        // Each passthrough SPI starts at its VM's vCPU 0 (the guest may retarget it).
        for &(intid, vm) in &HW_SPIS {
            route_spi(intid, VMS[vm.0].vcpus[0].0);
        }
    }
}

/// Route SPI `intid` to `pcpu` and enable it.
pub fn route_spi(intid: u32, pcpu: usize) {
    if V3 {
        gicv3::route_spi(intid, pcpu, PRIORITY)
    } else {
        gicv2::route_spi(intid, pcpu, PRIORITY)
    }
}

/// Acknowledge; the raw value goes back to `priority_drop`/`deactivate`.
#[inline(always)]
pub fn ack() -> u32 {
    if V3 {
        gicv3::ack()
    } else {
        gicv2::ack()
    }
}

#[inline(always)]
pub fn priority_drop(iar: u32) {
    if V3 {
        gicv3::priority_drop(iar)
    } else {
        gicv2::priority_drop(iar)
    }
}

#[inline(always)]
pub fn deactivate(iar: u32) {
    if V3 {
        gicv3::deactivate(iar)
    } else {
        gicv2::deactivate(iar)
    }
}

/// Deactivate physical `intid`, held back from the vCPU on `pcpu`, from pCPU `this`.
pub fn release(intid: u32, pcpu: usize, this: usize) {
    if V3 {
        gicv3::release(intid, pcpu, this)
    } else {
        gicv2::release(intid, pcpu, this)
    }
}

/// Is private interrupt `intid` of `pcpu` pending at its redistributor (GICv3 only: GICv2's
/// banked state is visible to its own CPU alone)?
pub fn ppi_pending(pcpu: usize, intid: u32) -> bool {
    V3 && gicv3::ppi_pending(pcpu, intid)
}

/// Is SPI `intid` pending at the physical distributor? For a passthrough SPI, which is
/// level-sensitive and which hv never sets pending itself, that is its line, active or not.
pub fn spi_pending(intid: u32) -> bool {
    const GICD_ISPENDR: usize = 0x200;
    let dist = match ARM.gic {
        GicDesc::V2 { dist, .. } | GicDesc::V3 { dist, .. } => dist.0 as usize,
    };
    rd32(dist + GICD_ISPENDR + 4 * (intid as usize / 32)) & (1 << (intid % 32)) != 0
}

/// Watch the acknowledges of `vm`'s vCPU on `pcpu` (a passthrough SPI was just delivered to
/// it), and kick `pcpu` if it is another one. GICv2: the VM's CPU interface page, from
/// anywhere. GICv3: the trap is that pCPU's own register, so another pCPU is sent
/// `KICK_WATCH`, which also does what `KICK` does.
#[cold]
#[inline(never)]
pub fn watch_acks(vm: VmId, pcpu: usize) {
    let here = pcpu == super::cpu_id();
    if !V3 {
        gicv2::watch_acks(vm, true);
        if !here {
            gicv2::send_sgi(KICK, pcpu)
        }
    } else if here {
        gicv3::watch_acks(true)
    } else {
        gicv3::send_sgi(KICK_WATCH, pcpu)
    }
}

/// Is hv watching the guest's acknowledges on this pCPU (a passthrough SPI waits in a list
/// register)? GICv3 traps its Group 1 CPU-interface registers; GICv2 unmaps the first page of
/// its CPU interface (see each driver's `watch_acks`).
pub fn watching_acks() -> bool {
    V3 && gicv3::watching_acks()
}

/// A data abort of `vm` at `ipa` is the GICv2 acknowledge trap.
pub fn ack_trapped(vm: VmId, ipa: u64) -> bool {
    !V3 && gicv2::ack_trapped(vm, ipa)
}

/// `irq::check_acks` has looked: the guest's access runs again, untrapped.
pub fn stop_watching_acks(vm: VmId) {
    if V3 {
        gicv3::watch_acks(false)
    } else {
        gicv2::watch_acks(vm, false)
    }
}

/// Interrupt `pcpu` (see `KICK`).
pub fn kick(pcpu: usize) {
    if V3 {
        gicv3::send_sgi(KICK, pcpu)
    } else {
        gicv2::send_sgi(KICK, pcpu)
    }
}

/// Complete hardware interrupts the guest deactivated (GICv2; on GICv3 the HW link does it).
#[inline(always)]
pub fn complete_eois() {
    if !V3 {
        gicv2::complete_eois()
    }
}

pub fn enable_virtual_interface() {
    if V3 {
        gicv3::enable_virtual_interface()
    } else {
        gicv2::enable_virtual_interface()
    }
}

/// The vCPU left this pCPU for good (its VM stopped or restarts): empty the list registers,
/// turn the virtual interface off, and deactivate the PPIs only a guest's EOI would have.
pub fn quiesce(cpu: usize) {
    for i in 0..Bank.count() {
        Bank.write(i, Lr::default());
    }
    if V3 {
        gicv3::disable_virtual_interface()
    } else {
        gicv2::disable_virtual_interface()
    }
    for intid in [ARM.timer_virt, ARM.timer_phys] {
        release(intid, cpu, cpu);
    }
}

/// This pCPU's list registers.
pub struct Bank;

impl LrBank for Bank {
    #[inline(always)]
    fn count(&self) -> usize {
        if V3 {
            gicv3::IchBank.count()
        } else {
            gicv2::GichBank.count()
        }
    }
    #[inline(always)]
    fn read(&self, i: usize) -> Lr {
        if V3 {
            gicv3::IchBank.read(i)
        } else {
            gicv2::GichBank.read(i)
        }
    }
    #[inline(always)]
    fn write(&mut self, i: usize, lr: Lr) {
        if V3 {
            gicv3::IchBank.write(i, lr)
        } else {
            gicv2::GichBank.write(i, lr)
        }
    }
    #[inline(always)]
    fn set_underflow_irq(&mut self, on: bool) {
        if V3 {
            gicv3::IchBank.set_underflow_irq(on)
        } else {
            gicv2::GichBank.set_underflow_irq(on)
        }
    }
    #[inline(always)]
    fn empty(&self) -> u32 {
        if V3 {
            gicv3::IchBank.empty()
        } else {
            gicv2::GichBank.empty()
        }
    }
}
