//! The services a guest's firmware calls reach, whatever the calling convention: CPU on, off and
//! status, system off and reset, hv's console and exit calls. Each architecture's front end (PSCI
//! and SMCCC on AArch64, SBI on riscv64) decodes its registers and answers with its own error
//! codes; the rules (which target exists, which entry point is acceptable, how much of a string
//! is printed) are here, once.

/// What a call may ask of the rest of the hypervisor, on behalf of the calling vCPU.
pub trait Services {
    fn vcpu_index(&self) -> usize;
    fn vcpu_count(&self) -> usize;
    /// Bytes to this VM's console.
    fn console(&mut self, bytes: &[u8]);
    /// Copy guest memory at `va` into `buf`, stopping at the first byte outside the VM's RAM;
    /// returns how many bytes were copied.
    fn read_guest(&mut self, va: u64, buf: &mut [u8]) -> usize;
    /// Stop the whole VM with `status`.
    fn stop_vm(&mut self, status: u8);
    /// The guest asked for a reset: restart or stop the VM, as its `on_reset` policy says.
    fn reset_vm(&mut self);
    /// Stop the calling vCPU.
    fn stop_vcpu(&mut self);
    /// Is vCPU `i` running?
    fn vcpu_on(&self, i: usize) -> bool;
    /// Start vCPU `i` at `entry` with `context` in its first argument register.
    fn start_vcpu(&mut self, i: usize, entry: u64, context: u64) -> Result<(), StartError>;
    /// Is `ipa` inside one of the VM's RAM windows?
    fn is_ram(&self, ipa: u64) -> bool;
    /// Ring peer `peer` of channel `channel` (its number in the description) with `vector`.
    fn ring(&mut self, channel: u64, peer: u64, vector: u64) -> Result<(), CallError>;
    /// Manage VM number `vm`: `op` is a `manage::Op` code. Its state afterwards.
    fn manage(&mut self, vm: u64, op: u64) -> Result<u64, CallError>;
}

pub use crate::channel::CallError;

/// After a call: resume the guest, or not (the vCPU or VM stopped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Resume,
    Stopped,
}

/// Why a vCPU could not be started; each front end has its code for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The VM has no such vCPU.
    NoSuchVcpu,
    /// It is running already.
    AlreadyOn,
    /// The entry point is outside the VM's RAM: it could only fault.
    BadEntry,
    /// Its physical CPU did not come up.
    Failed,
}

/// Start vCPU `target` (`None`: the caller named none that can exist) at `entry`.
#[inline(never)]
pub fn cpu_on(
    svc: &mut impl Services,
    target: Option<usize>,
    entry: u64,
    context: u64,
) -> Result<(), StartError> {
    let i = target.filter(|&i| i < svc.vcpu_count()).ok_or(StartError::NoSuchVcpu)?;
    if svc.vcpu_on(i) {
        return Err(StartError::AlreadyOn);
    }
    if !svc.is_ram(entry) {
        return Err(StartError::BadEntry);
    }
    svc.start_vcpu(i, entry, context)
}

/// Is vCPU `target` running? `None` when there is no such vCPU.
pub fn cpu_status(svc: &impl Services, target: Option<usize>) -> Option<bool> {
    target.filter(|&i| i < svc.vcpu_count()).map(|i| svc.vcpu_on(i))
}

/// Longest string hv's puts call prints.
pub const PUTS_MAX: u64 = 4096;

/// Print `len` bytes of guest memory at `va` on the VM's console, through a small buffer so a
/// long string never needs more than a few hundred bytes of stack. `Some(n)`: `n` bytes printed
/// (fewer than `len` when the string runs out of the VM's RAM). `None`: a length over
/// `PUTS_MAX`, a range that wraps, or nothing readable at `va`.
#[inline(never)]
pub fn puts(svc: &mut impl Services, va: u64, len: u64) -> Option<u64> {
    if len > PUTS_MAX || va.checked_add(len).is_none() {
        return None;
    }
    let mut buf = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        let got = svc.read_guest(va + done, &mut buf[..n]);
        svc.console(&buf[..got]);
        done += got as u64;
        if got < n {
            // The string runs out of the VM's RAM: what lay inside was printed.
            return (done != 0).then_some(done);
        }
    }
    Some(len)
}

#[cfg(test)]
pub mod fake {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// Services over a flat fake memory at `mem_base`.
    #[derive(Default)]
    pub struct FakeSvc {
        pub out: Vec<u8>,
        pub mem_base: u64,
        pub mem: Vec<u8>,
        pub stopped: Option<u8>,
        pub vcpus: Vec<bool>,
        pub started: Vec<(usize, u64, u64)>,
        pub resets: usize,
        pub rings: Vec<(u64, u64)>,
    }

    impl Services for FakeSvc {
        fn vcpu_index(&self) -> usize {
            0
        }
        fn vcpu_count(&self) -> usize {
            self.vcpus.len()
        }
        fn console(&mut self, b: &[u8]) {
            self.out.extend_from_slice(b)
        }
        fn read_guest(&mut self, va: u64, buf: &mut [u8]) -> usize {
            let Some(off) = va.checked_sub(self.mem_base) else {
                return 0;
            };
            let avail = self.mem.get(off as usize..).unwrap_or(&[]);
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        }
        fn stop_vm(&mut self, s: u8) {
            self.stopped = Some(s)
        }
        fn reset_vm(&mut self) {
            self.resets += 1;
        }
        fn stop_vcpu(&mut self) {
            self.vcpus[0] = false;
        }
        fn vcpu_on(&self, i: usize) -> bool {
            self.vcpus[i]
        }
        fn start_vcpu(&mut self, i: usize, entry: u64, ctx: u64) -> Result<(), StartError> {
            self.vcpus[i] = true;
            self.started.push((i, entry, ctx));
            Ok(())
        }
        /// RAM is 0x4000_0000..0x8000_0000 in these tests.
        fn is_ram(&self, ipa: u64) -> bool {
            (0x4000_0000..0x8000_0000).contains(&ipa)
        }
        /// Channel 0 has two peers, this VM peer 0.
        fn ring(&mut self, channel: u64, peer: u64, vector: u64) -> Result<(), CallError> {
            match (channel, peer, vector) {
                (0, 1, 0..32) => {
                    self.rings.push((peer, vector));
                    Ok(())
                }
                (0, _, _) => Err(CallError::Invalid),
                _ => Err(CallError::Denied),
            }
        }
        /// This VM manages VM 1, which runs.
        fn manage(&mut self, vm: u64, op: u64) -> Result<u64, CallError> {
            match (vm, op) {
                (1, 0) => Ok(1),
                (1, 1..=4) => Err(CallError::BadState),
                (1, _) => Err(CallError::Invalid),
                _ => Err(CallError::Denied),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeSvc;
    use super::*;

    #[test]
    fn cpu_on_checks_target_state_and_entry() {
        let mut s = FakeSvc { vcpus: vec![true, false], ..Default::default() };
        assert_eq!(cpu_on(&mut s, None, 0x4000_0000, 0), Err(StartError::NoSuchVcpu));
        assert_eq!(cpu_on(&mut s, Some(2), 0x4000_0000, 0), Err(StartError::NoSuchVcpu));
        assert_eq!(cpu_on(&mut s, Some(usize::MAX), 0x4000_0000, 0), Err(StartError::NoSuchVcpu));
        assert_eq!(cpu_on(&mut s, Some(0), 0x4000_0000, 0), Err(StartError::AlreadyOn));
        assert_eq!(cpu_on(&mut s, Some(1), 0x10, 0), Err(StartError::BadEntry));
        assert!(s.started.is_empty(), "nothing starts on a refusal");
        assert_eq!(cpu_on(&mut s, Some(1), 0x4000_1000, 7), Ok(()));
        assert_eq!(s.started, [(1, 0x4000_1000, 7)]);
        assert_eq!(cpu_status(&s, Some(1)), Some(true));
        assert_eq!(cpu_status(&s, Some(2)), None);
        assert_eq!(cpu_status(&s, None), None);
    }

    #[test]
    fn puts_prints_what_lies_in_ram() {
        let mut s = FakeSvc { mem_base: 0x1000, mem: b"hello world".repeat(100), ..Default::default() };
        assert_eq!(puts(&mut s, 0x1000, 5), Some(5));
        assert_eq!(s.out, b"hello");
        assert_eq!(puts(&mut s, 0x1000, 1100), Some(1100));
        assert_eq!(puts(&mut s, 0x10, 4), None);
        assert_eq!(puts(&mut s, 0x1000, u64::MAX), None);
        assert_eq!(puts(&mut s, u64::MAX - 1, 4), None);
        assert_eq!(puts(&mut s, 0x1000, PUTS_MAX + 1), None);
        // Partly outside: what lay inside RAM is printed, the count says how much.
        let before = s.out.len();
        assert_eq!(puts(&mut s, 0x1000 + 800, 600), Some(300));
        assert_eq!(s.out.len() - before, 300);
    }
}
