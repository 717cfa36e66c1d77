//! VMs that manage VMs (docs/channels.md). A VM whose description gives it `manages: [..]` may
//! query, stop, pause, resume and restart those VMs, through its management page or hv's call;
//! no other VM can. The person at the console may do the same to any VM (console_in.rs).
//! Pausing keeps a VM's state: its vCPUs wait in hv (`lifecycle::hold`) until it resumes.
use crate::arch::Arch;
use crate::channel::{self, CallError};
use crate::lifecycle;
use crate::machine::{CPU_VCPU, NUM_VMS, VMS};
pub use crate::vm::Control as Op;
use crate::vm::RunState;
use core::sync::atomic::{AtomicU32, Ordering};
use hv_mmio::{MmioFault, MmioOp, Width};
use hv_types::{Ipa, VmId};

/// Who asks: a VM's manager, or the console (which may restart the VM whose pCPU takes its
/// input, from inside it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    Vm(VmId),
    Console,
}

/// Do `op` to `target`; its state afterwards.
pub fn control<A: Arch>(asker: Asker, target: VmId, op: Op) -> Result<RunState, CallError> {
    let vm = A::vm(target);
    match op {
        Op::Query => {}
        Op::Stop => {
            if vm.state() == RunState::Off {
                return Err(CallError::BadState);
            }
            let last = vm.stop(0);
            A::kick_vm(target);
            channel::changed::<A>(target);
            if let crate::vm::Stop::Last(_) = last {
                // Only the console can stop the last VM (a manager still runs).
                lifecycle::finish::<A>(last);
            }
        }
        Op::Pause => {
            if !vm.pause() {
                return Err(CallError::BadState);
            }
            crate::hv_println!("hv: vm {} `{}` paused", target.0, vm.desc.name);
            A::kick_vm(target);
            channel::changed::<A>(target);
        }
        Op::Resume => {
            if !vm.resume() {
                return Err(CallError::BadState);
            }
            crate::hv_println!("hv: vm {} `{}` resumed", target.0, vm.desc.name);
            A::kick_vm(target);
            channel::changed::<A>(target);
        }
        Op::Restart => {
            let why = match asker {
                Asker::Vm(_) => "its manager asked",
                Asker::Console => "from the console",
            };
            // The console's pCPU may be running a vCPU of the target: it leaves it first, and
            // after the restart parks instead of returning into a VM that started afresh.
            let here = match (asker, CPU_VCPU[A::cpu_id()]) {
                (Asker::Console, Some((v, k))) if v == target && vm.vcpu_on(k) => Some(k),
                _ => None,
            };
            if !lifecycle::restart_from_outside::<A>(target, why, here) {
                return Err(CallError::BadState);
            }
        }
    }
    Ok(vm.state())
}

/// hv's call from `caller`: `op` (an `Op` code) on VM number `target`.
pub fn call<A: Arch>(caller: VmId, target: u64, op: u64) -> Result<RunState, CallError> {
    let op = Op::from_code(op).ok_or(CallError::Invalid)?;
    let target =
        VMS[caller.0].manages.iter().copied().find(|t| t.0 as u64 == target).ok_or(CallError::Denied)?;
    control::<A>(Asker::Vm(caller), target, op)
}

/// The management page: COUNT, then one 16-byte slot per managed VM from SLOTS.
pub const COUNT: usize = 0x000;
pub const SLOTS: usize = 0x100;
/// In a slot: the VM's number (RO), its `RunState` (RO), COMMAND (WO: an `Op` code, 1 to 4),
/// RESULT of the last command (RO: 0 done, 1 refused in that state).
pub const SLOT_VMID: usize = 0x0;
pub const SLOT_STATE: usize = 0x4;
pub const SLOT_COMMAND: usize = 0x8;
pub const SLOT_RESULT: usize = 0xC;

static RESULTS: [[AtomicU32; NUM_VMS]; NUM_VMS] = [const { [const { AtomicU32::new(0) }; NUM_VMS] }; NUM_VMS];

/// An access to `vm`'s management page; `None` when `ipa` is not in it.
pub fn route<A: Arch>(vm: VmId, ipa: Ipa, width: Width, op: MmioOp) -> Option<Result<u64, MmioFault>> {
    let off = ipa.0.wrapping_sub(VMS[vm.0].manager_page?.0);
    (off < 0x1000).then(|| page::<A>(vm, off as usize, width, op))
}

fn page<A: Arch>(vm: VmId, off: usize, width: Width, op: MmioOp) -> Result<u64, MmioFault> {
    if width != Width::B32 || !off.is_multiple_of(4) {
        return Err(MmioFault::BadWidth);
    }
    let managed = VMS[vm.0].manages;
    if off == COUNT {
        return match op {
            MmioOp::Read => Ok(managed.len() as u64),
            MmioOp::Write(_) => Err(MmioFault::ReadOnly),
        };
    }
    let m = off.checked_sub(SLOTS).map(|s| s / 0x10).ok_or(MmioFault::Unmapped)?;
    let target = *managed.get(m).ok_or(MmioFault::Unmapped)?;
    match (off % 0x10, op) {
        (SLOT_VMID, MmioOp::Read) => Ok(target.0 as u64),
        (SLOT_STATE, MmioOp::Read) => Ok(A::vm(target).state() as u64),
        (SLOT_RESULT, MmioOp::Read) => Ok(RESULTS[vm.0][m].load(Ordering::Acquire) as u64),
        (SLOT_COMMAND, MmioOp::Read) => Ok(0),
        (SLOT_COMMAND, MmioOp::Write(code)) => {
            let op = Op::from_code(code).filter(|&o| o != Op::Query).ok_or(MmioFault::Refused)?;
            let r = control::<A>(Asker::Vm(vm), target, op);
            RESULTS[vm.0][m].store(r.is_err() as u32, Ordering::Release);
            Ok(0)
        }
        (_, MmioOp::Write(_)) => Err(MmioFault::ReadOnly),
        _ => Err(MmioFault::Unmapped),
    }
}

/// Ctrl-A s: every VM and its state.
pub fn print_status<A: Arch>() {
    for v in &VMS {
        let state = match A::vm(v.id).state() {
            RunState::Off => "stopped",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Restarting => "restarting",
        };
        crate::hv_println!("hv: vm {} `{}`: {state}", v.id.0, v.name);
    }
}

/// A command typed at the console: `op` on VM number `n`.
pub fn console<A: Arch>(op: Op, n: usize) {
    let Some(v) = VMS.get(n) else {
        crate::hv_println!("hv: no VM {n}");
        return;
    };
    if control::<A>(Asker::Console, v.id, op).is_err() {
        crate::hv_println!("hv: vm {n} `{}` is {:?}: cannot {op:?} it", v.name, A::vm(v.id).state());
    }
}
