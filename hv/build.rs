//! Generates the machine: reads $HV_MACHINE (default machines/qemu-virt.ron), builds the guests
//! it names, and writes machine.rs, the linker script, DTBs and the report into OUT_DIR. Any
//! problem with the description fails the build here, with file:line:col diagnostics.
use codegen::guests::CargoGuests;
use std::path::{Path, PathBuf};

const DEFAULT_MACHINE: &str = "machines/qemu-virt.ron";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("hv/ lives in the workspace root").to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=HV_MACHINE");
    let ron = std::env::var("HV_MACHINE").unwrap_or_else(|_| DEFAULT_MACHINE.into());
    // Show paths under the workspace relative to it, as users write them.
    let shown =
        Path::new(&ron).strip_prefix(&root).map(|p| p.display().to_string()).unwrap_or_else(|_| ron.clone());
    println!("cargo:rerun-if-changed={}", root.join(&shown).display());
    println!("cargo:rerun-if-changed={}", root.join("devices/src").display());

    let mut images = CargoGuests::new(&root, &out);
    let mut req = codegen::Request {
        ron: shown,
        root: root.clone(),
        devices_dir: root.join("devices/src"),
        out_dir: out.clone(),
        images: &mut images,
    };
    let generated = match codegen::generate(&mut req) {
        Ok(g) => g,
        Err(f) => {
            eprint!("{}", f.rendered);
            std::process::exit(1);
        }
    };
    // hv for the target must be built for the machine's architecture (make picks the target).
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        let (want, target) = match generated.machine.board.arch {
            codegen::model::Arch::Aarch64 => ("aarch64", "aarch64-unknown-none-softfloat"),
            codegen::model::Arch::Riscv64 => ("riscv64", "riscv64imac-unknown-none-elf"),
        };
        if target_arch != want {
            eprintln!(
                "error: {} describes a {want} board, but hv is being built for {target_arch}: build with --target {target} (make build MACHINE=… does)",
                generated.machine.source
            );
            std::process::exit(1);
        }
    }
    for input in &images.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    if let Err(e) = codegen::write(&generated, &out) {
        eprintln!("error: cannot write generated files to {}: {e}", out.display());
        std::process::exit(1);
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", out.join("link.ld").display());
    }
}
