//! What a device's host tests stand in for hv: the console it writes, its interrupt line's last
//! level, and how often it said input may flow again.
extern crate std;
use hv_mmio::MmioCtx;
use std::vec::Vec;

#[derive(Default)]
pub struct Ctx {
    pub out: Vec<u8>,
    pub irq: Option<bool>,
    pub ready: usize,
}

impl MmioCtx for Ctx {
    fn console_write(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b)
    }
    fn set_irq(&mut self, _line: usize, level: bool) {
        self.irq = Some(level)
    }
    fn console_rx_ready(&mut self) {
        self.ready += 1;
    }
}
