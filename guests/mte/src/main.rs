//! Memory tagging (MTE) from inside a VM, on a board whose RAM holds allocation tags: the ID
//! registers advertise it, tags store and load, and tag-check faults reach the guest as on bare
//! metal in each mode: synchronous (a data abort with DFSC 0x11), asynchronous (TFSR_EL1) and,
//! with FEAT_MTE3, asymmetric (loads synchronous, stores asynchronous). A granule whose tag is
//! right is never faulted. Ends with `N passed, N failed`.
#![no_std]
#![no_main]

use guest_rt::exception::{catch, Resume};
use guest_rt::mmu::{self, Table, DEVICE_BLOCK, NORMAL_BLOCK, TABLE};
use guest_rt::test::{check, check_eq};

guest_rt::entry!(main);

static mut L1: Table = Table([0; 512]);
static mut L2: Table = Table([0; 512]);

/// A 2 MiB block of the VM's RAM mapped Tagged Normal (MAIR attribute 2 = 0xF0).
const BUF: u64 = 0x4080_0000;
const TAGGED_BLOCK: u64 = 0b01 | (2 << 2) | (3 << 8) | (1 << 10);
/// MAIR_EL1: attribute 0 Device-nGnRnE, 1 Normal write-back, 2 Tagged Normal write-back.
const MAIR: u64 = 0xF0_FF_00;
/// SCTLR_EL1.ATA (EL1 may access tags) and TCF (tag-check faults at EL1, bits 41:40).
const SCTLR_ATA: u64 = 1 << 43;
const TCF_SHIFT: u64 = 40;
const TCF_SYNC: u64 = 1;
const TCF_ASYNC: u64 = 2;
const TCF_ASYMMETRIC: u64 = 3;
/// ESR: EC 0x25 (data abort, same EL), DFSC 0x11 (synchronous tag-check fault).
const EC_DABT_SAME: u64 = 0x25;
const DFSC_TAG_CHECK: u64 = 0x11;

fn pfr1() -> u64 {
    let v: u64;
    // SAFETY: reads an ID register.
    unsafe { core::arch::asm!("mrs {}, id_aa64pfr1_el1", out(reg) v) };
    v
}

/// Identity map: device space, then the VM's RAM as Normal except the Tagged block at `BUF`;
/// MMU on, top-byte-ignore for TTBR0 (pointers carry their tag in bits 59:56).
fn mmu_on() {
    // SAFETY: this is the VM's only vCPU; the tables are ours and map everything this code and
    // the runtime touch at its own address.
    unsafe {
        let (l1, l2) = (&raw mut L1, &raw mut L2);
        (*l1).0[0] = DEVICE_BLOCK;
        (*l1).0[1] = l2 as u64 | TABLE;
        for (i, e) in (*l2).0.iter_mut().enumerate() {
            let pa = (1 << 30) + ((i as u64) << 21);
            *e = pa | if pa == BUF { TAGGED_BLOCK } else { NORMAL_BLOCK };
        }
        mmu::switch(l1 as u64, true);
        core::arch::asm!(
            "msr mair_el1, {mair}",
            "mrs {t}, tcr_el1",
            "orr {t}, {t}, #(1 << 37)",
            "msr tcr_el1, {t}",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            mair = in(reg) MAIR,
            t = out(reg) _,
        );
    }
}

/// EL1 tag access on, tag-check faults in `tcf` mode (0: none).
fn set_mode(tcf: u64) {
    // SAFETY: changes only how EL1 accesses to Tagged memory are checked.
    unsafe {
        core::arch::asm!(
            "mrs {t}, sctlr_el1",
            "bic {t}, {t}, {mask}",
            "orr {t}, {t}, {v}",
            "msr sctlr_el1, {t}",
            "isb",
            t = out(reg) _,
            mask = in(reg) 3u64 << TCF_SHIFT,
            v = in(reg) SCTLR_ATA | (tcf << TCF_SHIFT),
        )
    };
}

fn tagged(tag: u64) -> u64 {
    BUF | (tag << 56)
}

/// Set the allocation tag of the granule at `BUF` to the pointer's.
fn stg(p: u64) {
    // SAFETY: stores a tag for a granule of our own Tagged buffer.
    unsafe { core::arch::asm!(".arch_extension memtag", "stg {p}, [{p}]", p = in(reg) p) };
}

/// The allocation tag of the granule at `BUF`.
fn ldg() -> u64 {
    let mut p = BUF;
    // SAFETY: loads a tag from our own Tagged buffer.
    unsafe { core::arch::asm!(".arch_extension memtag", "ldg {p}, [{p}]", p = inout(reg) p) };
    (p >> 56) & 0xF
}

fn store(p: u64) {
    // SAFETY: a store into our own buffer, through a pointer whose tag may be wrong; a tag
    // check fault, if any, is caught by the caller.
    unsafe { core::arch::asm!("str {v:w}, [{p}]", p = in(reg) p, v = in(reg) 0x5A5Au32) };
}

fn load(p: u64) {
    // SAFETY: as for `store`, a load.
    unsafe { core::arch::asm!("ldr {v:w}, [{p}]", p = in(reg) p, v = out(reg) _) };
}

/// TFSR_EL1.TF0: an asynchronous tag-check fault on a TTBR0 address was recorded (read after a
/// DSB, as the architecture asks); cleared for the next check.
fn async_fault_recorded() -> bool {
    let v: u64;
    // SAFETY: reads and clears this vCPU's TFSR_EL1 (S3_0_C5_C6_0).
    unsafe {
        core::arch::asm!("dsb sy", "isb", "mrs {v}, s3_0_c5_c6_0", "msr s3_0_c5_c6_0, xzr", "isb", v = out(reg) v)
    };
    v & 1 != 0
}

fn is_tag_fault(c: Option<guest_rt::exception::Caught>) -> bool {
    c.is_some_and(|c| c.ec() == EC_DABT_SAME && c.fsc() == DFSC_TAG_CHECK && c.far & !(0xFF << 56) == BUF)
}

fn main(_fdt: Option<guest_rt::fdt::Fdt<'static>>) -> u8 {
    let level = (pfr1() >> 8) & 0xF;
    guest_rt::println!("mte: ID_AA64PFR1_EL1.MTE = {level}");
    check("memory tagging with tag storage is advertised (MTE >= 2)", level >= 2);
    if level < 2 {
        return guest_rt::test::summary();
    }
    mmu_on();
    set_mode(0);
    stg(tagged(5));
    check_eq("a stored allocation tag loads back (STG, LDG)", ldg(), 5);
    async_fault_recorded();

    set_mode(TCF_SYNC);
    check("synchronous: the right tag passes", catch(Resume::Next, || store(tagged(5))).is_none());
    check(
        "synchronous: a wrong tag on a store is a tag-check fault",
        is_tag_fault(catch(Resume::Next, || store(tagged(3)))),
    );
    check(
        "synchronous: a wrong tag on a load is a tag-check fault",
        is_tag_fault(catch(Resume::Next, || load(tagged(3)))),
    );

    set_mode(TCF_ASYNC);
    async_fault_recorded();
    let c = catch(Resume::Next, || store(tagged(3)));
    check("asynchronous: a wrong tag takes no exception", c.is_none());
    check("asynchronous: and is recorded in TFSR_EL1", async_fault_recorded());
    store(tagged(5));
    check("asynchronous: the right tag records nothing", !async_fault_recorded());

    if level >= 3 {
        set_mode(TCF_ASYMMETRIC);
        check(
            "asymmetric: a wrong-tag load faults at once",
            is_tag_fault(catch(Resume::Next, || load(tagged(3)))),
        );
        let c = catch(Resume::Next, || store(tagged(3)));
        check("asymmetric: a wrong-tag store is recorded instead", c.is_none() && async_fault_recorded());
    } else {
        guest_rt::println!("mte: no FEAT_MTE3, asymmetric mode not checked");
    }
    set_mode(0);
    guest_rt::test::summary()
}
