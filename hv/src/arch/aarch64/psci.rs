//! PSCI 1.1 for guests, a front end onto hv's services: what a VM made of pinned vCPUs needs
//! (version, features, CPU_ON/OFF, AFFINITY_INFO, SYSTEM_OFF/RESET). Calls are answered by hv;
//! none reach the firmware.
use super::regs::SmcccRegs;
use crate::services::{self, Outcome, Services, StartError};
use smccc::psci::error::{ALREADY_ON, INTERNAL_FAILURE, INVALID_ADDRESS, INVALID_PARAMETERS, NOT_SUPPORTED};
use smccc::psci::*;

pub const VERSION_1_1: u64 = 0x1_0001;

/// Calls we implement; PSCI_FEATURES answers from this list.
const SUPPORTED: [u32; 10] = [
    PSCI_VERSION,
    PSCI_CPU_SUSPEND_64,
    PSCI_CPU_OFF,
    PSCI_CPU_ON_64,
    PSCI_AFFINITY_INFO_64,
    PSCI_MIGRATE_INFO_TYPE,
    PSCI_SYSTEM_OFF,
    PSCI_SYSTEM_RESET,
    PSCI_FEATURES,
    PSCI_CPU_ON_32,
];

/// vCPU index from an MPIDR as the DTB gives it (Aff0 = index, higher levels zero). Bits outside
/// the affinity fields must be zero (PSCI passes only those): a garbage target is no vCPU, not
/// an alias of one.
fn vcpu_of(mpidr: u64) -> Option<usize> {
    usize::try_from(mpidr).ok()
}

/// PSCI's code for each reason a CPU_ON fails.
fn start_code(e: StartError) -> i64 {
    (match e {
        StartError::NoSuchVcpu => INVALID_PARAMETERS,
        StartError::AlreadyOn => ALREADY_ON,
        StartError::BadEntry => INVALID_ADDRESS,
        StartError::Failed => INTERNAL_FAILURE,
    }) as i64
}

pub fn dispatch(fid: u32, regs: &mut SmcccRegs, svc: &mut impl Services) -> Outcome {
    let set = |regs: &mut SmcccRegs, v: i64| {
        regs[0] = v as u64;
        Outcome::Resume
    };
    match fid {
        PSCI_VERSION => set(regs, VERSION_1_1 as i64),
        PSCI_FEATURES => {
            let q = regs[1] as u32;
            // SMCCC_VERSION too: that is how a guest learns SMCCC 1.1 is there (SMCCC §7.1).
            let known = SUPPORTED.contains(&q)
                || matches!(q, PSCI_CPU_SUSPEND_32 | PSCI_AFFINITY_INFO_32 | smccc::arch::SMCCC_VERSION);
            set(regs, if known { 0 } else { NOT_SUPPORTED as i64 })
        }
        // Standby only: returning is a valid wake-up.
        PSCI_CPU_SUSPEND_32 | PSCI_CPU_SUSPEND_64 => set(regs, 0),
        PSCI_MIGRATE_INFO_TYPE => set(regs, 2), // no Trusted OS to migrate
        PSCI_CPU_ON_32 | PSCI_CPU_ON_64 => {
            let r = services::cpu_on(svc, vcpu_of(regs[1]), regs[2], regs[3]).map_or_else(start_code, |()| 0);
            set(regs, r)
        }
        // Lowest affinity level only: each vCPU is its own node.
        PSCI_AFFINITY_INFO_32 | PSCI_AFFINITY_INFO_64 => {
            match (services::cpu_status(svc, vcpu_of(regs[1])), regs[2]) {
                (Some(on), 0) => set(regs, if on { 0 } else { 1 }),
                _ => set(regs, INVALID_PARAMETERS as i64),
            }
        }
        PSCI_CPU_OFF => {
            svc.stop_vcpu();
            Outcome::Stopped
        }
        PSCI_SYSTEM_OFF => {
            svc.stop_vm(0);
            Outcome::Stopped
        }
        PSCI_SYSTEM_RESET => {
            svc.reset_vm();
            Outcome::Stopped
        }
        _ => set(regs, NOT_SUPPORTED as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::super::calls::dispatch as call;
    use super::*;
    use crate::services::fake::FakeSvc;

    fn run(svc: &mut FakeSvc, x: [u64; 4]) -> (Outcome, i64) {
        let mut r = x;
        let o = call(&mut r, svc);
        (o, r[0] as i64)
    }

    #[test]
    fn queries() {
        let mut s = FakeSvc { vcpus: vec![true, false], ..Default::default() };
        assert_eq!(run(&mut s, [PSCI_VERSION as u64, 0, 0, 0]).1, 0x1_0001);
        assert_eq!(run(&mut s, [PSCI_FEATURES as u64, PSCI_SYSTEM_OFF as u64, 0, 0]).1, 0);
        assert_eq!(run(&mut s, [PSCI_FEATURES as u64, 0x8400_00FF, 0, 0]).1, -1);
        assert_eq!(run(&mut s, [PSCI_FEATURES as u64, 0x8000_0000, 0, 0]).1, 0, "SMCCC_VERSION is there");
        assert_eq!(run(&mut s, [PSCI_MIGRATE_INFO_TYPE as u64, 0, 0, 0]).1, 2);
        assert_eq!(run(&mut s, [PSCI_AFFINITY_INFO_64 as u64, 1, 0, 0]).1, 1);
        assert_eq!(run(&mut s, [PSCI_AFFINITY_INFO_64 as u64, 0, 0, 0]).1, 0);
        assert_eq!(run(&mut s, [0x8400_001F, 0, 0, 0]).1, -1);
    }

    #[test]
    fn cpu_on_validates_target() {
        let mut s = FakeSvc { vcpus: vec![true, false], ..Default::default() };
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 7, 0x4000_0000, 0]).1, -2);
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 0, 0x4000_0000, 0]).1, -4);
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 1, 0x4000_1000, 42]).1, 0);
        assert_eq!(s.started, [(1, 0x4000_1000, 42)]);
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 0x100, 0, 0]).1, -2);
        // Bits outside the affinity fields make no vCPU, not an alias of vCPU 1.
        s.vcpus[1] = false;
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 1 << 24 | 1, 0x4000_1000, 0]).1, -2);
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 1 << 63 | 1, 0x4000_1000, 0]).1, -2);
        assert_eq!(run(&mut s, [PSCI_AFFINITY_INFO_64 as u64, 1 << 40 | 1, 0, 0]).1, -2);
        // An entry point outside RAM is refused, and the vCPU stays off.
        assert_eq!(run(&mut s, [PSCI_CPU_ON_64 as u64, 1, 0x10, 0]).1, -9);
        assert!(!s.vcpus[1]);
        // SMC32: the upper halves of the arguments are ignored.
        assert_eq!(
            run(&mut s, [PSCI_CPU_ON_32 as u64, 0xDEAD_0000_0000_0001, 0xFFFF_FFFF_4000_2000, 7]).1,
            0
        );
        assert_eq!(s.started.last(), Some(&(1, 0x4000_2000, 7)));
    }

    #[test]
    fn system_off_stops_and_reset_resets() {
        let mut s = FakeSvc::default();
        assert_eq!(run(&mut s, [PSCI_SYSTEM_OFF as u64, 0, 0, 0]).0, Outcome::Stopped);
        assert_eq!(s.stopped, Some(0));
        let mut s = FakeSvc::default();
        assert_eq!(run(&mut s, [PSCI_SYSTEM_RESET as u64, 0, 0, 0]).0, Outcome::Stopped);
        assert_eq!((s.stopped, s.resets), (None, 1), "a reset is not a clean stop");
    }
}
