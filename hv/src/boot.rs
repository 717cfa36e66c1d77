//! The machine comes up, whatever the ISA: after the architecture set up hv on the boot CPU,
//! the channels' regions are cleared, console input starts and every VM powers on.
use crate::arch::Arch;
use crate::hv_println;
use crate::machine::VMS;

/// The machine is up (the boot CPU, once): console input starts, and every VM powers on.
pub fn boot<A: Arch>() {
    crate::channel::init::<A>();
    crate::console_in::init::<A>();
    for v in &VMS {
        if crate::lifecycle::start::<A>(v.id).is_err() {
            hv_println!("hv: cannot start vm `{}`", v.name);
        }
    }
}
