//! Guest images: build or find them, flatten ELF to the bytes placed in guest RAM, measure them,
//! and place the DTB and initrd at the top of the VM's first RAM window.
use crate::diag::Diags;
use crate::model::*;
use crate::raw;
use hv_types::Ipa;
use std::path::{Path, PathBuf};

/// Where images come from. hv's build script builds guest crates; tests fake it.
pub trait ImageSource {
    /// Build the guest crate `name` linked to run at `base`; return its ELF.
    fn guest_elf(&mut self, name: &str, base: Ipa, arch: Arch) -> Result<PathBuf, String>;
    /// A path written in the .ron, resolved against the workspace root.
    fn file(&mut self, path: &str) -> PathBuf;
    /// Where derived files (flattened images) go.
    fn out_dir(&self) -> PathBuf;
}

/// A flat image: bytes for `[base, base + bytes.len())`, running size `mem_size`, entry point.
pub struct Flat {
    pub bytes: Vec<u8>,
    pub base: u64,
    pub mem_size: u64,
    pub entry: u64,
}

/// Lay the PT_LOAD segments of an ELF out as one flat image.
pub fn flatten_elf(data: &[u8]) -> Result<Flat, String> {
    use object::{Object, ObjectSegment};
    let f = object::File::parse(data).map_err(|e| format!("not an ELF: {e}"))?;
    let segs: Vec<_> = f.segments().filter(|s| s.size() > 0).collect();
    let base = segs.iter().map(|s| s.address()).min().ok_or("the ELF has no loadable segment")?;
    let end = segs
        .iter()
        .map(|s| s.address().checked_add(s.size()).ok_or("a segment runs past the end of the address space"))
        .try_fold(base, |m, e| e.map(|e| m.max(e)))?;
    let mut bytes = Vec::new();
    for s in &segs {
        let d = s.data().map_err(|e| e.to_string())?;
        let off = (s.address() - base) as usize;
        if !d.is_empty() {
            if bytes.len() < off + d.len() {
                bytes.resize(off + d.len(), 0);
            }
            bytes[off..off + d.len()].copy_from_slice(d);
        }
    }
    Ok(Flat { bytes, base, mem_size: end - base, entry: f.entry() })
}

/// Running size of an arm64 Linux `Image` from its header, or the file size for other blobs.
fn raw_mem_size(data: &[u8]) -> u64 {
    let le = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap_or_default());
    // arm64's `ARM\x64` or RISC-V's `RSC\x05` magic at 0x38, the image size at 0x10 in both.
    if data.len() >= 64 && (&data[56..60] == b"ARM\x64" || &data[56..60] == b"RSC\x05") && le(16) != 0 {
        le(16).max(data.len() as u64)
    } else {
        data.len() as u64
    }
}

fn read(d: &mut Diags, path_at: &str, p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).map_err(|e| d.err(path_at, format!("cannot read image {}: {e}", p.display()))).ok()
}

/// Build/measure the VM's image and place it, the initrd and the DTB in its first RAM window.
pub fn resolve(d: &mut Diags, arch: Arch, v: &mut Vm, rv: &raw::Vm, src: &mut dyn ImageSource) {
    let i = v.id.0;
    let at = format!("vms.{i}.image");
    let Some(w0) = v.ram.first() else { return };
    let (base, window) = (w0.ipa, w0.size);
    let (bin, mem_size, entry, initrd) = match &rv.image {
        raw::Image::Guest(name) => {
            // A guest crate writes its data and stack where it is loaded.
            if w0.read_only {
                return d.clash(
                    &format!("vms.{i}.ram.0.access"),
                    format!("guest `{name}` writes its data in its first RAM window, which is read-only"),
                    &format!("{at}.0"),
                    "the guest is named here",
                );
            }
            let elf = match src.guest_elf(name, base, arch) {
                Ok(p) => p,
                Err(e) => return d.err(&format!("{at}.0"), e),
            };
            let Some(data) = read(d, &at, &elf) else {
                return;
            };
            let flat = match flatten_elf(&data) {
                Ok(f) => f,
                Err(e) => return d.err(&at, format!("guest `{name}`: {e}")),
            };
            if flat.base != base.0 {
                return d.err(
                    &at,
                    format!(
                        "guest `{name}` is linked at {:#x}, not at the VM's RAM base {:#x}",
                        flat.base, base.0
                    ),
                );
            }
            let out = src.out_dir().join(format!("{}.bin", v.name));
            if let Err(e) = std::fs::write(&out, &flat.bytes) {
                return d.err(&at, format!("cannot write {}: {e}", out.display()));
            }
            (out, flat.mem_size, Ipa(flat.entry), None)
        }
        raw::Image::Raw { kernel, initrd } => {
            let k = src.file(kernel);
            let Some(data) = read(d, &format!("{at}.kernel"), &k) else {
                return;
            };
            if data.is_empty() {
                return d.err(&format!("{at}.kernel"), format!("the kernel image `{kernel}` is empty"));
            }
            let initrd = match initrd {
                Some(p) => {
                    let f = src.file(p);
                    let problem = match std::fs::metadata(&f) {
                        Ok(m) if m.is_dir() => Err("it is a directory".to_string()),
                        Ok(m) if m.len() == 0 => Err("it is empty".to_string()),
                        // The arm64 boot protocol hands the initrd over in /chosen only.
                        Ok(_) if v.dtb.is_none() => Err(
                            "the VM has `dtb: None`, so nothing can tell the kernel where it is: give it `dtb: Generate(…)`"
                                .to_string(),
                        ),
                        Ok(m) => Ok(m.len()),
                        Err(e) => Err(format!("cannot read it: {e}")),
                    };
                    match problem {
                        Ok(size) => Some((f, size)),
                        Err(why) => return d.err(&format!("{at}.initrd"), format!("initrd `{p}`: {why}")),
                    }
                }
                None => None,
            };
            (k, raw_mem_size(&data), base, initrd)
        }
    };
    // From the top of the first window down: DTB (unless the description places it), then
    // initrd.
    let mut top = base.0.saturating_add(window);
    // What does not fit makes `top` fall below the window's base; that is reported below,
    // so the arithmetic saturates rather than wraps.
    if let Some(dtb) = &mut v.dtb {
        match dtb.at {
            Some(at) => dtb.ipa = at,
            None => {
                top = top.saturating_sub(dtb.reserve);
                dtb.ipa = Ipa(top);
            }
        }
    }
    v.image.initrd = initrd.map(|(path, size)| {
        top = top.saturating_sub(size) & !(PAGE - 1);
        (path, Ipa(top), size)
    });
    let room = top.saturating_sub(base.0);
    if mem_size > room || top < base.0 {
        d.clash(
            &at,
            format!(
                "image of VM `{}` needs {mem_size:#x} bytes but its first RAM window has {room:#x} left after the DTB and initrd",
                v.name
            ),
            &format!("vms.{i}.ram.0.size"),
            "the window is declared here",
        );
    }
    // A DTB the description placed inside the first window must not lie under the image.
    if let Some((dtb_at, reserve)) = v.dtb.as_ref().and_then(|d| Some((d.at?, d.reserve))) {
        let dtb = Region { base: dtb_at.0, size: reserve };
        let img = Region { base: base.0, size: mem_size };
        let rd = v.image.initrd.as_ref().map(|(_, ipa, size)| Region { base: ipa.0, size: *size });
        if dtb.overlaps(&img) || rd.is_some_and(|r| r.overlaps(&dtb)) {
            d.clash(
                &format!("vms.{i}.dtb.at"),
                format!("the DTB at {:#x} overlaps the image or initrd of VM `{}`", dtb_at.0, v.name),
                &at,
                "the image is declared here",
            );
        }
    }
    v.image.bin = bin;
    v.image.mem_size = mem_size;
    v.image.load = base;
    v.image.entry = entry;
}
