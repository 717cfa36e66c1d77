//! Sizes of a built hypervisor ELF by what they are: code, read-only data, data, zeroed data,
//! stacks, page tables, and the guest blobs the ELF carries to their load addresses.
use object::{Object, ObjectSection};
use std::fmt;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
    pub stacks: u64,
    pub tables: u64,
    pub guests: u64,
}

impl Sizes {
    /// What the hypervisor itself loads: code and initialised data.
    pub fn image(&self) -> u64 {
        self.text + self.rodata + self.data
    }
}

pub fn of_elf(data: &[u8]) -> Result<Sizes, String> {
    let f = object::File::parse(data).map_err(|e| format!("not an ELF: {e}"))?;
    let mut s = Sizes::default();
    for sec in f.sections() {
        let name = sec.name().unwrap_or("");
        let slot = match name {
            ".text" => &mut s.text,
            ".rodata" => &mut s.rodata,
            ".data" => &mut s.data,
            ".bss" => &mut s.bss,
            ".stacks" => &mut s.stacks,
            ".pagetables" => &mut s.tables,
            n if n.starts_with(".vm") => &mut s.guests,
            _ => continue,
        };
        *slot += sec.size();
    }
    Ok(s)
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "text    {:>9} B", self.text)?;
        writeln!(f, "rodata  {:>9} B", self.rodata)?;
        writeln!(f, "data    {:>9} B", self.data)?;
        writeln!(f, "bss     {:>9} B", self.bss)?;
        writeln!(f, "image   {:>9} B  (text + rodata + data)", self.image())?;
        writeln!(f, "stacks  {:>9} B", self.stacks)?;
        writeln!(f, "tables  {:>9} B  (stage 2 for every VM, and hv's own map on AArch64)", self.tables)?;
        write!(
            f,
            "guests  {:>9} B  (images, initrds and DTBs for guest RAM, with pristine copies)",
            self.guests
        )
    }
}
