//! The SBI hv implements, and its error codes for wrong arguments.
use guest_rt::hvc::{sbi, EXT_HV};
use guest_rt::test::{check, check_eq};

pub const BASE: u64 = 0x10;
pub const TIME: u64 = 0x5449_4D45;
pub const IPI: u64 = 0x0073_5049;
pub const RFENCE: u64 = 0x5246_4E43;
pub const HSM: u64 = 0x0048_534D;
pub const SRST: u64 = 0x5352_5354;
pub const DBCN: u64 = 0x4442_434E;
const NOT_SUPPORTED: i64 = -2;
const INVALID_PARAM: i64 = -3;
const INVALID_ADDRESS: i64 = -5;
const ALREADY_AVAILABLE: i64 = -6;

pub fn run() {
    check_eq("SBI spec version is 2.0", sbi(BASE, 0, 0, 0, 0), (0, 2 << 24));
    for (name, ext) in
        [("TIME", TIME), ("IPI", IPI), ("RFENCE", RFENCE), ("HSM", HSM), ("SRST", SRST), ("DBCN", DBCN)]
    {
        check(&name_probe(name), sbi(BASE, 3, ext, 0, 0) == (0, 1));
    }
    check_eq("an unknown extension probes as absent", sbi(BASE, 3, 0x1234_5678, 0, 0), (0, 0));
    check_eq("an unknown extension is NOT_SUPPORTED", sbi(0x1234_5678, 0, 0, 0, 0).0, NOT_SUPPORTED);
    check_eq("an unknown BASE function is NOT_SUPPORTED", sbi(BASE, 77, 0, 0, 0).0, NOT_SUPPORTED);
    check_eq("HSM: hart 0 is started", sbi(HSM, 2, 0, 0, 0), (0, 0));
    check_eq("HSM: hart 1 is stopped", sbi(HSM, 2, 1, 0, 0), (0, 1));
    check_eq("HSM: no hart 9", sbi(HSM, 2, 9, 0, 0).0, INVALID_PARAM);
    check_eq("HSM: start of a running hart", sbi(HSM, 0, 0, 0x8000_0000, 0).0, ALREADY_AVAILABLE);
    check_eq("HSM: start outside RAM", sbi(HSM, 0, 1, 0x10, 0).0, INVALID_ADDRESS);
    check_eq("HSM: start of no hart", sbi(HSM, 0, u64::MAX, 0x8000_0000, 0).0, INVALID_PARAM);
    check_eq("HSM: reserved suspend type", sbi(HSM, 3, 1, 0, 0).0, INVALID_PARAM);
    check_eq("IPI: a hart beyond the VM's", sbi(IPI, 0, 1, 5, 0).0, INVALID_PARAM);
    check_eq("RFENCE: fence.i on hart 0", sbi(RFENCE, 0, 1, 0, 0).0, 0);
    check_eq("SRST: reserved reset type", sbi(SRST, 0, 5, 0, 0).0, INVALID_PARAM);
    let msg = b"rvtest: through DBCN\n";
    check_eq(
        "DBCN write prints guest-physical memory",
        sbi(DBCN, 0, msg.len() as u64, msg.as_ptr() as u64, 0),
        (0, msg.len() as u64),
    );
    check_eq("DBCN write outside RAM", sbi(DBCN, 0, 4, 0x1000, 0).0, INVALID_PARAM);
    check_eq("DBCN write with base_hi set", sbi(DBCN, 0, 4, msg.as_ptr() as u64, 1).0, INVALID_PARAM);
    check_eq("hv puts of a wild pointer", sbi(EXT_HV, 2, 0x3000_0000, 8, 0).0, INVALID_PARAM);
    check_eq("hv's version call: 1.1", sbi(EXT_HV, 0, 0, 0, 0), (0, 0x1_0001));
}

fn name_probe(name: &str) -> heapless_name::Name {
    heapless_name::Name::new("probe finds ", name)
}

/// A check name built without an allocator.
mod heapless_name {
    pub struct Name {
        buf: [u8; 48],
        len: usize,
    }
    impl Name {
        pub fn new(a: &str, b: &str) -> Name {
            let mut n = Name { buf: [0; 48], len: 0 };
            for &c in a.as_bytes().iter().chain(b.as_bytes()).take(48) {
                n.buf[n.len] = c;
                n.len += 1;
            }
            n
        }
    }
    impl core::ops::Deref for Name {
        type Target = str;
        fn deref(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
        }
    }
}
