//! A virtual ARM PL011 UART (r1p5, as QEMU models it). Output goes to the board console through
//! the access context; input comes from the board console while this VM has the input focus
//! (`ConsoleDevice`) into a 32-entry receive FIFO, with the RX and receive-timeout interrupts.
//! Every register takes 8-, 16- and 32-bit accesses: Linux's amba-pl011 driver uses 16-bit ones.
use crate::fifo::RxFifo;
use hv_mmio::{ConsoleDevice, MmioCtx, MmioDevice};

const FR_RXFE: u32 = 1 << 4;
const FR_RXFF: u32 = 1 << 6;
const FR_TXFE: u32 = 1 << 7;
const INT_RX: u32 = 1 << 4;
const INT_TX: u32 = 1 << 5;
const INT_RT: u32 = 1 << 6;
const INT_ALL: u32 = 0x7FF;
const LCR_H_FEN: u32 = 1 << 4;
/// The receive FIFO's depth with FEN set (1 without).
const FIFO: usize = 32;

#[derive(MmioDevice)]
#[mmio(size = 0x1000, compatible = ["arm,pl011", "arm,primecell"], unmapped = RazWi)]
pub struct VirtPl011 {
    #[reg(offset = 0x000, read = Self::read_dr, write = Self::write_dr, widths(8, 16, 32))]
    dr: u32,
    /// Receive status / error clear: no receive errors can happen (overrun cannot either: input
    /// waits in the board UART while the FIFO is full).
    #[reg(offset = 0x004, read = Self::zero, write = Self::ignore, widths(8, 16, 32))]
    rsr: u32,
    /// Kept up to date as the receive FIFO changes, so reading it (the most frequent access,
    /// polled before every byte sent) is a plain load.
    #[reg(offset = 0x018, read_only, widths(8, 16, 32))]
    fr: u32,
    #[reg(offset = 0x020, widths(8, 16, 32))]
    ilpr: u32,
    #[reg(offset = 0x024, widths(8, 16, 32))]
    ibrd: u32,
    #[reg(offset = 0x028, widths(8, 16, 32))]
    fbrd: u32,
    #[reg(offset = 0x02C, write = Self::write_lcr_h, widths(8, 16, 32))]
    lcr_h: u32,
    #[reg(offset = 0x030, widths(8, 16, 32))]
    cr: u32,
    #[reg(offset = 0x034, write = Self::write_ifls, widths(8, 16, 32))]
    ifls: u32,
    #[reg(offset = 0x038, write = Self::write_imsc, widths(8, 16, 32))]
    imsc: u32,
    #[reg(offset = 0x03C, read_only, widths(8, 16, 32))]
    ris: u32,
    #[reg(offset = 0x040, read = Self::read_mis, write = Self::ignore, widths(8, 16, 32))]
    mis: u32,
    #[reg(offset = 0x044, read = Self::zero, write = Self::write_icr, widths(8, 16, 32))]
    icr: u32,
    #[reg(offset = 0x048, widths(8, 16, 32))]
    dmacr: u32,
    #[reg(offset = 0xFE0, read_only, widths(8, 16, 32))]
    id: [u32; 8],
    rx: RxFifo<FIFO>,
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
            rx: RxFifo::new(),
            level: false,
        }
    }

    fn zero<C: MmioCtx>(&mut self, _: &mut C) -> u32 {
        0
    }
    fn ignore<C: MmioCtx>(&mut self, _: &mut C, _: u32) {}

    /// Bytes the receive FIFO holds at most: 32 with FEN, else a one-byte holding register.
    fn depth(&self) -> usize {
        if self.lcr_h & LCR_H_FEN != 0 {
            FIFO
        } else {
            1
        }
    }

    /// The RX interrupt's trigger level (IFLS.RXIFLSEL: 1/8 .. 7/8 of the FIFO).
    fn rx_trigger(&self) -> usize {
        if self.lcr_h & LCR_H_FEN == 0 {
            return 1;
        }
        match (self.ifls >> 3) & 7 {
            0 => 4,
            1 => 8,
            2 => 16,
            3 => 24,
            _ => 28,
        }
    }

    /// Transmission is instantaneous, so the TX FIFO is always empty; RX follows the FIFO.
    fn flags(&self) -> u32 {
        let mut fr = FR_TXFE;
        if self.rx.is_empty() {
            fr |= FR_RXFE;
        }
        if self.rx.len() >= self.depth() {
            fr |= FR_RXFF;
        }
        fr
    }

    /// Pop the oldest received byte (0 when empty, as the PL011 returns).
    fn read_dr<C: MmioCtx>(&mut self, ctx: &mut C) -> u32 {
        let Some(b) = self.rx.pop() else { return 0 };
        self.update_rx(ctx);
        if self.rx.is_empty() {
            ctx.console_rx_ready();
        }
        b as u32
    }

    /// RX is asserted at or above the trigger level. The receive timeout (RT) stands for "data
    /// waits and no more is arriving": input comes in bursts already received, so it is
    /// asserted whenever the FIFO holds data below the trigger, and drops once it is empty.
    fn update_rx<C: MmioCtx>(&mut self, ctx: &mut C) {
        self.fr = self.flags();
        let n = self.rx.len();
        self.ris &= !(INT_RX | INT_RT);
        if n >= self.rx_trigger() {
            self.ris |= INT_RX;
        } else if n > 0 {
            self.ris |= INT_RT;
        }
        self.update_irq(ctx);
    }

    /// Transmission is instantaneous: the byte goes out and TX raises its interrupt at once.
    fn write_dr<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        ctx.console_write(&[v as u8]);
        self.ris |= INT_TX;
        self.update_irq(ctx);
    }

    /// Turning the FIFO on or off empties it, as on the PL011.
    fn write_lcr_h<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        if (self.lcr_h ^ v) & LCR_H_FEN != 0 {
            self.rx.clear();
            ctx.console_rx_ready();
        }
        self.lcr_h = v & 0xFF;
        self.update_rx(ctx);
    }

    fn write_ifls<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        self.ifls = v & 0x3F;
        self.update_rx(ctx);
    }

    fn write_imsc<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        self.imsc = v & INT_ALL;
        self.update_irq(ctx);
    }

    fn read_mis<C: MmioCtx>(&mut self, _: &mut C) -> u32 {
        self.ris & self.imsc
    }

    /// Clearing RX or RT while data still waits lets them assert again on the next byte.
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

impl ConsoleDevice for VirtPl011 {
    fn rx_room(&self) -> usize {
        self.rx.room(self.depth())
    }

    fn receive<C: MmioCtx>(&mut self, ctx: &mut C, byte: u8) {
        if self.rx_room() == 0 {
            return;
        }
        self.rx.push(byte);
        self.update_rx(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ctx::Ctx;
    use hv_mmio::{MmioFault, Width};
    extern crate std;

    fn rd(u: &mut VirtPl011, c: &mut Ctx, off: usize) -> u64 {
        u.mmio_read(c, off, Width::B16).unwrap()
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
        assert_eq!(u.mmio_read(&mut c, 0x018, Width::B8), Ok(0x90));
        assert_eq!(u.mmio_read(&mut c, 0x038, Width::B64), Err(MmioFault::BadWidth));
        u.mmio_write(&mut c, 0x038, Width::B16, 0x50).unwrap();
        assert_eq!(u.mmio_read(&mut c, 0x038, Width::B16), Ok(0x50));
        assert_eq!(u.mmio_read(&mut c, 0x800, Width::B32), Ok(0));
    }

    #[test]
    fn receive_fifo_flags_and_interrupts() {
        let (mut u, mut c) = (VirtPl011::new(), Ctx::default());
        // Without FEN the FIFO is a one-byte holding register.
        assert_eq!(u.rx_room(), 1);
        u.mmio_write(&mut c, 0x02C, Width::B16, 0x70).unwrap(); // 8 bits, FIFO on
        u.mmio_write(&mut c, 0x038, Width::B16, (INT_RX | INT_RT) as u64).unwrap();
        assert_eq!(u.rx_room(), FIFO);
        assert_eq!(c.ready, 1, "turning the FIFO on empties it: hv may send input");
        c.ready = 0;
        for &b in b"ls\n" {
            u.receive(&mut c, b);
        }
        assert_eq!(rd(&mut u, &mut c, 0x018) & FR_RXFE as u64, 0, "data waiting");
        assert_eq!(rd(&mut u, &mut c, 0x040), INT_RT as u64, "below the trigger: receive timeout");
        assert_eq!(c.irq, Some(true));
        assert_eq!([0, 0, 0].map(|_| rd(&mut u, &mut c, 0x000) as u8), *b"ls\n");
        assert_eq!(rd(&mut u, &mut c, 0x018) & FR_RXFE as u64, FR_RXFE as u64);
        assert_eq!((c.irq, c.ready), (Some(false), 1), "empty: the line drops, hv may send more");
        // Filling to the trigger level (IFLS 1/2 = 16) raises RX; a full FIFO has no room.
        for i in 0..FIFO {
            u.receive(&mut c, i as u8);
        }
        assert_eq!(rd(&mut u, &mut c, 0x03C) & INT_RX as u64, INT_RX as u64);
        assert_eq!(rd(&mut u, &mut c, 0x018) & FR_RXFF as u64, FR_RXFF as u64);
        assert_eq!(u.rx_room(), 0);
        u.receive(&mut c, 0xEE);
        assert_eq!(rd(&mut u, &mut c, 0x000), 0, "no byte was overwritten");
        // Turning the FIFO off empties it.
        u.mmio_write(&mut c, 0x02C, Width::B16, 0x60).unwrap();
        assert_eq!(rd(&mut u, &mut c, 0x018) & FR_RXFE as u64, FR_RXFE as u64);
    }

    /// Any access sequence from the guest with input arriving between: no panic, the FIFO never
    /// holds more than its depth, received bytes come out of DR in order and none is lost or
    /// invented, FR's RXFE/RXFF follow the FIFO, and the interrupt line equals MIS != 0.
    #[test]
    fn fuzz_vpl011() {
        hv_fuzz::run("vpl011", 20_000, |g| {
            let (mut u, mut c) = (VirtPl011::new(), Ctx::default());
            let mut model = std::collections::VecDeque::new();
            for _ in 0..g.below(64) {
                let width = g.pick(&[Width::B8, Width::B16, Width::B32, Width::B64]);
                let off = g.pick(&[0x000, 0x018, 0x02C, 0x034, 0x038, 0x03C, 0x040, 0x044, 0xFE0])
                    + g.below(4) as usize;
                let off = if g.below(8) == 0 { g.below(0x1000) as usize } else { off };
                let before = u.rx.len();
                match g.below(3) {
                    0 => {
                        let got = u.mmio_read(&mut c, off, width);
                        if off == 0 && before > 0 && u.rx.len() == before - 1 {
                            assert_eq!(got.map(|v| v as u8), Ok(model[0]), "DR returns the oldest byte");
                        }
                    }
                    1 => {
                        let _ = u.mmio_write(&mut c, off, width, g.value());
                    }
                    _ => {
                        let b = g.u32() as u8;
                        let room = u.rx_room();
                        u.receive(&mut c, b);
                        if room > 0 {
                            model.push_back(b);
                        }
                    }
                }
                let n = u.rx.len();
                if n == 0 {
                    model.clear(); // popped, or emptied by turning the FIFO on or off
                }
                while model.len() > n {
                    model.pop_front();
                }
                assert_eq!(model.len(), n, "no byte appears from nowhere");
                assert!(n <= u.depth() && u.rx_room() == u.depth() - n);
                let fr = u.mmio_read(&mut c, 0x018, Width::B32).unwrap() as u32;
                assert_eq!((fr & FR_RXFE != 0, fr & FR_RXFF != 0), (n == 0, n == u.depth()));
                let mis = u.mmio_read(&mut c, 0x040, Width::B32).unwrap();
                assert_eq!(c.irq.unwrap_or(false), mis != 0, "the line follows MIS");
            }
        });
    }
}
