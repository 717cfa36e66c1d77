//! How to boot a machine on QEMU: the command line follows from the description (machine type,
//! GIC version, CPU count, RAM size), so it cannot disagree with what hv was built for.
use crate::model::*;
use std::path::Path;

/// The QEMU binary for a board, and the Debian package that has it.
pub fn qemu(b: &Board) -> (&'static str, &'static str) {
    match b.arch {
        Arch::Aarch64 => ("qemu-system-aarch64", "qemu-system-arm"),
        Arch::Riscv64 => ("qemu-system-riscv64", "qemu-system-misc"),
    }
}

/// Arguments after the QEMU binary, booting `kernel` (the hv ELF).
pub fn args(m: &Machine, kernel: &Path) -> Vec<String> {
    let b = &m.board;
    let ram: u64 = b.ram.iter().map(|r| r.size).sum();
    let machine = match &b.platform {
        // EL2 at entry on any Arm board QEMU has; virt alone takes its GIC version and memory
        // tagging as options (the description's, so they cannot disagree with it).
        Platform::Aarch64 { gic, .. } if b.qemu.machine == "virt" => format!(
            "{},virtualization=on,gic-version={}{}",
            b.qemu.machine,
            gic.version(),
            if b.mte { ",mte=on" } else { "" }
        ),
        Platform::Aarch64 { .. } => format!("{},virtualization=on", b.qemu.machine),
        // QEMU's own OpenSBI (`-bios default`) is the M-mode firmware; hv starts in HS-mode.
        Platform::Riscv64 { .. } => b.qemu.machine.clone(),
    };
    let mut args = vec!["-M".into(), machine];
    if b.arch == Arch::Riscv64 {
        args.extend(["-bios".into(), "default".into()]);
    }
    args.extend([
        "-cpu".into(),
        b.qemu.cpu.clone(),
        "-smp".into(),
        b.cpus.to_string(),
        "-m".into(),
        format!("{}M", ram >> 20),
        // The console on stdio, with no QEMU monitor or escape key in the way: Ctrl-A belongs
        // to hv's console (input switching) and Ctrl-C to the guest.
        "-display".into(),
        "none".into(),
        "-monitor".into(),
        "none".into(),
        "-chardev".into(),
        "stdio,id=console,signal=off".into(),
        "-serial".into(),
        "chardev:console".into(),
        "-no-reboot".into(),
        "-kernel".into(),
        kernel.display().to_string(),
    ]);
    args
}
