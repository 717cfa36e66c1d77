//! A VM's end of a channel, found in its device tree (docs/channels.md): the region (state
//! table, shared section, one output section per peer) and hv's doorbell page, whose interrupt
//! this guest takes through its virtual interrupt controller (arch/).
use crate::arch;
use core::sync::atomic::{AtomicU32, Ordering};
use guest_rt::fdt::Fdt;

/// The doorbell page's registers.
pub const ID: usize = 0x00;
pub const PEERS_UP: usize = 0x04;
pub const PENDING: usize = 0x08;
pub const ENABLE: usize = 0x0C;
pub const RING: usize = 0x10;
/// A peer's record in the state table: its state, then its restart count.
pub const RECORD: usize = 0x10;
pub const OFF: u32 = 0;
pub const RUNNING: u32 = 1;
pub const PAUSED: u32 = 2;

#[derive(Clone, Copy)]
pub struct Channel {
    pub name: &'static str,
    /// Its number in the machine description (hv's ring call names it).
    pub id: u64,
    pub base: usize,
    pub size: usize,
    pub me: usize,
    pub peers: usize,
    pub shared: (usize, usize),
    /// Offset of peer 0's output section, and each one's size.
    pub output: (usize, usize),
    pub bell: usize,
    pub intid: u32,
}

pub fn rd(addr: usize) -> u32 {
    // SAFETY: an aligned word of a region or device page the device tree names.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

pub fn wr(addr: usize, v: u32) {
    // SAFETY: as for `rd`.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

fn cells(p: &[u8]) -> impl Iterator<Item = u64> + '_ {
    p.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64)
}

/// Its channels, in device-tree order (at most 4).
pub fn find(fdt: &Fdt<'static>) -> [Option<Channel>; 4] {
    let mut out = [None; 4];
    let mut n = 0;
    for node in fdt.all_nodes().filter(|x| x.compatible().is_some_and(|c| c.all().any(|s| s == "hv,channel")))
    {
        let prop = |k: &str| node.property(k).map(|p| p.value).unwrap_or(&[]);
        let name = node.property("hv,name").and_then(|p| p.as_str()).unwrap_or("");
        let reg: heapless_pair::Pair = cells(prop("reg")).into();
        let (shared, output): (heapless_pair::Pair, heapless_pair::Pair) =
            (cells(prop("hv,shared")).into(), cells(prop("hv,output")).into());
        let Some(bell) = fdt.all_nodes().find(|b| {
            b.compatible().is_some_and(|c| c.all().any(|s| s == "hv,doorbell"))
                && b.property("hv,channel").and_then(|p| p.as_str()) == Some(name)
        }) else {
            continue;
        };
        let bell_reg: heapless_pair::Pair =
            cells(bell.property("reg").map(|p| p.value).unwrap_or(&[])).into();
        let irq: [u64; 3] = {
            let mut it = cells(bell.property("interrupts").map(|p| p.value).unwrap_or(&[]));
            [it.next().unwrap_or(0), it.next().unwrap_or(0), it.next().unwrap_or(0)]
        };
        let intid = arch::intid(&irq);
        if n < out.len() {
            out[n] = Some(Channel {
                name,
                id: node.property("hv,id").and_then(|p| p.as_usize()).unwrap_or(usize::MAX) as u64,
                base: reg.0 as usize,
                size: reg.1 as usize,
                me: node.property("hv,peer").and_then(|p| p.as_usize()).unwrap_or(0),
                peers: node.property("hv,peers").and_then(|p| p.as_usize()).unwrap_or(0),
                shared: (shared.0 as usize, shared.1 as usize),
                output: (output.0 as usize, output.1 as usize),
                bell: bell_reg.0 as usize,
                intid,
            });
            n += 1;
        }
    }
    out
}

/// Two 64-bit cells (an address and a size).
mod heapless_pair {
    pub struct Pair(pub u64, pub u64);
    impl<I: Iterator<Item = u64>> From<I> for Pair {
        fn from(mut it: I) -> Pair {
            let mut next = || (it.next().unwrap_or(0) << 32) | it.next().unwrap_or(0);
            let a = next();
            Pair(a, next())
        }
    }
}

/// Vectors each channel's interrupt handler took (by channel index).
pub static TAKEN: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];
static CHANNELS: [AtomicU32; 8] = [const { AtomicU32::new(0) }; 8];

impl Channel {
    pub fn state(&self, k: usize) -> u32 {
        rd(self.base + RECORD * k)
    }
    pub fn restarts(&self, k: usize) -> u32 {
        rd(self.base + RECORD * k + 4)
    }
    pub fn output_of(&self, k: usize) -> usize {
        self.base + self.output.0 + self.output.1 * k
    }
    pub fn mine(&self) -> usize {
        self.output_of(self.me)
    }
    pub fn ring(&self, to: usize, vector: u32) {
        wr(self.bell + RING, to as u32 | vector << 8);
    }
    /// Take its interrupt: enable the SPI, and every vector in the page.
    pub fn listen(&self, slot: usize) {
        CHANNELS[2 * slot].store(self.bell as u32, Ordering::SeqCst);
        CHANNELS[2 * slot + 1].store(self.intid, Ordering::SeqCst);
        wr(self.bell + ENABLE, u32::MAX);
        arch::enable(self.intid);
    }
    /// Wait (WFI, no polling of the page) until a vector in `mask` arrives; returns and clears
    /// what arrived.
    pub fn wait(&self, slot: usize, mask: u32) -> u32 {
        loop {
            arch::irqs(false);
            let got = TAKEN[slot].load(Ordering::SeqCst) & mask;
            if got != 0 {
                TAKEN[slot].fetch_and(!got, Ordering::SeqCst);
                arch::irqs(true);
                return got;
            }
            // An interrupt ends the wait even while masked; it is taken once unmasked.
            arch::wfi();
            arch::irqs(true);
        }
    }
}

/// The interrupt handler: a doorbell's vectors are moved to `TAKEN` and cleared in the page.
pub fn on_irq() {
    let (intid, ack) = arch::take();
    for slot in 0..4 {
        if CHANNELS[2 * slot + 1].load(Ordering::SeqCst) == intid && intid != 0 {
            let bell = CHANNELS[2 * slot].load(Ordering::SeqCst) as usize;
            let v = rd(bell + PENDING);
            wr(bell + PENDING, v);
            TAKEN[slot].fetch_or(v, Ordering::SeqCst);
        }
    }
    arch::done(ack);
}

/// Put a short message in a section: its length, then its bytes.
pub fn put(at: usize, msg: &[u8]) {
    wr(at, msg.len() as u32);
    for (i, chunk) in msg.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        wr(at + 4 + 4 * i, u32::from_le_bytes(w));
    }
}

/// Read a message `put` wrote, into `buf`; its length.
pub fn get(at: usize, buf: &mut [u8]) -> usize {
    let n = (rd(at) as usize).min(buf.len());
    for i in 0..n.div_ceil(4) {
        let w = rd(at + 4 + 4 * i).to_le_bytes();
        let end = (4 * i + 4).min(n);
        buf[4 * i..end].copy_from_slice(&w[..end - 4 * i]);
    }
    n
}
