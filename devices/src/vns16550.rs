//! A virtual NS16550A UART (byte registers one byte apart, as QEMU's riscv64 virt board has it).
//! Output goes to the board console through the access context; input comes from the board
//! console while this VM has the input focus (`ConsoleDevice`) into a 16-byte receive FIFO, with
//! the received-data, character-timeout and transmitter-empty interrupts. Transmission is
//! instantaneous, so the transmitter is always empty. The divisor latch is kept (drivers program
//! it) and has no effect.
use crate::fifo::RxFifo;
use hv_mmio::{ConsoleDevice, MmioCtx, MmioDevice};

const IER_RDI: u8 = 1 << 0;
const IER_THRI: u8 = 1 << 1;
const IER_MASK: u8 = 0x0F;
const IIR_NONE: u8 = 0x01;
const IIR_THRI: u8 = 0x02;
const IIR_RDI: u8 = 0x04;
const IIR_TIMEOUT: u8 = 0x0C;
const IIR_FIFOS: u8 = 0xC0;
const FCR_ENABLE: u8 = 1 << 0;
const FCR_CLEAR_RX: u8 = 1 << 1;
const LCR_DLAB: u8 = 1 << 7;
const LSR_DR: u8 = 1 << 0;
const LSR_THRE: u8 = 1 << 5;
const LSR_TEMT: u8 = 1 << 6;
/// Carrier, data set ready and clear to send: a line that is always connected.
const MSR_CONNECTED: u8 = 0xB0;
/// The receive FIFO's depth with FCR.FE set (1 without).
const FIFO: usize = 16;

#[derive(MmioDevice)]
#[mmio(size = 0x100, compatible = ["ns16550a"], unmapped = RazWi)]
pub struct VirtNs16550 {
    /// RBR (read), THR (write), or the divisor latch's low byte while LCR.DLAB is set.
    #[reg(offset = 0, read = Self::read_rbr, write = Self::write_thr)]
    data: u8,
    /// IER, or the divisor latch's high byte while LCR.DLAB is set.
    #[reg(offset = 1, read = Self::read_ier, write = Self::write_ier)]
    ier: u8,
    /// IIR (read) and FCR (write).
    #[reg(offset = 2, read = Self::read_iir, write = Self::write_fcr)]
    iir: u8,
    #[reg(offset = 3)]
    lcr: u8,
    #[reg(offset = 4, write = Self::write_mcr)]
    mcr: u8,
    #[reg(offset = 5, read = Self::read_lsr, write = Self::ignore)]
    lsr: u8,
    #[reg(offset = 6, read = Self::read_msr, write = Self::ignore)]
    msr: u8,
    #[reg(offset = 7)]
    scr: u8,
    dll: u8,
    dlm: u8,
    fcr: u8,
    /// A transmitter-empty interrupt is pending: set when THR empties (a byte sent, or the
    /// interrupt enabled), cleared by reading IIR while it is the reported source, or by THR.
    thri: bool,
    rx: RxFifo<FIFO>,
    /// The interrupt line's level, so only changes are signalled.
    level: bool,
}

impl Default for VirtNs16550 {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtNs16550 {
    pub const fn new() -> Self {
        VirtNs16550 {
            data: 0,
            ier: 0,
            iir: IIR_NONE,
            lcr: 0,
            mcr: 0,
            lsr: LSR_THRE | LSR_TEMT,
            msr: MSR_CONNECTED,
            scr: 0,
            dll: 0,
            dlm: 0,
            fcr: 0,
            thri: false,
            rx: RxFifo::new(),
            level: false,
        }
    }

    fn ignore<C: MmioCtx>(&mut self, _: &mut C, _: u8) {}

    fn dlab(&self) -> bool {
        self.lcr & LCR_DLAB != 0
    }

    /// Bytes the receive FIFO holds at most: 16 with FIFOs on, else a one-byte holding register.
    fn depth(&self) -> usize {
        if self.fcr & FCR_ENABLE != 0 {
            FIFO
        } else {
            1
        }
    }

    /// The received-data trigger level (FCR bits 7:6: 1, 4, 8 or 14 bytes).
    fn rx_trigger(&self) -> usize {
        if self.fcr & FCR_ENABLE == 0 {
            return 1;
        }
        [1, 4, 8, 14][(self.fcr >> 6) as usize]
    }

    /// The highest-priority pending interrupt, as IIR's low bits. Received data at or above the
    /// trigger is "data available"; below it, "character timeout" (input arrives in bursts
    /// already received, so data that waits will not be joined by more).
    fn pending(&self) -> u8 {
        let n = self.rx.len();
        if self.ier & IER_RDI != 0 && n > 0 {
            return if n >= self.rx_trigger() { IIR_RDI } else { IIR_TIMEOUT };
        }
        if self.ier & IER_THRI != 0 && self.thri {
            return IIR_THRI;
        }
        IIR_NONE
    }

    fn update<C: MmioCtx>(&mut self, ctx: &mut C) {
        let fifos = if self.fcr & FCR_ENABLE != 0 { IIR_FIFOS } else { 0 };
        self.iir = self.pending() | fifos;
        self.lsr = LSR_THRE | LSR_TEMT | if !self.rx.is_empty() { LSR_DR } else { 0 };
        let level = self.pending() != IIR_NONE;
        if level != self.level {
            self.level = level;
            ctx.set_irq(0, level);
        }
    }

    /// Pop the oldest received byte (0 when empty).
    fn read_rbr<C: MmioCtx>(&mut self, ctx: &mut C) -> u8 {
        if self.dlab() {
            return self.dll;
        }
        let Some(b) = self.rx.pop() else { return 0 };
        self.update(ctx);
        if self.rx.is_empty() {
            ctx.console_rx_ready();
        }
        b
    }

    /// Send a byte: out at once, and the transmitter is empty again.
    fn write_thr<C: MmioCtx>(&mut self, ctx: &mut C, v: u8) {
        if self.dlab() {
            self.dll = v;
            return;
        }
        ctx.console_write(&[v]);
        self.thri = true;
        self.update(ctx);
    }

    fn read_ier<C: MmioCtx>(&mut self, _: &mut C) -> u8 {
        if self.dlab() {
            self.dlm
        } else {
            self.ier
        }
    }

    /// Enabling the transmitter-empty interrupt raises it at once: THR is empty.
    fn write_ier<C: MmioCtx>(&mut self, ctx: &mut C, v: u8) {
        if self.dlab() {
            self.dlm = v;
            return;
        }
        let v = v & IER_MASK;
        if v & IER_THRI != 0 && self.ier & IER_THRI == 0 {
            self.thri = true;
        }
        self.ier = v;
        self.update(ctx);
    }

    /// Reading IIR while it reports the transmitter-empty interrupt acknowledges it.
    fn read_iir<C: MmioCtx>(&mut self, ctx: &mut C) -> u8 {
        let v = self.iir;
        if v & 0x0F == IIR_THRI {
            self.thri = false;
            self.update(ctx);
        }
        v
    }

    /// FCR: FIFOs on or off (either empties them, as does the clear bit), and the trigger.
    fn write_fcr<C: MmioCtx>(&mut self, ctx: &mut C, v: u8) {
        if (self.fcr ^ v) & FCR_ENABLE != 0 || v & FCR_CLEAR_RX != 0 {
            self.rx.clear();
            ctx.console_rx_ready();
        }
        // The clear bits are self-clearing; the DMA mode bit has no effect here.
        self.fcr = v & (FCR_ENABLE | 0xC0);
        self.update(ctx);
    }

    /// MCR: kept for reads back; loopback is not modelled (bytes still go to the console).
    fn write_mcr<C: MmioCtx>(&mut self, _: &mut C, v: u8) {
        self.mcr = v & 0x1F;
    }

    fn read_lsr<C: MmioCtx>(&mut self, _: &mut C) -> u8 {
        self.lsr
    }

    fn read_msr<C: MmioCtx>(&mut self, _: &mut C) -> u8 {
        MSR_CONNECTED
    }
}

impl ConsoleDevice for VirtNs16550 {
    fn rx_room(&self) -> usize {
        self.rx.room(self.depth())
    }

    fn receive<C: MmioCtx>(&mut self, ctx: &mut C, byte: u8) {
        if self.rx_room() == 0 {
            return;
        }
        self.rx.push(byte);
        self.update(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ctx::Ctx;
    use hv_mmio::{MmioFault, Width};
    extern crate std;

    fn rd(u: &mut VirtNs16550, c: &mut Ctx, off: usize) -> u8 {
        u.mmio_read(c, off, Width::B8).unwrap() as u8
    }
    fn wr(u: &mut VirtNs16550, c: &mut Ctx, off: usize, v: u8) {
        u.mmio_write(c, off, Width::B8, v as u64).unwrap()
    }

    #[test]
    fn transmit_and_the_empty_interrupt() {
        let (mut u, mut c) = (VirtNs16550::new(), Ctx::default());
        assert_eq!(rd(&mut u, &mut c, 5), LSR_THRE | LSR_TEMT);
        wr(&mut u, &mut c, 0, b'h');
        wr(&mut u, &mut c, 0, b'i');
        assert_eq!(c.out, b"hi");
        assert_eq!(rd(&mut u, &mut c, 2), IIR_NONE, "nothing enabled");
        wr(&mut u, &mut c, 1, IER_THRI);
        assert_eq!(c.irq, Some(true), "THR is empty: enabling its interrupt raises it");
        assert_eq!(rd(&mut u, &mut c, 2), IIR_THRI);
        assert_eq!(c.irq, Some(false), "reading IIR acknowledged it");
        assert_eq!(rd(&mut u, &mut c, 2), IIR_NONE);
        wr(&mut u, &mut c, 0, b'!');
        assert_eq!(c.irq, Some(true), "the byte went out: empty again");
        assert_eq!(u.mmio_read(&mut c, 0, Width::B32), Err(MmioFault::BadWidth));
    }

    #[test]
    fn divisor_latch_and_scratch() {
        let (mut u, mut c) = (VirtNs16550::new(), Ctx::default());
        wr(&mut u, &mut c, 3, LCR_DLAB | 3);
        wr(&mut u, &mut c, 0, 0x12);
        wr(&mut u, &mut c, 1, 0x34);
        assert!(c.out.is_empty(), "a divisor write sends nothing");
        assert_eq!((rd(&mut u, &mut c, 0), rd(&mut u, &mut c, 1)), (0x12, 0x34));
        wr(&mut u, &mut c, 3, 3);
        assert_eq!(rd(&mut u, &mut c, 1), 0, "IER untouched");
        wr(&mut u, &mut c, 7, 0x5A);
        assert_eq!(rd(&mut u, &mut c, 7), 0x5A);
        assert_eq!(rd(&mut u, &mut c, 6), MSR_CONNECTED);
        assert_eq!(rd(&mut u, &mut c, 0x80), 0, "unmapped offsets read as zero");
    }

    #[test]
    fn receive_fifo_and_interrupts() {
        let (mut u, mut c) = (VirtNs16550::new(), Ctx::default());
        assert_eq!(u.rx_room(), 1, "without FIFOs: one holding register");
        wr(&mut u, &mut c, 2, FCR_ENABLE | FCR_CLEAR_RX | 0x80); // trigger at 8
        assert_eq!((u.rx_room(), c.ready), (FIFO, 1));
        wr(&mut u, &mut c, 1, IER_RDI);
        for &b in b"ls\n" {
            u.receive(&mut c, b);
        }
        assert_eq!(rd(&mut u, &mut c, 5) & LSR_DR, LSR_DR);
        assert_eq!(rd(&mut u, &mut c, 2), IIR_FIFOS | IIR_TIMEOUT, "below the trigger");
        assert_eq!(c.irq, Some(true));
        assert_eq!([0, 0, 0].map(|_| rd(&mut u, &mut c, 0)), *b"ls\n");
        assert_eq!((rd(&mut u, &mut c, 5) & LSR_DR, c.irq, c.ready), (0, Some(false), 2));
        for i in 0..FIFO {
            u.receive(&mut c, i as u8);
        }
        assert_eq!(rd(&mut u, &mut c, 2), IIR_FIFOS | IIR_RDI, "at or above the trigger");
        assert_eq!(u.rx_room(), 0);
        u.receive(&mut c, 0xEE);
        assert_eq!(rd(&mut u, &mut c, 0), 0, "no byte was overwritten");
        wr(&mut u, &mut c, 2, 0);
        assert_eq!(rd(&mut u, &mut c, 5) & LSR_DR, 0, "FIFOs off: emptied");
    }

    /// Any access sequence with input arriving between: no panic, the FIFO never holds more than
    /// its depth, bytes come out in order, LSR.DR follows the FIFO, and the line is high exactly
    /// while IIR reports an interrupt.
    #[test]
    fn fuzz_vns16550() {
        hv_fuzz::run("vns16550", 20_000, |g| {
            let (mut u, mut c) = (VirtNs16550::new(), Ctx::default());
            let mut model = std::collections::VecDeque::new();
            for _ in 0..g.below(64) {
                let width = g.pick(&[Width::B8, Width::B8, Width::B8, Width::B32]);
                let off = if g.below(8) == 0 { g.below(0x100) as usize } else { g.below(8) as usize };
                let before = u.rx.len();
                match g.below(3) {
                    0 => {
                        let got = u.mmio_read(&mut c, off, width);
                        if off == 0 && before > 0 && u.rx.len() == before - 1 {
                            assert_eq!(got.map(|v| v as u8), Ok(model[0]), "RBR returns the oldest byte");
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
                    model.clear();
                }
                while model.len() > n {
                    model.pop_front();
                }
                assert_eq!(model.len(), n, "no byte appears from nowhere");
                assert!(n <= u.depth() && u.rx_room() == u.depth() - n);
                assert_eq!(u.lsr & LSR_DR != 0, n > 0);
                assert_eq!(c.irq.unwrap_or(false), u.iir & 0x0F != IIR_NONE, "the line follows IIR");
            }
        });
    }
}
