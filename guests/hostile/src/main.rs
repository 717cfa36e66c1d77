//! A hostile guest with two vCPUs, run beside a well-behaved VM. It attacks hv from inside:
//! garbage in every call range, wild and unaligned addresses, accesses the syndrome cannot
//! describe (pairs, exclusives, atomics, SIMD, DC ZVA) on emulated devices, trapped and
//! UNDEFINED system registers, its own stage-1 tables pointing into devices and holes, SGI
//! storms, and CPU_ON/CPU_OFF cycling, while its second vCPU floods hv concurrently. Each attack
//! checks for the architectural answer; the VM must finish, and so must the one beside it.
#![no_std]
#![no_main]
// `aborts!` wraps the asm! operands its caller names in an unsafe block: that is its purpose.
#![allow(clippy::macro_metavars_in_unsafe)]

mod calls;
mod cpus;
mod memory;
mod stage1;
mod sysregs;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use guest_rt::exception::{catch, Caught, Resume};
use guest_rt::println;
use guest_rt::test::{check, check_eq};

guest_rt::entry!(main);

/// The virtual PL011 the description gives this VM.
pub const UART: u64 = 0x0900_0000;
/// A passthrough device page with nothing behind it (QEMU's empty platform bus).
pub const HOLE_DEV: u64 = 0x0C00_0000;
/// An IPA nothing is mapped at.
pub const HOLE: u64 = 0x1000_0000;

/// vCPU 1's stack; its chaos loop runs until `STOP`.
static mut STACK: [u8; 16384] = [0; 16384];
static STOP: AtomicBool = AtomicBool::new(false);
static CHAOS_ROUNDS: AtomicU64 = AtomicU64::new(0);

/// Run `f`, which must take a synchronous exception; resume after the faulting instruction.
pub fn faults(f: impl FnOnce()) -> Option<Caught> {
    catch(Resume::Next, f)
}

/// Check that the instructions in `asm!` arguments take an injected data abort (EC 0x25).
#[macro_export]
macro_rules! aborts {
    ($name:expr, $($asm:tt)*) => {
        guest_rt::test::check(
            $name,
            $crate::faults(|| {
                // SAFETY: a deliberate access hv must refuse; the abort is caught and skipped.
                unsafe { core::arch::asm!($($asm)*) }
            })
            .is_some_and(|c| c.ec() == 0x25),
        )
    };
}

/// A small deterministic generator for garbage.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 ^ (self.0 >> 29)
    }
}

/// vCPU 1: hammer hv concurrently with vCPU 0's attacks (SGIs at vCPU 0, which never takes
/// them; garbage calls; accesses the syndrome cannot describe), never faulting itself.
fn chaos() {
    let mut g = Lcg(0x1234);
    while !STOP.load(Ordering::SeqCst) {
        guest_rt::gic::send_sgi((g.u64() % 16) as u32, 1);
        calls::harmless_garbage(&mut g);
        memory::pair_read(UART + 0x38);
        CHAOS_ROUNDS.fetch_add(1, Ordering::SeqCst);
    }
}

fn main(fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let ram = fdt
        .as_ref()
        .and_then(|f| f.memory().regions().next())
        .map(|r| (r.starting_address as u64, r.size.unwrap_or(0) as u64))
        .unwrap_or((0x4000_0000, 0x0100_0000));
    println!(
        "hostile: GICv{}, RAM {:#x}+{:#x}; vCPU 1 floods hv while vCPU 0 attacks",
        guest_rt::gic::version(),
        ram.0,
        ram.1
    );
    // SAFETY: the stack is handed to vCPU 1 once; this vCPU never touches it again.
    let stack = unsafe { &mut *core::ptr::addr_of_mut!(STACK) };
    check_eq("vCPU 1 starts its flood", guest_rt::smp::start(1, stack, chaos), 0);

    calls::run();
    memory::run(ram);
    STOP.store(true, Ordering::SeqCst);
    check("vCPU 1 turns itself off when asked", cpus::wait_off(1));
    check("vCPU 1 flooded hv all along", CHAOS_ROUNDS.load(Ordering::SeqCst) > 100);

    sysregs::run();
    stage1::run(ram);
    cpus::run(ram);
    check_eq(
        "hv still answers HV_VERSION",
        guest_rt::hvc::hvc(guest_rt::hvc::HV_VERSION, 0, 0, 0)[0],
        0x1_0001,
    );
    guest_rt::test::summary()
}
