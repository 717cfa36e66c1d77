//! A peer's doorbell as a SiFive GPIO controller (`sifive,gpio0`, as on the FU540), which
//! Debian's riscv64 kernel drives built in (`GPIO_SIFIVE=y`): userspace rings with `gpioset`
//! and waits with `gpiomon`. Eight lines, each with its own interrupt (the peer's `irq` and
//! the seven sources after it). Lines 4 to 7, set as outputs, are wires to peers 0 to 3: a
//! rising edge on one rings that peer with this peer's index. Lines 0 to 3 are inputs: vector
//! k is a pulse on line k, whose edges are latched where detection is on (as on the FU540, a
//! pulse nobody detects is gone, so a Linux peer keeps `gpiomon` running; channel.sh). The
//! pending registers are write-1-to-clear. Offsets no register covers read as zero and ignore
//! writes; only 32-bit accesses are taken.
use super::{gpio_rings, with_bell};
use crate::arch::Arch;
use hv_mmio::{MmioFault, MmioOp, Width};

const INPUT_VAL: usize = 0x00;
const INPUT_EN: usize = 0x04;
const OUTPUT_EN: usize = 0x08;
const OUTPUT_VAL: usize = 0x0C;
const PUE: usize = 0x10;
const DS: usize = 0x14;
const RISE_IE: usize = 0x18;
const RISE_IP: usize = 0x1C;
const FALL_IE: usize = 0x20;
const FALL_IP: usize = 0x24;
const HIGH_IE: usize = 0x28;
const HIGH_IP: usize = 0x2C;
const LOW_IE: usize = 0x30;
const LOW_IP: usize = 0x34;
const IOF_EN: usize = 0x38;
const IOF_SEL: usize = 0x3C;
const OUT_XOR: usize = 0x40;
/// The lines this model has.
pub const LINES: u32 = 8;
const MASK: u32 = (1 << LINES) - 1;
/// Lines that ring (outputs): 4 to 7.
const RING_LINES: u32 = 0xF0;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    input_en: u32,
    output_en: u32,
    output_val: u32,
    pue: u32,
    ds: u32,
    ie: [u32; 4],
    ip: [u32; 4],
    iof_en: u32,
    iof_sel: u32,
    out_xor: u32,
    /// Input lines a ring holds high, for the instant of its pulse.
    raised: u32,
}

/// Index into `ie`/`ip`: rise, fall, high, low.
const RISE: usize = 0;
const FALL: usize = 1;
const HIGH: usize = 2;
const LOW: usize = 3;

impl Regs {
    pub const POWER_ON: Regs = Regs {
        input_en: 0,
        output_en: 0,
        output_val: 0,
        pue: 0,
        ds: 0,
        ie: [0; 4],
        ip: [0; 4],
        iof_en: 0,
        iof_sel: 0,
        out_xor: 0,
        raised: 0,
    };

    /// The pins' levels: outputs drive theirs, raised inputs are high.
    fn pins(&self) -> u32 {
        ((self.output_val ^ self.out_xor) & self.output_en) | (self.raised & !self.output_en)
    }

    /// Latch what the pins' change from `before` and the enabled conditions say.
    fn latch(&mut self, before: u32) {
        let now = self.pins();
        self.ip[RISE] |= now & !before & self.ie[RISE];
        self.ip[FALL] |= !now & before & self.ie[FALL];
        self.ip[HIGH] |= now & self.ie[HIGH];
        self.ip[LOW] |= !now & self.ie[LOW] & MASK;
    }

    /// Vector `v` arrived: a pulse on input line `v`.
    pub fn ring(&mut self, v: u32) {
        if v < 4 && self.output_en & (1 << v) == 0 {
            let before = self.pins();
            self.raised |= 1 << v;
            self.latch(before);
            let top = self.pins();
            self.raised &= !(1 << v);
            self.latch(top);
        }
    }

    /// Each line's interrupt level (bit i: line i's source).
    pub fn lines(&self) -> u32 {
        (0..4).fold(0, |m, i| m | (self.ip[i] & self.ie[i])) & MASK
    }

    /// One access: its result, and the output lines it raised (each a ring).
    pub fn access(&mut self, off: usize, width: Width, op: MmioOp) -> (Result<u64, MmioFault>, u32) {
        if width != Width::B32 || !off.is_multiple_of(4) {
            return (Err(MmioFault::BadWidth), 0);
        }
        let before = self.pins();
        let value = match op {
            MmioOp::Read => {
                let v = match off {
                    INPUT_VAL => self.pins() & self.input_en,
                    INPUT_EN => self.input_en,
                    OUTPUT_EN => self.output_en,
                    OUTPUT_VAL => self.output_val,
                    PUE => self.pue,
                    DS => self.ds,
                    RISE_IE => self.ie[RISE],
                    RISE_IP => self.ip[RISE],
                    FALL_IE => self.ie[FALL],
                    FALL_IP => self.ip[FALL],
                    HIGH_IE => self.ie[HIGH],
                    HIGH_IP => self.ip[HIGH],
                    LOW_IE => self.ie[LOW],
                    LOW_IP => self.ip[LOW],
                    IOF_EN => self.iof_en,
                    IOF_SEL => self.iof_sel,
                    OUT_XOR => self.out_xor,
                    _ => 0,
                };
                return (Ok(v as u64), 0);
            }
            MmioOp::Write(v) => v as u32 & MASK,
        };
        match off {
            INPUT_EN => self.input_en = value,
            OUTPUT_EN => self.output_en = value,
            OUTPUT_VAL => self.output_val = value,
            PUE => self.pue = value,
            DS => self.ds = value,
            RISE_IE => self.ie[RISE] = value,
            FALL_IE => self.ie[FALL] = value,
            HIGH_IE => self.ie[HIGH] = value,
            LOW_IE => self.ie[LOW] = value,
            RISE_IP => self.ip[RISE] &= !value,
            FALL_IP => self.ip[FALL] &= !value,
            HIGH_IP => self.ip[HIGH] &= !value,
            LOW_IP => self.ip[LOW] &= !value,
            IOF_EN => self.iof_en = value,
            IOF_SEL => self.iof_sel = value,
            OUT_XOR => self.out_xor = value,
            _ => {}
        }
        self.latch(before);
        (Ok(0), self.pins() & !before & self.output_en & RING_LINES)
    }
}

pub(super) fn access<A: Arch>(
    c: usize,
    k: usize,
    off: usize,
    width: Width,
    op: MmioOp,
) -> Result<u64, MmioFault> {
    let (value, rings) = with_bell::<A, _>(c, k, |b| b.sifive.access(off, width, op));
    gpio_rings::<A>(c, k, rings);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(r: &mut Regs, off: usize, v: u32) -> u32 {
        let (res, rings) = r.access(off, Width::B32, MmioOp::Write(v as u64));
        assert_eq!(res, Ok(0));
        rings
    }
    fn rd(r: &mut Regs, off: usize) -> u32 {
        r.access(off, Width::B32, MmioOp::Read).0.unwrap() as u32
    }

    /// Linux's driver: an output line rings on each rising edge only.
    #[test]
    fn outputs_ring_on_rising_edges() {
        let mut r = Regs::POWER_ON;
        assert_eq!(w(&mut r, OUTPUT_VAL, 1 << 5), 0, "not an output yet");
        assert_eq!(w(&mut r, OUTPUT_VAL, 0), 0);
        assert_eq!(w(&mut r, OUTPUT_EN, 1 << 5), 0);
        assert_eq!(w(&mut r, OUTPUT_VAL, 1 << 5), 1 << 5, "0 -> 1 rings");
        assert_eq!(w(&mut r, OUTPUT_VAL, 1 << 5), 0, "staying high does not");
        assert_eq!(w(&mut r, OUTPUT_VAL, 0), 0);
        assert_eq!(w(&mut r, OUTPUT_VAL, 1 << 5), 1 << 5);
        assert_eq!(r.access(0, Width::B8, MmioOp::Read).0, Err(MmioFault::BadWidth));
    }

    /// A ring is a pulse: both its edges latch where detection is on, each line on its own
    /// interrupt, and nothing where it is off. The pending registers are write-1-to-clear.
    #[test]
    fn rings_are_pulses() {
        let mut r = Regs::POWER_ON;
        w(&mut r, INPUT_EN, 0xF);
        r.ring(1);
        assert_eq!(r.lines(), 0, "nothing enabled: nothing latched");
        w(&mut r, RISE_IE, 0b10);
        assert_eq!(r.lines(), 0, "a pulse nobody detected is gone");
        r.ring(1);
        assert_eq!(r.lines(), 0b10);
        assert_eq!(rd(&mut r, INPUT_VAL), 0, "the line is low again");
        w(&mut r, FALL_IE, 0b1);
        r.ring(0);
        assert_eq!(rd(&mut r, FALL_IP), 0b1, "the pulse's falling edge");
        w(&mut r, RISE_IP, 0b10);
        w(&mut r, FALL_IP, 0b1);
        assert_eq!(r.lines(), 0);
        r.ring(9);
        assert_eq!(r.lines(), 0, "vectors beyond the lines ring nothing");
    }
}
