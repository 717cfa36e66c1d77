//! An NS16550A with byte registers one byte apart (QEMU riscv64 virt's UART). The firmware set
//! its baud rate and line format; hv never touches the divisor latch.
// register_structs! checks each register's alignment with `%`, which is `% 1` for bytes.
#![allow(clippy::modulo_one)]
use super::Uart;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_structs! {
    Regs {
        (0x0 => rbr_thr: ReadWrite<u8>),
        (0x1 => ier: ReadWrite<u8>),
        (0x2 => _iir_fcr_lcr_mcr),
        (0x5 => lsr: ReadOnly<u8>),
        (0x6 => _msr_scr),
        (0x8 => @END),
    }
}

const LSR_DR: u8 = 1 << 0;
const LSR_THRE: u8 = 1 << 5;
const IER_RDI: u8 = 1 << 0;

fn regs(base: usize) -> &'static Regs {
    // SAFETY: `base` is the board's console NS16550A from the description, which hv reaches
    // untranslated (riscv64) or identity-mapped as Device memory, and `Regs` matches its layout.
    unsafe { &*(base as *const Regs) }
}

pub struct Ns16550;

impl Uart for Ns16550 {
    fn init(_base: usize) {}
    fn put(base: usize, c: u8) {
        let u = regs(base);
        while u.lsr.get() & LSR_THRE == 0 {}
        u.rbr_thr.set(c);
    }
    fn init_rx(base: usize) {
        regs(base).ier.set(IER_RDI);
    }
    fn read(base: usize) -> Option<u8> {
        let u = regs(base);
        (u.lsr.get() & LSR_DR != 0).then(|| u.rbr_thr.get())
    }
    fn set_rx_irq(base: usize, on: bool) {
        regs(base).ier.set(if on { IER_RDI } else { 0 });
    }
}
