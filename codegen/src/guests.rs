//! Builds guest crates (guests/<name>) for a link base, with a nested cargo.
//!
//! Each VM's image is linked at its own RAM base, which only codegen knows, so guests cannot be
//! ordinary dependencies. The nested cargo gets a clean environment (the outer build's CARGO_*
//! and RUSTFLAGS would otherwise leak in) and its own target directory per link base.
use crate::images::ImageSource;
use crate::model::Arch;
use hv_types::Ipa;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target guest crates are built for: FP/SIMD allowed (guests own their FP state), and on
/// riscv64 the full `gc` ISA.
pub fn guest_target(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64-unknown-none",
        Arch::Riscv64 => "riscv64gc-unknown-none-elf",
    }
}

pub struct CargoGuests {
    pub root: PathBuf,
    pub out_dir: PathBuf,
    /// Files and directories the result depends on (for `rerun-if-changed`).
    pub inputs: Vec<PathBuf>,
    /// The guest ELFs built, with their symbols (for a debugger: `hvgen gdb`).
    pub elfs: Vec<PathBuf>,
}

impl CargoGuests {
    pub fn new(root: &Path, out_dir: &Path) -> Self {
        CargoGuests {
            root: root.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            inputs: Vec::new(),
            elfs: Vec::new(),
        }
    }

    fn available(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root.join("guests"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("src/main.rs").exists())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }
}

impl ImageSource for CargoGuests {
    fn guest_elf(&mut self, name: &str, base: Ipa, arch: Arch) -> Result<PathBuf, String> {
        let target = guest_target(arch);
        let guests = self.root.join("guests");
        if !guests.join(name).join("src/main.rs").exists() {
            return Err(format!(
                "no guest crate `{name}` in guests/ (there are: {})",
                self.available().join(", ")
            ));
        }
        for p in [guests.join("Cargo.toml"), guests.join("Cargo.lock"), guests.join(name), guests.join("rt")]
        {
            if !self.inputs.contains(&p) {
                self.inputs.push(p);
            }
        }
        let target_dir = self.root.join("target/guests").join(format!("base-{:x}", base.0));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        for (k, _) in std::env::vars() {
            let keep = k == "CARGO_HOME" || k == "CARGO_NET_OFFLINE";
            if (k.starts_with("CARGO") && !keep)
                || k.starts_with("RUSTC")
                || k.starts_with("RUSTFLAGS")
                || k == "RUSTDOCFLAGS"
            {
                cmd.env_remove(&k);
            }
        }
        let out = cmd
            .current_dir(&guests)
            .args(["build", "--release", "--locked", "-p", name, "--target", target, "--target-dir"])
            .arg(&target_dir)
            .env("HV_GUEST_BASE", format!("{:#x}", base.0))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run cargo to build guest `{name}`: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(25).collect();
            return Err(format!(
                "building guest `{name}` failed:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        let elf = target_dir.join(target).join("release").join(name);
        if !self.elfs.contains(&elf) {
            self.elfs.push(elf.clone());
        }
        Ok(elf)
    }

    fn file(&mut self, path: &str) -> PathBuf {
        let p = self.root.join(path);
        self.inputs.push(p.clone());
        p
    }

    fn out_dir(&self) -> PathBuf {
        self.out_dir.clone()
    }
}
