//! Hypercall ABI and PSCI, over HVC and SMC.
use guest_rt::hvc::*;
use guest_rt::test::check_eq;

pub fn run() {
    let v = hvc(HV_VERSION, 0, 0, 0);
    check_eq("HV_VERSION reports 1.1", v[0], 0x1_0001);
    check_eq("HV_VERSION features: putc, puts, exit, nop, ring, VM control", v[1], 0x3F);
    check_eq("HV_VERSION reports vCPU 0", v[3], 0);
    check_eq("HV_NOP returns 0", hvc(HV_NOP, 1, 2, 3)[0], 0);
    check_eq("HV_PUTC returns 0", hvc(HV_PUTC, b'*' as u64, 0, 0)[0], 0);
    putc(b'\n');
    let msg = b"selftest: HV_PUTS from guest memory\n";
    check_eq("HV_PUTS returns the length", puts(msg), msg.len() as i64);
    check_eq(
        "HV_PUTS outside guest RAM is refused",
        hvc(HV_PUTS, 0x1000_0000, 16, 0)[0] as i64,
        INVALID_PARAMETERS,
    );
    check_eq(
        "HV_PUTS with an overflowing length is refused",
        hvc(HV_PUTS, msg.as_ptr() as u64, u64::MAX, 0)[0] as i64,
        INVALID_PARAMETERS,
    );
    check_eq("unknown hypercall is NOT_SUPPORTED", hvc(0xC600_00FF, 0, 0, 0)[0] as i64, NOT_SUPPORTED);
    check_eq("unknown service is NOT_SUPPORTED", hvc(0x8200_0000, 0, 0, 0)[0] as i64, NOT_SUPPORTED);
    check_eq("PSCI_VERSION over HVC is 1.1", hvc(PSCI_VERSION, 0, 0, 0)[0], 0x1_0001);
    check_eq("PSCI_VERSION over SMC is 1.1", smc(PSCI_VERSION, 0, 0, 0)[0], 0x1_0001);
    check_eq("PSCI_FEATURES(SYSTEM_OFF) is supported", hvc(PSCI_FEATURES, PSCI_SYSTEM_OFF, 0, 0)[0], 0);
    check_eq(
        "PSCI_FEATURES(unknown) is NOT_SUPPORTED",
        hvc(PSCI_FEATURES, 0x8400_00FF, 0, 0)[0] as i64,
        NOT_SUPPORTED,
    );
    check_eq(
        "PSCI CPU_ON of a vCPU the VM lacks is INVALID_PARAMETERS",
        hvc(0xC400_0003, 7, 0, 0)[0] as i64,
        INVALID_PARAMETERS,
    );
}
