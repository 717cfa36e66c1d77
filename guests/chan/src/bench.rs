//! `make bench`'s channel figures (machines/bench-channels.ron), under -icount so virtual
//! nanoseconds count instructions: the doorbell round trip between two VMs (peer 0 rings peer
//! 1, which rings back; both wait in WFI), and a 64 KiB message copied through the channel
//! and answered. Peer 1 (`role=bench-pong`) only answers.
use crate::channel::*;
use guest_rt::counter::{counter, freq};
use guest_rt::println;

const ROUND_TRIPS: u64 = 2_000;
const COPIES: u64 = 20;

fn ns(ticks: u64) -> u64 {
    ticks * 1_000_000_000 / freq()
}

/// Copy `len` bytes of `from` into `to`, eight at a time (device-safe: aligned volatile words).
fn copy(from: usize, to: usize, len: usize) -> u64 {
    let mut sum = 0u64;
    for off in (0..len).step_by(8) {
        // SAFETY: aligned words of this VM's RAM or of a channel section it may access.
        let w = unsafe { core::ptr::read_volatile((from + off) as *const u64) };
        sum = sum.wrapping_add(w);
        if to != 0 {
            // SAFETY: as above, a section it may write.
            unsafe { core::ptr::write_volatile((to + off) as *mut u64, w) };
        }
    }
    sum
}

/// A 64 KiB source in our own RAM.
static mut SOURCE: [u64; 8192] = [0; 8192];

pub fn ping(c: &Channel) -> u8 {
    c.listen(0);
    // Let the peer come up and listen (it rings once when ready).
    c.wait(0, 1 << 1);
    let start = counter();
    for _ in 0..ROUND_TRIPS {
        c.ring(1, 0);
        c.wait(0, 1 << 1);
    }
    let rt = ns(counter() - start) / ROUND_TRIPS;
    println!("BENCH doorbell_roundtrip n={ROUND_TRIPS} instr_per_op={rt}.00");
    let len = c.output.1.min(64 * 1024);
    let src = (&raw const SOURCE) as usize;
    for i in 0..8192usize {
        // SAFETY: inside our own static, written before any copy reads it.
        unsafe {
            (&raw mut SOURCE).cast::<u64>().add(i).write((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        };
    }
    let want = copy(src, 0, len);
    let start = counter();
    let mut ok = true;
    for _ in 0..COPIES {
        copy(src, c.mine(), len);
        c.ring(1, 1);
        c.wait(0, 1 << 1);
        // The peer answers with the sum of what it read.
        ok &= (rd(c.output_of(1)) as u64 | (rd(c.output_of(1) + 4) as u64) << 32) == want;
    }
    let per = ns(counter() - start) / COPIES;
    println!("BENCH channel_copy_{}k n={COPIES} instr_per_op={per}.00", len / 1024);
    println!(
        "chan: {} KiB through the channel and answered in {per} instructions: {} bytes per 1000",
        len / 1024,
        len as u64 * 1000 / per.max(1)
    );
    guest_rt::test::check("every copy arrived whole", ok);
    c.ring(1, 2);
    guest_rt::test::summary()
}

pub fn pong(c: &Channel) -> u8 {
    c.listen(0);
    c.ring(0, 1);
    loop {
        let got = c.wait(0, 0b111);
        if got & 0b10 != 0 {
            let sum = copy(c.output_of(0), 0, c.output.1.min(64 * 1024));
            wr(c.mine(), sum as u32);
            wr(c.mine() + 4, (sum >> 32) as u32);
        }
        if got & 0b100 != 0 {
            return 0;
        }
        c.ring(0, 1);
    }
}
