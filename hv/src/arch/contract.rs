//! The contract between hv's core and an architecture. The core (VMs and vCPUs and their
//! lifecycle, the firmware-call services, MMIO routing, the console, restart policy) reaches an
//! ISA only through `Arch`; each `arch/<isa>/` implements it, and `arch/fake.rs` implements it on
//! the host so the core's tests run there. The other direction, the ISA's trap handlers calling
//! into the core, goes through the core's public functions (`lifecycle`, `console_in`,
//! `services`, `mmio`), each generic over the `Arch` that calls it: the core names no ISA, and
//! no file of the core imports an ISA's.
//!
//! What an architecture provides besides this trait (see docs/adding-an-architecture.md):
//! entering and leaving a vCPU, decoding its exits into the core's values (an MMIO access, a
//! firmware call, a wait for interrupt, an interrupt, a fault to reflect), its virtual interrupt
//! controller, its stage-2 format in its codegen back end, IPIs, timers.
use crate::desc::{RamDesc, Restore};
use crate::services::StartError;
use crate::vm::{IrqChip, Vm};
use hv_types::{CpuId, VmId};

/// What the core asks of an ISA. Associated functions only: an architecture is a type, chosen
/// at build time, so every call is static and inlines.
pub trait Arch: Sized + 'static {
    /// A VM's virtual interrupt controller (a vGIC distributor, a virtual PLIC), which each
    /// `Vm` owns.
    type VmIrqs: IrqChip;
    /// VM `id`: the architecture keeps the machine's VMs (`vm::all`) beside its pCPUs.
    fn vm(id: VmId) -> &'static Vm<Self::VmIrqs>;
    /// This pCPU's index.
    fn cpu_id() -> usize;
    /// The (VM, vCPU index) this pCPU runs. Only called from a guest's exit: a pCPU that runs
    /// no vCPU never has one, and asking is a broken invariant.
    fn current() -> (VmId, usize);
    /// Hand vCPU `k` of `vm` to its pCPU, powering that pCPU on if needed: it starts at `entry`
    /// with `arg` in its first argument register.
    fn start_vcpu(vm: VmId, k: usize, entry: u64, arg: u64) -> Result<(), StartError>;
    /// Leave the guest for good on this pCPU: tidy what its vCPU left in the interrupt
    /// controller and timers, drop every frame, and wait for the next vCPU.
    fn park() -> !;
    /// Power the machine off.
    fn system_off() -> !;
    /// Make every other pCPU running a vCPU of `vm` exit to hv soon, where it sees the VM's
    /// new state (stopped, restarting).
    fn kick_vm(vm: VmId);
    /// Drive input `line` (a number in the description's interrupt space) of `vm`'s virtual
    /// interrupt controller.
    fn set_line(vm: VmId, line: u32, level: bool);
    /// Copy the calling vCPU's memory at guest-virtual `va` (through its own translation, then
    /// stage 2) into `buf`, stopping at the first byte outside its VM's RAM; bytes copied.
    fn read_guest(vm: VmId, va: u64, buf: &mut [u8]) -> usize;
    /// Zero RAM window `w` of a VM that no vCPU runs (a restart). The description is the
    /// proof that the window is the VM's RAM, mapped for hv.
    fn zero_ram(w: &'static RamDesc);
    /// Copy a pristine image back (a restart), as `zero_ram`.
    fn copy_back(r: &'static Restore);
    /// Write `value` at byte `offset` (4-aligned, inside) of window `w` of board RAM that hv
    /// keeps for guests (a channel's state table), so that a guest reading it uncached sees it.
    fn write_word(w: &'static RamDesc, offset: u64, value: u32);
    /// Sleep this pCPU until an interrupt arrives, and take it as for its running vCPU `k` of
    /// `vm` (which is paused: hv holds it here).
    fn idle(vm: VmId, k: usize);
    /// Make what hv wrote to window `w` visible to a guest that starts with its caches and MMU
    /// off, and to its instruction fetches.
    fn publish_ram(w: &'static RamDesc);
    /// The board's console UART, receive side: turn it on (boot CPU, once).
    fn console_init_rx();
    /// One received byte, if any.
    fn console_read() -> Option<u8>;
    /// Mask (`false`) or unmask its receive interrupt.
    fn console_rx_irq(on: bool);
    /// Deliver its receive interrupt to pCPU `cpu`.
    fn console_route(cpu: CpuId);
}
