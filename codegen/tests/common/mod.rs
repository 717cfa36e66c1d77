//! Test support: run codegen on a fixture with fake guest images (tiny ELFs written here), so
//! fixture tests need no cross build.
#![allow(dead_code)]
use codegen::images::ImageSource;
use hv_types::Ipa;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Guests: every crate in guests/ (as a few KiB), and `big` (32 MiB running size).
pub struct FakeGuests {
    pub dir: PathBuf,
}

/// A minimal ELF64 for AArch64 with one PT_LOAD segment at `base`.
pub fn fake_elf(base: u64, filesz: usize, memsz: u64) -> Vec<u8> {
    let mut v = vec![0u8; 120];
    v[..8].copy_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0]);
    let mut put = |off: usize, bytes: &[u8]| v[off..off + bytes.len()].copy_from_slice(bytes);
    put(16, &2u16.to_le_bytes()); // ET_EXEC
    put(18, &183u16.to_le_bytes()); // EM_AARCH64
    put(20, &1u32.to_le_bytes());
    put(24, &base.to_le_bytes()); // e_entry
    put(32, &64u64.to_le_bytes()); // e_phoff
    put(52, &64u16.to_le_bytes());
    put(54, &56u16.to_le_bytes());
    put(56, &1u16.to_le_bytes()); // e_phnum
    put(64, &1u32.to_le_bytes()); // PT_LOAD
    put(68, &5u32.to_le_bytes());
    put(72, &120u64.to_le_bytes()); // p_offset
    put(80, &base.to_le_bytes());
    put(88, &base.to_le_bytes());
    put(96, &(filesz as u64).to_le_bytes());
    put(104, &memsz.to_le_bytes());
    put(112, &8u64.to_le_bytes());
    v.extend((0..filesz).map(|i| i as u8));
    v
}

impl ImageSource for FakeGuests {
    fn guest_elf(&mut self, name: &str, base: Ipa, _arch: codegen::model::Arch) -> Result<PathBuf, String> {
        let real = root().join("guests").join(name).join("src/main.rs").exists();
        let (filesz, memsz) = match name {
            "big" => (0x1000, 0x200_0000),
            _ if real => (0x1800, 0x12000),
            _ => return Err(format!("no guest crate `{name}` in guests/ (or the test-only `big`)")),
        };
        let p = self.dir.join(format!("{name}-{:x}.elf", base.0));
        std::fs::write(&p, fake_elf(base.0, filesz, memsz)).map_err(|e| e.to_string())?;
        Ok(p)
    }
    /// A file the description names. The real guests' files (guests/linux/fetch) may not be
    /// fetched yet: stand-ins of their shape take their place (an arm64 or RISC-V Image header
    /// with Debian's running size, a small initrd and firmware).
    fn file(&mut self, path: &str) -> PathBuf {
        let real = root().join(path);
        let riscv = path.starts_with("guests/linux/out-riscv64/");
        if real.exists() || !(path.starts_with("guests/linux/out/") || riscv) {
            return real;
        }
        let fake = self.dir.join(path.replace('/', "_"));
        let bytes = if path.ends_with("Image") {
            let mut h = vec![0u8; 0x1000];
            let size: u64 = if riscv { 0x01e6_c000 } else { 0x0201_0000 };
            h[16..24].copy_from_slice(&size.to_le_bytes()); // image_size
            h[56..60].copy_from_slice(if riscv { b"RSC\x05" } else { b"ARM\x64" });
            h
        } else {
            vec![0x5A; 0x2000]
        };
        std::fs::write(&fake, bytes).unwrap();
        fake
    }
    fn out_dir(&self) -> PathBuf {
        self.dir.clone()
    }
}

/// Run codegen on `ron` (relative to the workspace root).
pub fn generate(ron: &str) -> Result<codegen::Generated, codegen::Failure> {
    let dir = std::env::temp_dir().join(format!(
        "hv-codegen-test-{}-{}",
        std::process::id(),
        ron.replace('/', "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut images = FakeGuests { dir: dir.clone() };
    let mut req = codegen::Request {
        ron: ron.to_string(),
        root: root(),
        devices_dir: root().join("devices/src"),
        out_dir: dir,
        images: &mut images,
    };
    codegen::generate(&mut req)
}
