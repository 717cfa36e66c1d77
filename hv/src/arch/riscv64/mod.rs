//! riscv64 in HS-mode (the H extension), under SBI firmware (OpenSBI on QEMU). The pure parts
//! (the load/store decoder, the SBI front end, the virtual PLIC) build everywhere and are tested on the host; the
//! rest touches the hart and builds only for the target.
pub mod insn;
pub mod sbi;
pub mod vplic;

// The hardware: built for the target only.
#[cfg(target_arch = "riscv64")]
pub mod boot;
#[cfg(target_arch = "riscv64")]
pub mod csr;
#[cfg(target_arch = "riscv64")]
pub mod exit;
#[cfg(target_arch = "riscv64")]
pub mod firmware;
#[cfg(target_arch = "riscv64")]
pub mod guest;
#[cfg(target_arch = "riscv64")]
pub mod irq;
#[cfg(target_arch = "riscv64")]
pub mod mmio_exit;
#[cfg(target_arch = "riscv64")]
pub mod pcpu;
#[cfg(target_arch = "riscv64")]
pub mod platform;
#[cfg(target_arch = "riscv64")]
pub mod plic;
#[cfg(target_arch = "riscv64")]
pub mod regs;
#[cfg(target_arch = "riscv64")]
pub mod run;
#[cfg(target_arch = "riscv64")]
pub mod trap;
#[cfg(target_arch = "riscv64")]
pub mod vcpu;
#[cfg(target_arch = "riscv64")]
pub mod vms;
#[cfg(target_arch = "riscv64")]
pub mod vplic_host;
