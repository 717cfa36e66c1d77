//! Channels and VM management from bare-metal guests (docs/channels.md), in three roles the
//! kernel command line picks (`role=…`, machines/test-channels.ron and
//! machines/qemu-virt-channels.ron):
//! - `manager`: messages to its peer and back, before and after pausing, resuming and
//!   restarting it through its management page and hv's call, then stops it; and everything a
//!   peer must not do with its channel.
//! - `echo`: answers each ring from peer 0 with `echo(boot N): <its message>` in its own output
//!   section, N being how many times it restarted; a message `bye` ends it with its summary.
//! - `hostile`: a peer of another channel that tries to reach what it was not given.
//! - `bench-ping`, `bench-pong`: `make bench`'s doorbell round trip and copy (bench.rs).
#![no_std]
#![no_main]

#[cfg_attr(target_arch = "aarch64", path = "arch/aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "arch/riscv64.rs")]
mod arch;
#[cfg(target_arch = "aarch64")]
mod bench;
mod channel;
mod roles;

use guest_rt::fdt::Fdt;

guest_rt::entry!(main);

fn main(fdt: Option<Fdt<'static>>) -> u8 {
    let Some(fdt) = fdt else {
        guest_rt::println!("chan: no device tree");
        return 1;
    };
    let chans = channel::find(&fdt);
    arch::init(channel::on_irq);
    let role = fdt.chosen().bootargs().unwrap_or("");
    let manager = fdt
        .all_nodes()
        .find(|n| n.compatible().is_some_and(|c| c.all().any(|s| s == "hv,vm-manager")))
        .and_then(|n| n.reg().and_then(|mut r| r.next()))
        .map(|r| r.starting_address as usize);
    match role {
        "role=manager" => roles::manager(&chans, manager),
        "role=echo" => roles::echo(&chans),
        "role=hostile" => roles::hostile(&chans),
        #[cfg(target_arch = "aarch64")]
        "role=bench-ping" => chans[0].as_ref().map_or(1, bench::ping),
        #[cfg(target_arch = "aarch64")]
        "role=bench-pong" => chans[0].as_ref().map_or(1, bench::pong),
        _ => {
            guest_rt::println!("chan: unknown role `{role}`");
            1
        }
    }
}
