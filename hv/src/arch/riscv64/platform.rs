//! riscv64's side of the arch contract (`arch/contract.rs`): the core's requests, served by
//! this directory's hart, SBI firmware, guest-memory and console code.
use super::vms::{self, VmIrqs};
use super::vplic_host::Host;
use super::{firmware, guest, irq, pcpu, plic, run};
use crate::arch::Arch;
use crate::desc::{RamDesc, Restore};
use crate::machine::{BOARD, HW_SPIS, VMS};
use crate::services::StartError;
use crate::vm::{IrqChip, Vm};
use hv_types::{CpuId, VmId};

/// riscv64 in HS-mode (the H extension), under SBI firmware.
pub struct Riscv64;

impl IrqChip for VmIrqs {
    fn reset(&self, vm: VmId) {
        self.plic.lock().reset(&mut Host { vm });
        // Passthrough sources it held are the hardware's again.
        for &(s, owner) in HW_SPIS.iter().filter(|h| h.1 == vm) {
            plic::complete(VMS[owner.0].vcpus[0].0, s);
        }
    }
}

impl Arch for Riscv64 {
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
            None => panic!("guest exit on hart {} which runs no vCPU", Self::cpu_id()),
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
        let me = Self::cpu_id();
        for c in VMS[vm.0].vcpus.iter().filter(|c| c.0 != me) {
            firmware::send_ipi(c.0);
        }
    }
    fn set_line(vm: VmId, line: u32, level: bool) {
        vms::vm(vm).irqs.plic.lock().set_level(&mut Host { vm }, line, level);
    }
    fn read_guest(_vm: VmId, va: u64, buf: &mut [u8]) -> usize {
        guest::read_virt(va, buf)
    }
    fn zero_ram(w: &'static RamDesc) {
        // SAFETY: the description's window of the VM's RAM, which no vCPU runs in now and hv
        // reaches untranslated.
        unsafe { core::ptr::write_bytes(w.pa.0 as *mut u8, 0, w.size as usize) }
    }
    fn copy_back(r: &'static Restore) {
        // SAFETY: a pristine copy and its home, both board RAM the description placed apart.
        unsafe { core::ptr::copy_nonoverlapping(r.from.0 as *const u8, r.to.0 as *mut u8, r.len as usize) }
    }
    /// RISC-V keeps data coherent; instruction fetch is made to see it at vCPU entry (fence.i).
    fn write_word(w: &'static RamDesc, offset: u64, value: u32) {
        assert!(offset.is_multiple_of(4) && offset < w.size, "a word inside the window");
        // SAFETY: an aligned word of board RAM the description gave hv to keep (checked inside
        // the window above), which hv reaches untranslated; guests only read it.
        unsafe { ((w.pa.0 + offset) as *mut u32).write_volatile(value) };
        // SAFETY: a memory fence has no other effect.
        unsafe { core::arch::asm!("fence rw, rw", options(nostack)) };
    }
    fn idle(vm: VmId, _k: usize) {
        irq::wait::<Self>(vm);
    }
    fn publish_ram(_w: &'static RamDesc) {
        // SAFETY: a memory fence has no other effect.
        unsafe { core::arch::asm!("fence rw, rw", options(nostack)) };
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
        plic::route(BOARD.console_irq, cpu.0)
    }
}
