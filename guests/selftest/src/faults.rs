//! Accesses outside the VM's windows get an injected synchronous external abort; writes to a
//! read-only window get one too. The hypervisor keeps running and so do we.
use guest_rt::exception::{catch, Resume};
use guest_rt::fdt::Fdt;
use guest_rt::test::{check, check_eq};

/// An IPA no machine in machines/ maps for this guest.
const HOLE: u64 = 0x1000_0000;
/// DFSC/IFSC for a synchronous external abort, not on a table walk.
const SEA: u64 = 0x10;

pub fn run(fdt: &Fdt) {
    let load = catch(Resume::Next, || {
        // SAFETY: a deliberate read of an unmapped IPA; the abort is caught.
        let _ = unsafe { core::ptr::read_volatile(HOLE as *const u32) };
    });
    check("load outside RAM is aborted", load.is_some());
    if let Some(c) = load {
        check_eq("  as a data abort from the current EL", c.ec(), 0x25);
        check_eq("  with a synchronous external abort status", c.fsc(), SEA);
        check_eq("  with FAR = the address", c.far, HOLE);
        check("  marked as a read", !c.wnr());
    }
    let store = catch(Resume::Next, || {
        // SAFETY: a deliberate write to an unmapped IPA; the abort is caught.
        unsafe { core::ptr::write_volatile((HOLE + 8) as *mut u64, 1) };
    });
    check(
        "store outside RAM is aborted, marked as a write",
        store.is_some_and(|c| c.ec() == 0x25 && c.wnr()),
    );
    let pair = catch(Resume::Next, || {
        // SAFETY: a deliberate load pair from an unmapped IPA; the abort is caught.
        unsafe { core::arch::asm!("ldp {a}, {b}, [{p}]", a = out(reg) _, b = out(reg) _, p = in(reg) HOLE) };
    });
    check("LDP outside RAM is aborted", pair.is_some_and(|c| c.ec() == 0x25 && c.far == HOLE));
    let fetch = catch(Resume::Lr, || {
        // SAFETY: a deliberate branch to an unmapped IPA; the prefetch abort returns to LR.
        unsafe { core::arch::asm!("blr {t}", t = in(reg) HOLE, out("x30") _, clobber_abi("C")) };
    });
    check(
        "instruction fetch outside RAM is a prefetch abort",
        fetch.is_some_and(|c| c.ec() == 0x21 && c.fsc() == SEA),
    );

    // Implementation-defined system registers trap to the hypervisor (HCR_EL2.TIDCP), which
    // answers with an undefined-instruction exception (EC 0x00).
    let undef = catch(Resume::Next, || {
        // SAFETY: a deliberate read of an IMPLEMENTATION DEFINED register; the exception is caught.
        unsafe { core::arch::asm!("mrs {t}, s3_0_c15_c0_0", t = out(reg) _) };
    });
    check(
        "a trapped IMPLEMENTATION DEFINED register is an undefined instruction",
        undef.is_some_and(|c| c.ec() == 0),
    );

    // A second memory region, when the machine gives one, is read-only.
    if let Some(ro) = fdt.memory().regions().nth(1) {
        let addr = ro.starting_address as u64;
        // SAFETY: reading our own read-only RAM window.
        let v = unsafe { core::ptr::read_volatile(addr as *const u64) };
        check_eq("read-only window reads", v, 0);
        let w = catch(Resume::Next, || {
            // SAFETY: a deliberate write to the read-only window; the abort is caught.
            unsafe { core::ptr::write_volatile(addr as *mut u64, 0xDEAD) };
        });
        check(
            "write to the read-only window is aborted",
            w.is_some_and(|c| c.ec() == 0x25 && c.wnr() && c.far == addr),
        );
        // SAFETY: as above.
        check_eq("read-only window is unchanged", unsafe { core::ptr::read_volatile(addr as *const u64) }, 0);
    }
}
