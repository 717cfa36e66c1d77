//! The calls a guest makes of its firmware reach hv through `Caller`: the core's services on
//! behalf of the vCPU running on this pCPU, whichever front end (PSCI and SMCCC, SBI) decoded
//! them.
use crate::arch::Arch;
use crate::console;
use crate::lifecycle::{self, Cause};
use crate::machine::VMS;
use crate::services::{CallError, Services, StartError};
use core::marker::PhantomData;

/// The vCPU on this pCPU calling its firmware: what PSCI, SBI and hv's own calls may do.
/// Zero-sized: the calls that need to know which vCPU it is look it up, so the hot ones
/// (hv's console and no-op calls) never do.
pub struct Caller<A>(PhantomData<A>);

impl<A: Arch> Caller<A> {
    pub const fn new() -> Self {
        Caller(PhantomData)
    }
}

impl<A: Arch> Default for Caller<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Arch> Services for Caller<A> {
    fn vcpu_index(&self) -> usize {
        A::current().1
    }
    fn vcpu_count(&self) -> usize {
        VMS[A::current().0 .0].vcpus.len()
    }
    fn console(&mut self, bytes: &[u8]) {
        console::vm_write(A::vm(A::current().0), bytes);
    }
    fn read_guest(&mut self, va: u64, buf: &mut [u8]) -> usize {
        A::read_guest(A::current().0, va, buf)
    }
    /// Never returns: the stopped vCPU's pCPU parks (or the machine powers off), and the
    /// VM's other pCPUs are kicked out of it.
    fn stop_vm(&mut self, status: u8) {
        lifecycle::stop::<A>(A::current().0, status)
    }
    fn reset_vm(&mut self) {
        let (vm, index) = A::current();
        lifecycle::end::<A>(vm, index, Cause::Reset)
    }
    fn stop_vcpu(&mut self) {
        let (vm, index) = A::current();
        lifecycle::finish::<A>(A::vm(vm).stop_vcpu(index))
    }
    fn vcpu_on(&self, i: usize) -> bool {
        A::vm(A::current().0).vcpu_on(i)
    }
    fn start_vcpu(&mut self, i: usize, entry: u64, context: u64) -> Result<(), StartError> {
        A::start_vcpu(A::current().0, i, entry, context)
    }
    fn is_ram(&self, ipa: u64) -> bool {
        VMS[A::current().0 .0].ram.iter().any(|w| ipa.wrapping_sub(w.ipa.0) < w.size)
    }
    fn ring(&mut self, channel: u64, peer: u64, vector: u64) -> Result<(), CallError> {
        crate::channel::call_ring::<A>(A::current().0, channel, peer, vector)
    }
    fn manage(&mut self, vm: u64, op: u64) -> Result<u64, CallError> {
        crate::manage::call::<A>(A::current().0, vm, op).map(|s| s as u64)
    }
}
