//! A virtual ARM PL011 UART (r1p5, as QEMU models it): output goes to the board console through
//! the access context; there is no input yet, so the receive FIFO always reads empty.
use hv_mmio::{MmioCtx, MmioDevice};

const FR_RXFE: u32 = 1 << 4;
const FR_TXFE: u32 = 1 << 7;
const INT_TX: u32 = 1 << 5;
const INT_ALL: u32 = 0x7FF;

#[derive(MmioDevice)]
#[mmio(size = 0x1000, compatible = ["arm,pl011", "arm,primecell"], unmapped = RazWi)]
pub struct VirtPl011 {
    #[reg(offset = 0x000, read = Self::read_dr, write = Self::write_dr, widths(8, 16, 32))]
    dr: u32,
    /// Receive status / error clear: no receive errors can happen.
    #[reg(offset = 0x004, read = Self::zero, write = Self::ignore)]
    rsr: u32,
    #[reg(offset = 0x018, read_only)]
    fr: u32,
    #[reg(offset = 0x020)]
    ilpr: u32,
    #[reg(offset = 0x024)]
    ibrd: u32,
    #[reg(offset = 0x028)]
    fbrd: u32,
    #[reg(offset = 0x02C, widths(8, 16, 32))]
    lcr_h: u32,
    #[reg(offset = 0x030, widths(16, 32))]
    cr: u32,
    #[reg(offset = 0x034)]
    ifls: u32,
    #[reg(offset = 0x038, write = Self::write_imsc)]
    imsc: u32,
    #[reg(offset = 0x03C, read_only)]
    ris: u32,
    #[reg(offset = 0x040, read = Self::read_mis, write = Self::ignore)]
    mis: u32,
    #[reg(offset = 0x044, read = Self::zero, write = Self::write_icr)]
    icr: u32,
    #[reg(offset = 0x048)]
    dmacr: u32,
    #[reg(offset = 0xFE0, read_only)]
    id: [u32; 8],
    /// The interrupt line's level, so only changes are signalled.
    level: bool,
}

impl Default for VirtPl011 {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtPl011 {
    pub const fn new() -> Self {
        VirtPl011 {
            dr: 0,
            rsr: 0,
            fr: FR_TXFE | FR_RXFE,
            ilpr: 0,
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            cr: 0x300,
            ifls: 0x12,
            imsc: 0,
            ris: 0,
            mis: 0,
            icr: 0,
            dmacr: 0,
            id: [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1],
            level: false,
        }
    }

    fn zero<C: MmioCtx>(&mut self, _: &mut C) -> u32 {
        0
    }
    fn ignore<C: MmioCtx>(&mut self, _: &mut C, _: u32) {}

    fn read_dr<C: MmioCtx>(&mut self, _: &mut C) -> u32 {
        0 // RX FIFO empty (FR.RXFE)
    }

    /// Transmission is instantaneous: the byte goes out and TX raises its interrupt at once.
    fn write_dr<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        ctx.console_write(&[v as u8]);
        self.ris |= INT_TX;
        self.update_irq(ctx);
    }

    fn write_imsc<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        self.imsc = v & INT_ALL;
        self.update_irq(ctx);
    }

    fn read_mis<C: MmioCtx>(&mut self, _: &mut C) -> u32 {
        self.ris & self.imsc
    }

    fn write_icr<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        self.ris &= !v;
        self.update_irq(ctx);
    }

    fn update_irq<C: MmioCtx>(&mut self, ctx: &mut C) {
        let level = self.ris & self.imsc != 0;
        if level != self.level {
            self.level = level;
            ctx.set_irq(0, level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hv_mmio::{MmioFault, Width};
    extern crate std;
    use std::vec::Vec;

    #[derive(Default)]
    struct Ctx {
        out: Vec<u8>,
        irq: Option<bool>,
    }
    impl MmioCtx for Ctx {
        fn console_write(&mut self, b: &[u8]) {
            self.out.extend_from_slice(b)
        }
        fn set_irq(&mut self, _line: usize, level: bool) {
            self.irq = Some(level)
        }
    }

    #[test]
    fn transmit_and_interrupt_state() {
        let (mut u, mut c) = (VirtPl011::new(), Ctx::default());
        u.mmio_write(&mut c, 0x000, Width::B8, b'h' as u64).unwrap();
        u.mmio_write(&mut c, 0x000, Width::B32, 0x169).unwrap();
        assert_eq!(c.out, b"hi");
        assert_eq!(u.mmio_read(&mut c, 0x03C, Width::B32), Ok(INT_TX as u64));
        assert_eq!(u.mmio_read(&mut c, 0x040, Width::B32), Ok(0));
        u.mmio_write(&mut c, 0x038, Width::B32, INT_TX as u64).unwrap();
        assert_eq!(c.irq, Some(true));
        assert_eq!(u.mmio_read(&mut c, 0x040, Width::B32), Ok(INT_TX as u64));
        u.mmio_write(&mut c, 0x044, Width::B32, INT_TX as u64).unwrap();
        assert_eq!(c.irq, Some(false));
        assert_eq!(u.mmio_read(&mut c, 0x03C, Width::B32), Ok(0));
    }

    #[test]
    fn identification_and_widths() {
        let (mut u, mut c) = (VirtPl011::new(), Ctx::default());
        assert_eq!(u.mmio_read(&mut c, 0xFE0, Width::B32), Ok(0x11));
        assert_eq!(u.mmio_read(&mut c, 0xFFC, Width::B32), Ok(0xB1));
        assert_eq!(u.mmio_read(&mut c, 0x018, Width::B32), Ok(0x90));
        assert_eq!(u.mmio_read(&mut c, 0x038, Width::B64), Err(MmioFault::BadWidth));
        assert_eq!(u.mmio_read(&mut c, 0x038, Width::B16), Err(MmioFault::BadWidth));
        assert_eq!(u.mmio_read(&mut c, 0x800, Width::B32), Ok(0));
    }
}
