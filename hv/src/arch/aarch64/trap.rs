//! Exit handlers: decode why the guest stopped, serve it, and return to it. A guest can make
//! hv refuse an access (an injected abort), or stop or restart its own VM, never crash hv.
use super::calls::{self, SmcccRegs};
use super::dabt;
use super::el1::ArchEl1;
use super::exit::{self, Exit, SysRegAccess, ICC_ASGI1R_EL1, ICC_SGI0R_EL1, ICC_SGI1R_EL1};
use super::inject::{self, Fault};
use super::platform::Aarch64;
use super::regs::{El1, GuestRegs};
use super::vgic_host::{self, VmHost};
use super::{gic, irq, vms};
use crate::arch::Arch;
use crate::caller::Caller;
use crate::lifecycle::{self, Cause};
use crate::machine::{route_mmio, VMS};
use crate::mmio::{Bus, DevCtx};
use crate::services::Outcome;
use crate::vm::Stop;
use crate::{console, hv_println};
use aarch64_cpu::registers::*;
use hv_mmio::{MmioCtx, MmioFault, MmioOp, Width};
use hv_types::{Ipa, VmId};

/// The context of a trapped access: the current vCPU's `DevCtx`, found only when a handler
/// asks, so the common access path stores nothing for it.
struct ExitCtx;

impl ExitCtx {
    fn dev(&self) -> DevCtx<Aarch64> {
        let (vm, vcpu) = current();
        DevCtx::new(vm, vcpu)
    }
}

impl MmioCtx for ExitCtx {
    fn console_write(&mut self, bytes: &[u8]) {
        self.dev().console_write(bytes)
    }
    fn console_rx_ready(&mut self) {
        console::rx_ready::<Aarch64>();
    }
    fn set_irq(&mut self, _line: usize, _level: bool) {}
    fn vcpu(&self) -> usize {
        current().1
    }
    fn irq_level(&mut self, intid: u32, level: bool) {
        self.dev().irq_level(intid, level)
    }
}

struct VmBus {
    vm: VmId,
}

impl Bus for VmBus {
    #[inline(always)]
    fn access(&mut self, ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
        route_mmio(self.vm, &mut ExitCtx, ipa, width, op)
            .or_else(|| vgic_host::route(ipa, width, op))
            .or_else(|| crate::mmio::hv_pages::<Aarch64>(self.vm, ipa, width, op))
    }
}

/// This pCPU's (VM, vCPU). Only pCPUs the description pins a vCPU to ever enter a guest.
#[inline(always)]
fn current() -> (VmId, usize) {
    Aarch64::current()
}

fn end(vm: VmId, index: usize, cause: Cause) -> ! {
    lifecycle::end::<Aarch64>(vm, index, cause)
}

/// Told to stop running the guest: leave the VM, or wait while it is paused.
fn interrupted(vm: VmId, index: usize) {
    lifecycle::interrupted::<Aarch64>(vm, index)
}

fn inject_or_stop(regs: &mut GuestRegs, el1: &mut ArchEl1, vm: VmId, index: usize, fault: Fault) {
    let vector = inject::inject(regs, el1, fault);
    // A guest with no usable vector table would fault forever: it crashed (stop or restart it).
    if el1.translate(vector).is_none_or(|pa| !el1.vm.owns_pa(hv_types::Pa(pa), 4)) {
        hv_println!(
            "hv: vm `{}` took {fault} at {:#x} with no exception vector mapped: it crashed",
            VMS[vm.0].name,
            ELR_EL1.get()
        );
        end(vm, index, Cause::Crash);
    }
}

/// Serve an SMCCC call (x0-x3) from the current vCPU; does not return if the vCPU stopped.
#[inline(always)]
fn call(x: &mut SmcccRegs) {
    // A call that stops the vCPU or VM does not come back (Vcpu::stop_vm), so Stopped never
    // reaches here on the target.
    if calls::dispatch(x, &mut Caller::<Aarch64>::new()) == Outcome::Stopped {
        lifecycle::finish::<Aarch64>(Stop::Already);
    }
}

/// The HVC fast path: an SMCCC call sees x0-x3 of the fast frame (see vectors.rs).
/// A VM stopped by one vCPU kicks its others (`irq::kick_vm`), so the fast paths need not look.
pub extern "C" fn hv_guest_hvc(x: &mut SmcccRegs) {
    call(x);
}

/// What the fast paths save (vectors.rs): the full frame layout, of which only x0-x18 and x30
/// are valid.
pub type FastFrame = [u64; 31];

/// The MMIO fast path: a translation fault with a valid syndrome, decoded by a device, whose
/// transfer register is in the fast frame. Anything else returns false having changed nothing,
/// and the stub completes the frame for `hv_guest_sync`, which performs it again; that is sound
/// because a refused access has no side effects (`dabt::by_syndrome`).
pub extern "C" fn hv_guest_dabt(x: &mut FastFrame) -> bool {
    let esr = ESR_EL2.get();
    if !exit::is_mmio(esr) {
        return false;
    }
    let (s, write) = exit::syndrome(esr);
    let reg = s.reg as usize;
    // x19-x30 are live in the CPU or not where the full frame has them; x31 is XZR.
    if (19..=30).contains(&reg) {
        return false;
    }
    let (vm, _) = current();
    let ipa = dabt::fault_ipa(HPFAR_EL2.get(), FAR_EL2.get());
    // Only a store reads Rt; XZR (31) is not in the frame and reads as zero.
    let rt = if write { x.get(reg).copied().unwrap_or(0) } else { 0 };
    match dabt::by_syndrome(s, write, rt, ipa, &mut VmBus { vm }) {
        // No device there: the GICv2 acknowledge trap, or the full path's to answer.
        None => return ack_trap(vm, ipa),
        Some(Some(v)) => {
            if let Some(r) = x.get_mut(reg) {
                *r = v;
            }
        }
        Some(None) => {}
    }
    // Only the AArch64 lower-EL vector comes here (vectors.rs): the instruction is 4 bytes.
    ELR_EL2.set(ELR_EL2.get().wrapping_add(4));
    true
}

/// A fault on the GICv2 CPU interface page hv unmapped to watch acknowledges: look, and let
/// the access run again. Out of line: the MMIO fast path reaches it only when no device matched.
#[inline(never)]
fn ack_trap(vm: VmId, ipa: Ipa) -> bool {
    if gic::ack_trapped(vm, ipa.0) {
        irq::check_acks(vm);
        return true;
    }
    false
}

/// The system-register fast path: an SGI write (GICv3 `ICC_SGI1R_EL1`, the guest's IPIs) whose
/// Rt is in the fast frame. Anything else returns false having changed nothing, and the stub
/// takes the full path (`hv_guest_sync`), as for data aborts.
pub extern "C" fn hv_guest_sysreg(x: &mut FastFrame) -> bool {
    let a = SysRegAccess::decode(ESR_EL2.get() as u32);
    let rt = a.rt as usize;
    if a.read || (19..=29).contains(&rt) {
        return false;
    }
    match a.reg {
        ICC_SGI1R_EL1 => {
            let v = x.get(rt).copied().unwrap_or(0); // 31 is XZR
            crate::arch::aarch64::vgic::private::sgi1r(&mut VmHost::here(), current().1, v);
        }
        // Group 0 and other-security-state SGIs: the guest has neither, so WI.
        ICC_SGI0R_EL1 | ICC_ASGI1R_EL1 => {}
        _ => return false,
    }
    ELR_EL2.set(ELR_EL2.get().wrapping_add(4));
    true
}

pub extern "C" fn hv_guest_sync(regs: &mut GuestRegs) {
    let (vm, index) = current();
    if vms::vm(vm).must_exit() {
        interrupted(vm, index);
    }
    let mut el1 = ArchEl1 { vm: &VMS[vm.0] };
    let fault = match exit::decode(ESR_EL2.get()) {
        // HVC normally takes the fast path; ELR already points past it.
        Exit::Hvc { .. } => {
            call(regs.x.first_chunk_mut::<4>().expect("31 registers"));
            return;
        }
        Exit::Smc { .. } => {
            regs.elr = regs.elr.wrapping_add(exit::insn_len(ESR_EL2.get())); // a trapped SMC returns to itself
            call(regs.x.first_chunk_mut::<4>().expect("31 registers"));
            return;
        }
        Exit::DataAbort(da) => {
            let far = FAR_EL2.get();
            let ipa = dabt::fault_ipa(HPFAR_EL2.get(), far);
            if ack_trap(vm, ipa) {
                return; // the access runs again
            }
            match dabt::data_abort(regs, &mut el1, da, far, ipa, &mut VmBus { vm }) {
                Ok(()) => return,
                Err(f) => f,
            }
        }
        Exit::InstrAbort { .. } => Fault::Instr { far: FAR_EL2.get() },
        // The vector routes WFx to `hv_guest_wfx`; a frame of its own is not needed.
        Exit::Wfx { .. } => {
            regs.elr = regs.elr.wrapping_add(exit::insn_len(ESR_EL2.get()));
            wfx(vm, index, ESR_EL2.get());
            return;
        }
        Exit::SysReg { iss } => {
            let a = SysRegAccess::decode(iss);
            match a.reg {
                ICC_SGI1R_EL1 if !a.read => {
                    let v = regs.get(a.rt);
                    // The senders' and targets' own state only: no VM-wide lock.
                    crate::arch::aarch64::vgic::private::sgi1r(&mut VmHost::here(), index, v);
                }
                // Group 0 and other-security-state SGIs: the guest has neither, so WI.
                ICC_SGI0R_EL1 | ICC_ASGI1R_EL1 if !a.read => {}
                // An ID register (trapped only while hv hides something in them, idregs.rs).
                (3, 0, 0, crm @ 1..=7, op2) if a.read => regs.set(a.rt, super::idregs::read(crm, op2)),
                // A Group 1 CPU-interface register trapped while hv watches acknowledges: look
                // at what waits, then let the instruction run again, untrapped.
                (3, 0, 12, 8..=12, _) if gic::watching_acks() => {
                    irq::check_acks(vm);
                    return;
                }
                _ => {
                    inject_or_stop(regs, &mut el1, vm, index, Fault::Undefined);
                    return;
                }
            }
            regs.elr = regs.elr.wrapping_add(4);
            return;
        }
        Exit::Other { .. } => Fault::Undefined,
    };
    inject_or_stop(regs, &mut el1, vm, index, fault);
}

/// A physical interrupt while the guest ran (HCR_EL2.IMO routes them to EL2). A fast path
/// (vectors.rs): only what an AAPCS64 handler may clobber is saved, and nothing here needs more.
pub extern "C" fn hv_guest_irq() {
    let (vm, vcpu) = current();
    if irq::handle::<Aarch64>(vm, vcpu) {
        interrupted(vm, vcpu);
    }
}

/// A trapped WFI (a fast path, like `hv_guest_irq`): the guest is idle until an interrupt.
pub extern "C" fn hv_guest_wfx() {
    let (vm, index) = current();
    if vms::vm(vm).must_exit() {
        interrupted(vm, index);
    }
    // A T32 WFI may be 16 bits. ELR_EL2 is live: the fast path keeps the guest's only there.
    let esr = ESR_EL2.get();
    ELR_EL2.set(ELR_EL2.get().wrapping_add(exit::insn_len(esr)));
    wfx(vm, index, esr);
}

/// ISS.TI: 0 WFI, 1 WFE, 2 WFIT, 3 WFET. Only a plain WFI sleeps: WFIT's deadline is not a
/// physical interrupt hv would wake for, and returning early is a wake-up the architecture
/// allows (so WFIT and WFET complete at once).
fn wfx(vm: VmId, index: usize, esr: u64) {
    if esr & 0b11 == 0 {
        // Idle: an unfinished line (a prompt) is all the guest will say for now.
        console::flush(vms::vm(vm));
        if irq::wait::<Aarch64>(vm, index) {
            interrupted(vm, index);
        }
    }
}

/// An SError while the guest ran: it caused it (e.g. an external abort on a passthrough
/// device), so its VM stops or restarts; the others run on.
pub extern "C" fn hv_guest_serror(_regs: &mut GuestRegs) {
    let (vm, index) = current();
    hv_println!("hv: vm `{}` raised an SError (ESR_EL2 {:#x})", VMS[vm.0].name, ESR_EL2.get());
    end(vm, index, Cause::SError);
}

/// An exception taken from EL2 itself: a hypervisor bug.
pub extern "C" fn hv_fatal(esr: u64, elr: u64, far: u64) -> ! {
    panic!("exception at EL2: ESR {esr:#x} ELR {elr:#x} FAR {far:#x}")
}
