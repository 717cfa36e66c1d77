//! The hypervisor image: everything lives in the library; this binary only links it with the
//! generated linker script (entry `_start` in arch/<isa>/boot.rs).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
use hv as _;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("hv runs on bare metal: build it for its machine's target (make build MACHINE=…)");
}
