//! Arm's PL011 (QEMU virt's UART). Firmware or QEMU leaves it enabled; hv turns on its FIFOs
//! and receive interrupts for console input.
use super::Uart;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_structs! {
    Regs {
        (0x000 => dr: ReadWrite<u32>),
        (0x004 => _rsr),
        (0x018 => fr: ReadOnly<u32>),
        (0x01C => _ilpr),
        (0x02C => lcr_h: ReadWrite<u32>),
        (0x030 => _cr),
        (0x038 => imsc: ReadWrite<u32>),
        (0x03C => _ris_mis),
        (0x044 => icr: WriteOnly<u32>),
        (0x048 => @END),
    }
}

const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// LCR_H: 8 data bits, FIFOs on.
const LCR_H_8N1_FIFO: u32 = (3 << 5) | (1 << 4);
/// IMSC/ICR: receive and receive-timeout interrupts.
const INT_RX_RT: u32 = (1 << 4) | (1 << 6);

fn regs(base: usize) -> &'static Regs {
    // SAFETY: `base` is the board's console PL011 from the description, identity-mapped as
    // Device memory for hv, and `Regs` matches its layout.
    unsafe { &*(base as *const Regs) }
}

pub struct Pl011;

impl Uart for Pl011 {
    fn init(_base: usize) {}
    fn put(base: usize, c: u8) {
        let u = regs(base);
        while u.fr.get() & FR_TXFF != 0 {}
        u.dr.set(c as u32);
    }
    fn init_rx(base: usize) {
        let u = regs(base);
        u.lcr_h.set(LCR_H_8N1_FIFO);
        u.icr.set(INT_RX_RT);
        u.imsc.set(INT_RX_RT);
    }
    fn read(base: usize) -> Option<u8> {
        let u = regs(base);
        (u.fr.get() & FR_RXFE == 0).then(|| u.dr.get() as u8)
    }
    fn set_rx_irq(base: usize, on: bool) {
        regs(base).imsc.set(if on { INT_RX_RT } else { 0 });
    }
}
