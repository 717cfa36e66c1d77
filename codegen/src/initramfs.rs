//! Packs a directory into an initramfs (the kernel's "newc" cpio format, uncompressed), so the
//! Linux test guest needs no cpio tool and no root: device nodes the kernel needs before devtmpfs
//! (`/dev/console`) are written as entries, not created on the host.
//! Written by hand: the format is a 110-byte ASCII header per entry, and the cpio crates on
//! crates.io read archives or shell out to cpio(1).
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

pub struct Archive {
    bytes: Vec<u8>,
    ino: u32,
}

impl Default for Archive {
    fn default() -> Self {
        Self::new()
    }
}

impl Archive {
    pub fn new() -> Self {
        Archive { bytes: Vec::new(), ino: 1 }
    }

    /// One entry: `mode` includes the file type; `rdev` is (major, minor) for device nodes.
    pub fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        let nlink = if mode & S_IFMT == S_IFDIR { 2 } else { 1 };
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime: fixed, so the archive is reproducible
            data.len() as u32,
            0, // dev major
            0, // dev minor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        self.ino += 1;
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    /// Add `dir`'s contents under `prefix` (no leading slash), in sorted order.
    pub fn add_tree(&mut self, dir: &Path, prefix: &str) -> std::io::Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().to_string();
            let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let meta = std::fs::symlink_metadata(e.path())?;
            let perm = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(e.path())?;
                self.entry(&path, S_IFLNK | 0o777, target.to_string_lossy().as_bytes(), (0, 0));
            } else if meta.is_dir() {
                self.entry(&path, S_IFDIR | perm, &[], (0, 0));
                self.add_tree(&e.path(), &path)?;
            } else if meta.is_file() {
                let data = std::fs::read(e.path())?;
                self.entry(&path, S_IFREG | perm, &data, (0, 0));
            }
        }
        Ok(())
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        self.bytes
    }
}

/// `dir` packed as an initramfs, with `/dev` and `/dev/console` (char 5:1) added so the kernel
/// can open the console for init.
pub fn pack(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut a = Archive::new();
    if !dir.join("dev").exists() {
        a.entry("dev", S_IFDIR | 0o755, &[], (0, 0));
    }
    a.entry("dev/console", S_IFCHR | 0o600, &[], (5, 1));
    a.add_tree(dir, "")?;
    Ok(a.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a newc archive back into (name, mode, data) triples.
    fn entries(mut b: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut v = Vec::new();
        let mut off = 0;
        loop {
            assert_eq!(&b[..6], b"070701");
            let field = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&b[6 + 8 * i..14 + 8 * i]).unwrap(), 16).unwrap()
            };
            let (mode, size, namesize) = (field(1), field(6) as usize, field(11) as usize);
            let name = std::str::from_utf8(&b[110..110 + namesize - 1]).unwrap().to_string();
            let data_at = (off + 110 + namesize).next_multiple_of(4) - off;
            let data = b[data_at..data_at + size].to_vec();
            let next = (off + data_at + size).next_multiple_of(4) - off;
            if name == "TRAILER!!!" {
                assert_eq!(next, b.len());
                return v;
            }
            v.push((name, mode, data));
            off += next;
            b = &b[next..];
        }
    }

    #[test]
    fn packs_files_links_and_the_console_node() {
        let dir = std::env::temp_dir().join(format!("hv-initramfs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("init"), b"#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(dir.join("init"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("busybox", dir.join("bin/sh")).unwrap();
        let got = entries(&pack(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        let names: Vec<_> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "bin", "bin/sh", "init"]);
        assert_eq!(got[1].1, S_IFCHR | 0o600);
        assert_eq!(got[3], ("bin/sh".into(), S_IFLNK | 0o777, b"busybox".to_vec()));
        assert_eq!(got[4], ("init".into(), S_IFREG | 0o755, b"#!/bin/sh\necho hi\n".to_vec()));
    }
}
