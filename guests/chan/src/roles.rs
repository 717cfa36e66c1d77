//! The three roles (main.rs says what each does).
use crate::arch::{aborts, control, ring_call, BAD_STATE, DENIED, INVALID};
use crate::channel::*;
use guest_rt::println;
use guest_rt::test::{check, check_eq, summary};

fn named<'a>(chans: &'a [Option<Channel>], name: &str) -> Option<&'a Channel> {
    chans.iter().flatten().find(|c| c.name == name)
}

/// The message in peer `k`'s output section.
fn message<'a>(c: &Channel, k: usize, buf: &'a mut [u8; 64]) -> &'a [u8] {
    let n = get(c.output_of(k), buf);
    &buf[..n]
}

/// Send `msg` to peer 1 and wait for its echo (through whatever other rings arrive first).
fn exchange(c: &Channel, msg: &[u8], want: &[u8], by_call: bool) -> bool {
    put(c.mine(), msg);
    if by_call {
        if ring_call(c.id, 1, 0) != 0 {
            return false;
        }
    } else {
        c.ring(1, 0);
    }
    let mut buf = [0u8; 64];
    for _ in 0..8 {
        c.wait(0, 1 << 1);
        if message(c, 1, &mut buf) == want {
            return true;
        }
    }
    println!("chan: peer 1 says {:?}", core::str::from_utf8(message(c, 1, &mut buf)));
    false
}

// Management page registers (hv/src/manage.rs).
const COUNT: usize = 0x000;
const SLOT: usize = 0x100;
const VMID: usize = 0x0;
const STATE: usize = 0x4;
const COMMAND: usize = 0x8;
const RESULT: usize = 0xC;
const STOP: u32 = 1;
const PAUSE: u32 = 2;
const RESUME: u32 = 3;
const RESTART: u32 = 4;

/// Wait until the state table says peer `k` is in `state` (hv writes it before it rings).
fn settle(c: &Channel, k: usize, state: u32) -> bool {
    for _ in 0..8 {
        if c.state(k) == state {
            return true;
        }
        c.wait(0, 1 << k);
    }
    c.state(k) == state
}

pub fn manager(chans: &[Option<Channel>], page: Option<usize>) -> u8 {
    let (Some(c), Some(page)) = (named(chans, "link"), page) else {
        println!("chan: manager without channel `link` or a management page");
        return 1;
    };
    c.listen(0);
    check_eq("doorbell ID: peer 0 of 2, layout 1", rd(c.bell + ID), 0x1_0200);
    check_eq("state table: both peers run", (c.state(0), c.state(1)), (RUNNING, RUNNING));
    check_eq("state table: nobody restarted", c.restarts(1), 0);
    check_eq("both peers are up", rd(c.bell + PEERS_UP), 0b11);
    check("a message and its echo through the page", exchange(c, b"ping 1", b"echo(boot 0): ping 1", false));
    check(
        "a message and its echo through hv's ring call",
        exchange(c, b"ping 2", b"echo(boot 0): ping 2", true),
    );
    // What is ours to write, and what is not.
    wr(c.base + c.shared.0, 0x5A5A_5A5A);
    check_eq("the shared section is writable", rd(c.base + c.shared.0), 0x5A5A_5A5A);
    check("peer 1's output section is read-only here", aborts(|| wr(c.output_of(1), 0)));
    check("the state table is read-only", aborts(|| wr(c.base, 7)));
    check(
        "the region ends where the description says",
        aborts(|| {
            rd(c.base + c.size);
        }),
    );
    check("ringing a peer that does not exist aborts", aborts(|| c.ring(2, 0)));
    check("ringing itself aborts", aborts(|| c.ring(0, 0)));
    check("vector 32 does not exist", aborts(|| c.ring(1, 32)));
    check("PEERS_UP is read-only", aborts(|| wr(c.bell + PEERS_UP, 0)));
    check(
        "byte accesses to the doorbell abort",
        aborts(|| {
            // SAFETY: a deliberate byte read hv must refuse.
            unsafe { core::ptr::read_volatile(c.bell as *const u8) };
        }),
    );
    check(
        "accesses beyond the doorbell's registers abort",
        aborts(|| {
            rd(c.bell + 0x14);
        }),
    );
    check_eq("the ring call refuses a channel it is not a peer of", ring_call(c.id + 1, 0, 0), DENIED);
    check_eq("the ring call refuses a peer that does not exist", ring_call(c.id, 5, 0), INVALID);
    check_eq("the ring call refuses vector 32", ring_call(c.id, 1, 32), INVALID);
    // Management: the page lists beta, and only beta.
    check_eq("the management page lists one VM", rd(page + COUNT), 1);
    let beta = rd(page + SLOT + VMID) as u64;
    check_eq("it is VM 1", beta, 1);
    check_eq("which runs", rd(page + SLOT + STATE), RUNNING);
    check(
        "a second slot does not exist",
        aborts(|| {
            rd(page + SLOT + 0x10 + STATE);
        }),
    );
    check("an unknown command aborts", aborts(|| wr(page + SLOT + COMMAND, 9)));
    check_eq("VM control: query", control(beta, 0), RUNNING as i64);
    check_eq("VM control: a VM not given is refused", control(2, 0), DENIED);
    check_eq("VM control: itself is refused", control(0, 1), DENIED);
    // Pause: state kept, nothing answers; resume: the ring sent meanwhile is answered.
    wr(page + SLOT + COMMAND, PAUSE);
    check_eq("pause: done", rd(page + SLOT + RESULT), 0);
    check_eq("pause: the page says paused", rd(page + SLOT + STATE), PAUSED);
    check("pause: the state table says so, and the peer was told", settle(c, 1, PAUSED));
    check_eq("pause: the peer is not up", rd(c.bell + PEERS_UP), 0b01);
    wr(page + SLOT + COMMAND, PAUSE);
    check_eq("pausing twice is refused", rd(page + SLOT + RESULT), 1);
    put(c.mine(), b"ping 3");
    c.ring(1, 0);
    check_eq("resume through the call", control(beta, 3), RUNNING as i64);
    check_eq("resuming a running VM is refused", control(beta, 3), BAD_STATE);
    let mut buf = [0u8; 64];
    let mut answered = false;
    for _ in 0..8 {
        c.wait(0, 1 << 1);
        if message(c, 1, &mut buf) == b"echo(boot 0): ping 3" {
            answered = true;
            break;
        }
    }
    check("the ring sent while it was paused is answered after resume", answered);
    // Restart: it comes back at power-on, and the channel still carries messages.
    wr(page + SLOT + COMMAND, RESTART);
    check_eq("restart: done", rd(page + SLOT + RESULT), 0);
    check_eq("restart: counted in the state table", c.restarts(1), 1);
    check("restart: running again", settle(c, 1, RUNNING));
    check(
        "after the restart the channel still works",
        exchange(c, b"ping 4", b"echo(boot 1): ping 4", false),
    );
    // Stop: a stopped peer is not rung.
    check_eq("stop through the call", control(beta, STOP as u64), OFF as i64);
    check("stop: the state table says off", settle(c, 1, OFF));
    check_eq("a stopped peer is not rung", ring_call(c.id, 1, 0), BAD_STATE);
    check_eq("stopping it twice is refused", control(beta, STOP as u64), BAD_STATE);
    let _ = RESUME;
    summary()
}

pub fn echo(chans: &[Option<Channel>]) -> u8 {
    let Some(c) = chans.iter().flatten().find(|c| c.me == 1) else {
        println!("chan: echo without a channel where it is peer 1");
        return 1;
    };
    // A peer of another channel too (`side`): its rings are taken and ignored.
    for (slot, other) in chans.iter().enumerate() {
        if let Some(o) = other {
            o.listen(slot);
        }
    }
    let slot = chans.iter().position(|x| x.is_some_and(|x| x.me == 1)).unwrap_or(0);
    let boot = c.restarts(1);
    println!("chan: echo up on `{}`, boot {boot}", c.name);
    check_eq("a fresh output section reads zero", rd(c.mine()), 0);
    check_eq("doorbell ID: peer 1 of 2, layout 1", rd(c.bell + ID), 0x1_0201);
    check_eq("the state table says it runs", c.state(1), RUNNING);
    check("peer 0's output section is read-only here", aborts(|| wr(c.output_of(0), 0)));
    check("the state table is read-only", aborts(|| wr(c.base + RECORD, OFF)));
    let mut buf = [0u8; 64];
    let mut out = [0u8; 64];
    loop {
        c.wait(slot, 1 << 0);
        let msg = message(c, 0, &mut buf);
        check("a ring from peer 0 comes with a message", !msg.is_empty());
        if msg == b"bye" {
            return summary();
        }
        let head = b"echo(boot ";
        let mut n = 0;
        for &b in head.iter().chain(&[b'0' + (boot % 10) as u8]).chain(b"): ").chain(msg) {
            if n < out.len() {
                out[n] = b;
                n += 1;
            }
        }
        put(c.mine(), &out[..n]);
        c.ring(0, 1);
    }
}

pub fn hostile(chans: &[Option<Channel>]) -> u8 {
    let Some(c) = chans.iter().flatten().next() else {
        println!("chan: hostile without a channel");
        return 1;
    };
    c.listen(0);
    let other = c.peers - 1 - c.me;
    check_eq("a peer of one channel", c.peers, 2);
    check("its own output section is writable", {
        wr(c.mine(), 0x1234);
        rd(c.mine()) == 0x1234
    });
    check("the other peer's output section is not", aborts(|| wr(c.output_of(other), 0xBAD)));
    check("the state table is not", aborts(|| wr(c.base + RECORD * other, OFF)));
    check(
        "a channel it is not a peer of is not mapped",
        aborts(|| {
            rd(0x5000_0000);
        }),
    );
    check(
        "the manager's page is not there",
        aborts(|| {
            rd(0x0A00_0000 + SLOT + STATE);
        }),
    );
    check("ringing peer 2 aborts", aborts(|| c.ring(2, 0)));
    check("ringing peer 255 aborts", aborts(|| c.ring(255, 0)));
    check("ringing with vector 200 aborts", aborts(|| c.ring(other, 200)));
    check("ringing with stray bits aborts", aborts(|| wr(c.bell + RING, 1 << 20 | other as u32)));
    check("writing ID aborts", aborts(|| wr(c.bell + ID, 0)));
    check_eq("the ring call for another channel is denied", ring_call(c.id ^ 1, 0, 0), DENIED);
    check_eq("the ring call for channel 99 is refused", ring_call(99, 0, 0), INVALID);
    check_eq("the ring call for peer 2 is refused", ring_call(c.id, 2, 0), INVALID);
    for vm in 0..3 {
        for op in 0..5 {
            if control(vm, op) != DENIED {
                check("VM control is denied to a VM that manages none", false);
            }
        }
    }
    check("VM control is denied for every VM and operation", true);
    summary()
}
