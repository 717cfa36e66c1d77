//! Interrupts hv takes in HS-mode: a supervisor software interrupt is a kick from another hart
//! (its VM stopped or restarts, a vCPU was handed over, or it carries a request: raise the
//! guest's software interrupt, fence its translations). The guest's own timer never comes here
//! (Sstc: it owns vstimecmp). External interrupts (the PLIC) are the virtual PLIC's.
use super::pcpu::{self, REQ_EIP, REQ_FENCE_I, REQ_FENCE_VMA, REQ_GUEST_IPI};
use super::sbi::Fence;
use super::vplic_host::{self, Host};
use super::{csr, firmware, plic, vms};
use crate::arch::Arch;
use crate::machine::{BOARD, HW_SPIS, VMS};
use core::sync::atomic::Ordering;
use hv_types::VmId;

const IRQ_S_SOFT: u64 = 1;
const IRQ_S_EXT: u64 = 9;

/// Take what other harts asked of this one, then clear the kick.
fn take_requests() {
    csr::write!("csrc", "sip", csr::IRQ_SSI);
    let me = pcpu::this();
    let req = me.requests.swap(0, Ordering::AcqRel);
    if req & REQ_GUEST_IPI != 0 {
        csr::write!("csrs", "0x645", csr::IRQ_VSSI); // hvip.VSSIP
    }
    if req & REQ_EIP != 0 {
        vplic_host::apply_vseip();
    }
    if req & (REQ_FENCE_I | REQ_FENCE_VMA) != 0 {
        // SAFETY: fences of this hart's own caches and VS-stage translations (hgatp holds the
        // VM's VMID, so hfence.vvma covers exactly this guest).
        unsafe { core::arch::asm!("fence.i", ".insn r 0x73, 0, 0x11, x0, x0, x0", options(nostack)) };
        me.fences_done.fetch_add(1, Ordering::AcqRel);
    }
}

/// An interrupt while the guest ran. True when this hart's vCPU must stop running its guest
/// (`Vm::must_exit`).
pub fn handle<A: Arch>(vm: VmId, _k: usize, cause: u64) -> bool {
    match cause {
        IRQ_S_SOFT => take_requests(),
        IRQ_S_EXT => external::<A>(),
        _ => {}
    }
    vms::vm(vm).must_exit()
}

/// What is pending for a hart that is not running its guest (parked, or waiting for an
/// interrupt on its vCPU's behalf).
pub fn handle_parked<A: Arch>() {
    let pending = csr::read!("sip");
    if pending & csr::IRQ_SSI != 0 {
        take_requests();
    }
    if pending & csr::IRQ_SEI != 0 {
        external::<A>();
    }
}

/// External interrupts, claimed at the physical PLIC: console input (pumped, then completed), or
/// a passthrough source, raised in its VM's virtual PLIC and completed when the guest completes
/// it there.
fn external<A: Arch>() {
    let me = pcpu::this().index;
    loop {
        let s = plic::claim(me);
        if s == 0 {
            return;
        }
        if s == BOARD.console_irq {
            crate::console_in::pump::<A>();
            plic::complete(me, s);
        } else if let Some(&(_, owner)) = HW_SPIS.iter().find(|h| h.0 == s) {
            vms::vm(owner).irqs.plic.lock().set_level(&mut Host { vm: owner }, s, true);
        } else {
            plic::complete(me, s);
        }
    }
}

/// This hart's vCPU left its VM: nothing of it may stay pending.
pub fn quiesce() {
    csr::write!("csrw", "0x645", 0); // hvip
    csr::write!("csrw", "0x24D", u64::MAX); // vstimecmp
}

/// The guest sends its software interrupt to vCPUs `targets` of `vm`.
pub fn guest_ipi(vm: VmId, targets: u64) {
    let me = pcpu::this().index;
    for (k, c) in VMS[vm.0].vcpus.iter().enumerate() {
        if targets & (1 << k) == 0 {
            continue;
        }
        if c.0 == me {
            csr::write!("csrs", "0x645", csr::IRQ_VSSI);
        } else {
            pcpu::of(c.0).requests.fetch_or(REQ_GUEST_IPI, Ordering::AcqRel);
            firmware::send_ipi(c.0);
        }
    }
}

/// Fence vCPUs `targets` of `vm` and wait until each running one has done it. True when this
/// hart's vCPU must leave its VM (a kick taken during the wait may have said so).
pub fn remote_fence(vm: VmId, targets: u64, fence: Fence) -> bool {
    let me = pcpu::this().index;
    let req = match fence {
        Fence::Instructions => REQ_FENCE_I,
        Fence::Translations { .. } => REQ_FENCE_VMA,
    };
    for (k, c) in VMS[vm.0].vcpus.iter().enumerate() {
        if targets & (1 << k) == 0 {
            continue;
        }
        if c.0 == me {
            // SAFETY: as in `take_requests`.
            unsafe { core::arch::asm!("fence.i", ".insn r 0x73, 0, 0x11, x0, x0, x0", options(nostack)) };
            continue;
        }
        if !vms::vm(vm).vcpu_on(k) {
            continue; // a vCPU that is off starts with nothing cached
        }
        let target = pcpu::of(c.0);
        let before = target.fences_done.load(Ordering::Acquire);
        target.requests.fetch_or(req, Ordering::AcqRel);
        firmware::send_ipi(c.0);
        while target.fences_done.load(Ordering::Acquire) == before
            && vms::vm(vm).vcpu_on(k)
            && !vms::vm(vm).must_leave()
        {
            // The target may be waiting for this hart's fence at the same moment: serve it, or
            // the two would wait for each other with interrupts masked.
            if csr::read!("sip") & csr::IRQ_SSI != 0 {
                take_requests();
            }
            core::hint::spin_loop();
        }
    }
    vms::vm(vm).must_exit()
}

/// A retentive suspend: sleep the hart until an interrupt is pending for it or its guest.
/// True when the vCPU must leave its VM.
pub fn wait<A: Arch>(vm: VmId) -> bool {
    // SAFETY: waiting for an interrupt has no memory effects.
    unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    handle_parked::<A>();
    vms::vm(vm).must_exit()
}
