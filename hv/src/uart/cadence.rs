//! Cadence's UART (Xilinx Zynq and ZynqMP, "cdns,uart-r1p12"; UG1085's UART chapter). It comes
//! out of reset with its transmitter and receiver disabled (QEMU drops bytes written then), so
//! `init` enables them; the baud rate is left as firmware set it (QEMU ignores it).
use super::Uart;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_structs! {
    Regs {
        (0x00 => cr: ReadWrite<u32>),
        (0x04 => _mr),
        (0x08 => ier: WriteOnly<u32>),
        (0x0C => idr: WriteOnly<u32>),
        (0x10 => _imr),
        (0x14 => isr: ReadWrite<u32>),
        (0x18 => _baudgen_rxtout),
        (0x20 => rxwm: ReadWrite<u32>),
        (0x24 => _modem),
        (0x2C => sr: ReadOnly<u32>),
        (0x30 => fifo: ReadWrite<u32>),
        (0x34 => @END),
    }
}

/// CR: receiver and transmitter enabled (and not disabled).
const CR_RX_EN: u32 = 1 << 2;
const CR_TX_EN: u32 = 1 << 4;
const SR_RX_EMPTY: u32 = 1 << 1;
const SR_TX_FULL: u32 = 1 << 4;
/// The receive FIFO holds at least RXWM bytes (the interrupt hv uses, with RXWM = 1).
const INT_RX_TRIG: u32 = 1 << 0;

fn regs(base: usize) -> &'static Regs {
    // SAFETY: `base` is the board's console Cadence UART from the description, identity-mapped
    // as Device memory for hv, and `Regs` matches its layout.
    unsafe { &*(base as *const Regs) }
}

pub struct Cadence;

impl Uart for Cadence {
    fn init(base: usize) {
        regs(base).cr.set(CR_RX_EN | CR_TX_EN);
    }
    fn put(base: usize, c: u8) {
        let u = regs(base);
        while u.sr.get() & SR_TX_FULL != 0 {}
        u.fifo.set(c as u32);
    }
    fn init_rx(base: usize) {
        let u = regs(base);
        u.rxwm.set(1);
        u.isr.set(INT_RX_TRIG);
        u.ier.set(INT_RX_TRIG);
    }
    fn read(base: usize) -> Option<u8> {
        let u = regs(base);
        // The trigger is a latched status: clear it first, so a byte arriving after the FIFO
        // looks empty raises it again.
        u.isr.set(INT_RX_TRIG);
        (u.sr.get() & SR_RX_EMPTY == 0).then(|| u.fifo.get() as u8)
    }
    fn set_rx_irq(base: usize, on: bool) {
        let u = regs(base);
        if on {
            u.ier.set(INT_RX_TRIG);
        } else {
            u.idr.set(INT_RX_TRIG);
        }
    }
}
