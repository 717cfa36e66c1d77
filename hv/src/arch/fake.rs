//! A stand-in architecture for host tests of the core, as Hafnium's `src/arch/fake`: each call
//! the core makes of an ISA is recorded, `park` and `system_off` unwind (with `Parked` and
//! `PoweredOff`) so a test sees where a path ended, and the console reads from a script.
//! Tests that change the machine's global run state take `serial()` first.
extern crate std;
use super::Arch;
use crate::desc::{RamDesc, Restore};
use crate::machine::NUM_VMS;
use crate::services::StartError;
use crate::vm::{self, IrqChip, Vm};
use core::cell::RefCell;
use hv_types::{CpuId, Pa, VmId};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

/// What the core asked of the fake architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Start { vm: VmId, k: usize, entry: u64, arg: u64 },
    Kick(VmId),
    ResetIrqs(VmId),
    Line { vm: VmId, line: u32, level: bool },
    Zero { pa: Pa, len: u64 },
    CopyBack { from: Pa, to: Pa, len: u64 },
    Publish { pa: Pa, len: u64 },
    Word { pa: Pa, value: u32 },
    Idle { vm: VmId, k: usize },
    InitRx,
    RxIrq(bool),
    Route(CpuId),
}

/// `park` unwound with this.
#[derive(Debug)]
pub struct Parked;
/// `system_off` unwound with this.
#[derive(Debug)]
pub struct PoweredOff;

std::thread_local! {
    static LOG: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    static CURRENT: RefCell<(VmId, usize, usize)> = const { RefCell::new((VmId(0), 0, 0)) };
    static INPUT: RefCell<VecDeque<u8>> = const { RefCell::new(VecDeque::new()) };
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialise the tests that share the machine's run state, and start them from power-on.
pub fn serial() -> MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    vm::power_on(&VMS);
    take_log();
    g
}

/// The calls made so far on this thread, emptying the log.
pub fn take_log() -> Vec<Call> {
    LOG.with(|l| core::mem::take(&mut *l.borrow_mut()))
}

/// This thread plays pCPU `cpu` running vCPU `k` of `vm`.
pub fn run_as(cpu: usize, vm: VmId, k: usize) {
    CURRENT.with(|c| *c.borrow_mut() = (vm, k, cpu));
}

/// Bytes typed on the console, read by `console_read`.
pub fn type_in(bytes: &[u8]) {
    INPUT.with(|i| i.borrow_mut().extend(bytes));
}

fn log(c: Call) {
    LOG.with(|l| l.borrow_mut().push(c));
}

/// A VM's interrupt controller here: its reset is recorded.
pub struct FakeIrqs;

impl IrqChip for FakeIrqs {
    fn reset(&self, vm: VmId) {
        log(Call::ResetIrqs(vm))
    }
}

static VMS: [Vm<FakeIrqs>; NUM_VMS] = vm::all([const { FakeIrqs }; NUM_VMS]);

/// The fake ISA.
pub struct Fake;

impl Arch for Fake {
    type VmIrqs = FakeIrqs;
    fn vm(id: VmId) -> &'static Vm<FakeIrqs> {
        &VMS[id.0]
    }
    fn cpu_id() -> usize {
        CURRENT.with(|c| c.borrow().2)
    }
    fn current() -> (VmId, usize) {
        CURRENT.with(|c| {
            let (vm, k, _) = *c.borrow();
            (vm, k)
        })
    }
    /// As the real ones: the vCPU is claimed, or the start is refused.
    fn start_vcpu(vm: VmId, k: usize, entry: u64, arg: u64) -> Result<(), StartError> {
        if k >= crate::machine::VMS[vm.0].vcpus.len() {
            return Err(StartError::NoSuchVcpu);
        }
        if !VMS[vm.0].claim_vcpu(k) {
            return Err(StartError::AlreadyOn);
        }
        log(Call::Start { vm, k, entry, arg });
        Ok(())
    }
    fn park() -> ! {
        std::panic::panic_any(Parked)
    }
    fn system_off() -> ! {
        std::panic::panic_any(PoweredOff)
    }
    fn kick_vm(vm: VmId) {
        log(Call::Kick(vm))
    }
    fn set_line(vm: VmId, line: u32, level: bool) {
        log(Call::Line { vm, line, level })
    }
    /// Guest memory reads as its own address's low byte, in the VM's first RAM window only.
    fn read_guest(vm: VmId, va: u64, buf: &mut [u8]) -> usize {
        let w = &crate::machine::VMS[vm.0].ram[0];
        let mut n = 0;
        for (i, b) in buf.iter_mut().enumerate() {
            let a = va.wrapping_add(i as u64);
            if a.wrapping_sub(w.ipa.0) >= w.size {
                break;
            }
            *b = a as u8;
            n += 1;
        }
        n
    }
    fn zero_ram(w: &'static RamDesc) {
        log(Call::Zero { pa: w.pa, len: w.size })
    }
    fn copy_back(r: &'static Restore) {
        log(Call::CopyBack { from: r.from, to: r.to, len: r.len })
    }
    fn write_word(w: &'static RamDesc, offset: u64, value: u32) {
        assert!(offset.is_multiple_of(4) && offset < w.size);
        log(Call::Word { pa: Pa(w.pa.0 + offset), value })
    }
    /// A paused vCPU waits: the fake's next interrupt is its manager resuming it.
    fn idle(vm: VmId, k: usize) {
        log(Call::Idle { vm, k });
        VMS[vm.0].resume();
    }
    fn publish_ram(w: &'static RamDesc) {
        log(Call::Publish { pa: w.pa, len: w.size })
    }
    fn console_init_rx() {
        log(Call::InitRx)
    }
    fn console_read() -> Option<u8> {
        INPUT.with(|i| i.borrow_mut().pop_front())
    }
    fn console_rx_irq(on: bool) {
        log(Call::RxIrq(on))
    }
    fn console_route(cpu: CpuId) {
        log(Call::Route(cpu))
    }
}

/// Run `f`, which must end in `park` or `system_off`; which one it was.
pub fn ends_in(f: impl FnOnce()) -> &'static str {
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("the path must not return");
    if e.is::<Parked>() {
        "park"
    } else if e.is::<PoweredOff>() {
        "system_off"
    } else {
        std::panic::resume_unwind(e)
    }
}
