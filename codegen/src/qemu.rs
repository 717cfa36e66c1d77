//! How to boot a machine on QEMU: the command line follows from the description (machine type,
//! GIC version, CPU count, RAM size), so it cannot disagree with what hv was built for.
use crate::model::*;
use std::path::Path;

pub const QEMU: &str = "qemu-system-aarch64";

/// Arguments after the QEMU binary, booting `kernel` (the hv ELF).
pub fn args(m: &Machine, kernel: &Path) -> Vec<String> {
    let b = &m.board;
    let ram: u64 = b.ram.iter().map(|r| r.size).sum();
    vec![
        "-M".into(),
        format!(
            "{},virtualization=on,gic-version={}{}",
            b.qemu.machine,
            b.gic.version(),
            if b.mte { ",mte=on" } else { "" }
        ),
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
    ]
}
