//! AArch64's side of the arch contract (`arch/contract.rs`): the core's requests, served by
//! this directory's pCPU, GIC, memory and console code.
use super::el1::ArchEl1;
use super::vgic_host::VmHost;
use super::vms::{self, VmIrqs};
use super::{firmware, gic, irq, mem, pcpu, run};
use crate::arch::Arch;
use crate::desc::{RamDesc, Restore};
use crate::machine::{BOARD, VMS};
use crate::services::StartError;
use crate::vm::{IrqChip, Vm};
use hv_types::{CpuId, VmId};

/// AArch64 at EL2 (non-VHE), with a GICv2 or GICv3.
pub struct Aarch64;

impl IrqChip for VmIrqs {
    fn reset(&self, vm: VmId) {
        self.dist.lock().reset();
        irq::reset_vm(vm);
    }
}

impl Arch for Aarch64 {
    type VmIrqs = VmIrqs;
    #[inline(always)]
    fn vm(id: VmId) -> &'static Vm<VmIrqs> {
        vms::vm(id)
    }
    #[inline(always)]
    fn cpu_id() -> usize {
        pcpu::this().index
    }
    #[inline(always)]
    fn current() -> (VmId, usize) {
        match pcpu::this().vcpu {
            Some(v) => v,
            None => panic!("guest exit on pCPU {} which runs no vCPU", Self::cpu_id()),
        }
    }
    fn start_vcpu(vm: VmId, k: usize, entry: u64, arg: u64) -> Result<(), StartError> {
        run::start_vcpu(vm, k, entry, arg)
    }
    fn park() -> ! {
        run::park::<Self>()
    }
    fn system_off() -> ! {
        firmware::system_off()
    }
    fn kick_vm(vm: VmId) {
        irq::kick_vm(vm)
    }
    fn set_line(vm: VmId, line: u32, level: bool) {
        vms::vm(vm).irqs.dist.lock().set_level(&mut VmHost::of(vm), line, level);
    }
    fn read_guest(vm: VmId, va: u64, buf: &mut [u8]) -> usize {
        ArchEl1 { vm: &VMS[vm.0] }.read_guest(va, buf)
    }
    fn zero_ram(w: &'static RamDesc) {
        mem::zero(w.pa.0 as usize, w.size as usize)
    }
    fn copy_back(r: &'static Restore) {
        mem::copy(r.from.0 as usize, r.to.0 as usize, r.len as usize)
    }
    fn write_word(w: &'static RamDesc, offset: u64, value: u32) {
        assert!(offset.is_multiple_of(4) && offset < w.size, "a word inside the window");
        let pa = (w.pa.0 + offset) as usize;
        // SAFETY: an aligned word of board RAM the description gave hv to keep (checked inside
        // the window above), mapped writable at EL2; guests only read it.
        unsafe { (pa as *mut u32).write_volatile(value) };
        mem::publish(pa, 4)
    }
    fn idle(vm: VmId, k: usize) {
        aarch64_cpu::asm::wfi();
        irq::handle::<Self>(vm, k);
    }
    fn publish_ram(w: &'static RamDesc) {
        mem::publish(w.pa.0 as usize, w.size as usize)
    }
    fn console_init_rx() {
        crate::uart::init_rx()
    }
    fn console_read() -> Option<u8> {
        crate::uart::read_byte()
    }
    fn console_rx_irq(on: bool) {
        crate::uart::set_rx_irq(on)
    }
    fn console_route(cpu: CpuId) {
        gic::route_spi(BOARD.console_irq, cpu.0)
    }
}
