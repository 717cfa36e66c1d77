//! A peer's doorbell as an Arm PL061 GPIO controller (`arm,pl061`, PrimeCell ID 0x00041061),
//! which Debian's kernel drives with no module: userspace waits with `gpiomon` and rings with
//! `gpioset`. Lines 0 to 3 are inputs that see an edge when vector 0 to 3 arrives (by
//! convention the ringing peer's index); lines 4 to 7, set as outputs, are wires to peers 0 to
//! 3: each rising edge rings that peer with this peer's index (`gpioset … 5=1` then `5=0` is
//! one ring). Either trigger type latches the edge in RIS until the guest clears it through IC,
//! so a ring that arrives before anyone waits is not lost. Offsets no register covers read as zero and ignore writes, as on the
//! PrimeCell; 64-bit accesses abort.
use super::{gpio_rings, with_bell};
use crate::arch::Arch;
use hv_mmio::{MmioFault, MmioOp, Width};

const DATA_END: usize = 0x400;
const DIR: usize = 0x400;
const IS: usize = 0x404;
const IBE: usize = 0x408;
const IEV: usize = 0x40C;
const IE: usize = 0x410;
const RIS: usize = 0x414;
const MIS: usize = 0x418;
const IC: usize = 0x41C;
const AFSEL: usize = 0x420;
/// PeriphID0-3 then PCellID0-3, one byte per word.
const ID: [u8; 8] = [0x61, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1];
const ID_AT: usize = 0xFE0;
/// Lines that ring (outputs): 4 to 7.
const RING_LINES: u8 = 0xF0;

/// Its registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    dir: u8,
    is: u8,
    ibe: u8,
    iev: u8,
    ie: u8,
    ris: u8,
    afsel: u8,
    /// The output lines' levels.
    out: u8,
}

impl Regs {
    pub const POWER_ON: Regs = Regs { dir: 0, is: 0, ibe: 0, iev: 0, ie: 0, ris: 0, afsel: 0, out: 0 };

    /// Vector `v` arrived: an edge on input line `v`, if it has one and it is an input.
    pub fn ring(&mut self, v: u32) {
        if v < 4 && self.dir & (1 << v) == 0 {
            self.ris |= 1 << v;
        }
    }

    pub fn line(&self) -> bool {
        self.ris & self.ie != 0
    }
}

pub(super) fn access<A: Arch>(
    c: usize,
    k: usize,
    off: usize,
    width: Width,
    op: MmioOp,
) -> Result<u64, MmioFault> {
    let (value, rings) = with_bell::<A, _>(c, k, |b| b.gpio.access(off, width, op));
    gpio_rings::<A>(c, k, rings as u32);
    value
}

impl Regs {
    /// One access: its result, and the output lines it raised (each a ring).
    pub fn access(&mut self, off: usize, width: Width, op: MmioOp) -> (Result<u64, MmioFault>, u8) {
        if width == Width::B64 || !off.is_multiple_of(width.bytes()) {
            return (Err(MmioFault::BadWidth), 0);
        }
        // Registers are 8 bits wide in 32-bit words: only the word's low byte counts.
        let (word, lane) = (off & !3, off & 3);
        let value = match op {
            MmioOp::Read => None,
            MmioOp::Write(v) => Some(v as u8),
        };
        if lane != 0 {
            return (Ok(0), 0);
        }
        if word >= ID_AT {
            return (Ok(value.map_or(ID[(word - ID_AT) / 4] as u64, |_| 0)), 0);
        }
        if word < DATA_END {
            // Address bits 9:2 mask which lines an access sees. Inputs read low (a ring is an
            // edge, not a level); outputs read back what was written.
            let mask = (word >> 2) as u8;
            let Some(v) = value else { return (Ok((self.out & mask) as u64), 0) };
            let before = self.out;
            self.out = (self.out & !(mask & self.dir)) | (v & mask & self.dir);
            return (Ok(0), self.out & !before & RING_LINES);
        }
        let reg = match word {
            DIR => &mut self.dir,
            IS => &mut self.is,
            IBE => &mut self.ibe,
            IEV => &mut self.iev,
            IE => &mut self.ie,
            AFSEL => &mut self.afsel,
            RIS | MIS | IC => {
                let r = match (word, value) {
                    (RIS, None) => self.ris as u64,
                    (MIS, None) => (self.ris & self.ie) as u64,
                    (IC, Some(v)) => {
                        self.ris &= !v;
                        0
                    }
                    _ => 0,
                };
                return (Ok(r), 0);
            }
            _ => return (Ok(0), 0),
        };
        match value {
            None => (Ok(*reg as u64), 0),
            Some(v) => {
                *reg = v;
                // Lines no longer outputs drop.
                self.out &= self.dir;
                (Ok(0), 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(r: &mut Regs, off: usize, v: u64) -> u8 {
        let (res, rings) = r.access(off, Width::B8, MmioOp::Write(v));
        assert_eq!(res, Ok(0));
        rings
    }
    fn rd(r: &mut Regs, off: usize) -> u64 {
        r.access(off, Width::B8, MmioOp::Read).0.unwrap()
    }

    /// Linux's pl061 driver: the PrimeCell ID, direction_output's two data writes around the
    /// direction change, and a ring only on each rising edge of an output line.
    #[test]
    fn outputs_ring_on_rising_edges() {
        let mut r = Regs::POWER_ON;
        let id: [u64; 8] = core::array::from_fn(|i| rd(&mut r, 0xFE0 + 4 * i));
        assert_eq!(id, [0x61, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1]);
        // gpioset line 5 = 1: the write before the direction change reaches no output.
        assert_eq!(w(&mut r, 1 << (5 + 2), 1 << 5), 0);
        let dir = rd(&mut r, DIR) as u8 | 1 << 5;
        assert_eq!(w(&mut r, DIR, dir as u64), 0);
        assert_eq!(w(&mut r, 1 << (5 + 2), 1 << 5), 1 << 5, "0 -> 1 rings");
        assert_eq!(w(&mut r, 1 << (5 + 2), 1 << 5), 0, "staying high does not");
        assert_eq!(rd(&mut r, 0x3FC), 1 << 5, "outputs read back");
        assert_eq!(w(&mut r, 1 << (5 + 2), 0), 0);
        assert_eq!(w(&mut r, 0x3FC, 0xFF), 1 << 5, "the mask lets only outputs through");
        // A line outside the address mask is untouched.
        assert_eq!(w(&mut r, 1 << (4 + 2), 0), 0);
        assert_eq!(rd(&mut r, 0x3FC), 1 << 5);
    }

    /// An incoming vector latches an edge on its input line, raising the interrupt only when
    /// enabled, until IC clears it; outputs and vectors beyond line 3 latch nothing.
    #[test]
    fn inputs_latch_rings_until_cleared() {
        let mut r = Regs::POWER_ON;
        r.ring(1);
        assert_eq!(rd(&mut r, RIS), 0b10);
        assert!(!r.line(), "masked");
        w(&mut r, IE, 0b10);
        assert!(r.line());
        assert_eq!(rd(&mut r, MIS), 0b10);
        assert_eq!(rd(&mut r, 0x3FC), 0, "inputs read low");
        w(&mut r, IC, 0b10);
        assert!(!r.line());
        r.ring(9);
        w(&mut r, DIR, 0b1);
        r.ring(0);
        assert_eq!(rd(&mut r, RIS), 0, "vectors beyond the lines, and outputs, latch nothing");
        assert_eq!(r.access(0, Width::B64, MmioOp::Read).0, Err(MmioFault::BadWidth));
        assert_eq!(r.access(0x800, Width::B32, MmioOp::Read).0, Ok(0), "reserved space reads zero");
    }
}
