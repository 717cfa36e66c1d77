//! The guest's EL1 state as hv reads and writes it: stack pointers, exception registers for
//! injection, and address translation (AT S12E1R) to reach guest memory.
use crate::arch::aarch64::regs::{El1, GuestRegs};
use crate::desc::VmDesc;
use aarch64_cpu::registers::*;
use hv_types::Pa;

pub struct ArchEl1 {
    pub vm: &'static VmDesc,
}

impl ArchEl1 {
    /// Copy guest memory at `va` into `buf`, page by page, up to the first byte outside the
    /// VM's RAM; returns how many bytes were copied.
    pub fn read_guest(&mut self, va: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            let at = va.wrapping_add(done as u64);
            let n = ((0x1000 - (at & 0xFFF)) as usize).min(buf.len() - done);
            let Some(pa) = self.translate(at).filter(|&pa| self.vm.owns_pa(Pa(pa), n as u64)) else {
                break;
            };
            // SAFETY: `[pa, pa+n)` is inside this VM's RAM, which the EL2 identity map covers as
            // Normal memory; a byte copy has no alignment requirement.
            unsafe { core::ptr::copy_nonoverlapping(pa as *const u8, buf[done..].as_mut_ptr(), n) };
            done += n;
        }
        done
    }
}

impl El1 for ArchEl1 {
    fn sp(&self, regs: &GuestRegs) -> u64 {
        if regs.el() == 1 && regs.spsr & 1 == 1 {
            SP_EL1.get()
        } else {
            SP_EL0.get()
        }
    }

    fn set_sp(&mut self, regs: &GuestRegs, v: u64) {
        if regs.el() == 1 && regs.spsr & 1 == 1 {
            SP_EL1.set(v)
        } else {
            SP_EL0.set(v)
        }
    }

    fn vbar(&self) -> u64 {
        VBAR_EL1.get()
    }

    fn set_exception(&mut self, esr: u64, far: u64, elr: u64, spsr: u64) {
        ESR_EL1.set(esr);
        FAR_EL1.set(far);
        ELR_EL1.set(elr);
        SPSR_EL1.set(spsr);
    }

    fn translate(&mut self, va: u64) -> Option<u64> {
        unsafe extern "C" {
            fn hv_at_s12e1r(va: u64) -> u64;
        }
        let saved = PAR_EL1.get();
        // An aborted walk comes back through an exception at EL2 (vectors.rs), which overwrites
        // ELR_EL2 and SPSR_EL2: the HVC and MMIO fast paths keep the guest's only there.
        let (elr, spsr) = (ELR_EL2.get(), SPSR_EL2.get());
        // SAFETY: the routine runs AT S12E1R on `va`, which only writes PAR_EL1 (restored
        // below, so the guest never sees it); if the walk aborts it returns PAR.F set.
        let par = unsafe { hv_at_s12e1r(va) };
        ELR_EL2.set(elr);
        SPSR_EL2.set(spsr);
        PAR_EL1.set(saved);
        (par & 1 == 0).then_some((par & 0x0000_FFFF_FFFF_F000) | (va & 0xFFF))
    }

    fn fetch_insn(&mut self, va: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        (va.is_multiple_of(4) && self.read_guest(va, &mut b) == 4).then(|| u32::from_le_bytes(b))
    }
}
