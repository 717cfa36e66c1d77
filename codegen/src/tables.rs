//! Translation tables as data: builds stage-2 tables for every VM (and, on AArch64, the EL2
//! stage-1 identity map) into one arena at a known physical address, so descriptors can point at
//! each other at build time; and walks them back, for tests. 4 KiB granule, three levels, lookup
//! from level 1 (a 1 GiB entry), in two formats: Arm's VMSAv8-64 and RISC-V's Sv39x4 (the
//! H extension's G-stage).
use crate::model::*;

pub const ENTRIES: usize = 512;
pub type Table = [u64; ENTRIES];

/// Memory types a mapping can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// Normal write-back cacheable, read/write, executable.
    Normal,
    /// Normal, read-only.
    ReadOnly,
    /// Device-nGnRE, read/write, never executable.
    Device,
    /// A channel section the VM writes: Normal non-cacheable, never executable. Non-cacheable
    /// because Linux maps `/dev/mem` outside its RAM as Device memory, and the combined type
    /// must then agree on every peer (stage 2 makes a cacheable peer non-cacheable too).
    Shared,
    /// A channel section the VM only reads: as `Shared`, read-only.
    SharedRo,
}

/// Which descriptor format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// Stage 2 (VTTBR_EL2): 40-bit IPA, two concatenated level-1 tables (1024 entries).
    Stage2,
    /// EL2 stage 1 (TTBR0_EL2): 39-bit VA, one level-1 table. MAIR_EL2 attr0 = Device, attr1 = Normal.
    El2,
    /// riscv64 G-stage (hgatp mode Sv39x4): 41-bit guest physical addresses, a 16 KiB root of
    /// 2048 entries. RISC-V page tables carry no memory type: RAM and devices differ only in
    /// permissions (devices are never executable).
    Sv39x4,
}

impl Regime {
    pub const fn root_entries(self) -> usize {
        match self {
            Regime::Stage2 => 1024,
            Regime::El2 => 512,
            Regime::Sv39x4 => 2048,
        }
    }
    fn riscv(self) -> bool {
        matches!(self, Regime::Sv39x4)
    }
    /// One past the highest address the root covers (each level-1 entry maps 1 GiB): what
    /// validation holds the description to.
    pub const fn va_limit(self) -> u64 {
        (self.root_entries() as u64) << 30
    }
}

const VALID: u64 = 1;
const TABLE_OR_PAGE: u64 = 0b10;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const XN: u64 = 1 << 54;
const ADDR_MASK: u64 = 0x0000_FFFF_FFFF_F000;
// Stage 2: MemAttr[5:2], S2AP[7:6].
const S2_NORMAL_WB: u64 = 0xF << 2;
const S2_DEVICE_NGNRE: u64 = 0x1 << 2;
const S2_NORMAL_NC: u64 = 0x5 << 2;
const S2AP_RO: u64 = 1 << 6;
const S2AP_RW: u64 = 3 << 6;
// EL2 stage 1: AttrIndx[4:2]; AP[2:1] with AP[1] RES1 in a single-EL regime.
const S1_IDX_DEVICE: u64 = 0 << 2;
const S1_IDX_NORMAL: u64 = 1 << 2;
const S1_AP_RW: u64 = 1 << 6;
const S1_AP_RO: u64 = 3 << 6;

// RISC-V PTE bits: valid, read, write, execute, user (required on G-stage leaves), accessed,
// dirty; the PPN from bit 10.
const RV_V: u64 = 1;
const RV_R: u64 = 1 << 1;
const RV_W: u64 = 1 << 2;
const RV_X: u64 = 1 << 3;
const RV_U: u64 = 1 << 4;
const RV_A: u64 = 1 << 6;
const RV_D: u64 = 1 << 7;
const RV_RSW_CHANNEL: u64 = 1 << 8;
const RV_PPN_MASK: u64 = ((1 << 44) - 1) << 10;

/// The leaf descriptor bits for `attr` (without address and type bits).
pub fn leaf_bits(regime: Regime, attr: Attr) -> u64 {
    if regime.riscv() {
        // A and D set up front: hv implements no A/D updates (Svadu), and a guest must never take
        // a G-stage fault for them.
        return RV_U
            | RV_A
            | match attr {
                Attr::Normal => RV_R | RV_W | RV_X | RV_D,
                Attr::ReadOnly => RV_R | RV_X,
                Attr::Device => RV_R | RV_W | RV_D,
                // RISC-V has no memory types here; the RSW bit, which harts ignore, marks a
                // channel so its tables read back as what they map.
                Attr::Shared => RV_R | RV_W | RV_D | RV_RSW_CHANNEL,
                Attr::SharedRo => RV_R | RV_RSW_CHANNEL,
            };
    }
    AF | match (regime, attr) {
        (Regime::Stage2, Attr::Normal) => S2_NORMAL_WB | S2AP_RW | SH_INNER,
        (Regime::Stage2, Attr::ReadOnly) => S2_NORMAL_WB | S2AP_RO | SH_INNER,
        (Regime::Stage2, Attr::Device) => S2_DEVICE_NGNRE | S2AP_RW | XN,
        (Regime::Stage2, Attr::Shared) => S2_NORMAL_NC | S2AP_RW | SH_INNER | XN,
        (Regime::Stage2, Attr::SharedRo) => S2_NORMAL_NC | S2AP_RO | SH_INNER | XN,
        // hv maps no channel on its own: it reaches them through its map of board RAM.
        (Regime::El2, Attr::Shared | Attr::SharedRo) => S1_IDX_NORMAL | S1_AP_RO | SH_INNER | XN,
        (Regime::El2, Attr::Normal) => S1_IDX_NORMAL | S1_AP_RW | SH_INNER,
        (Regime::El2, Attr::ReadOnly) => S1_IDX_NORMAL | S1_AP_RO | SH_INNER,
        (Regime::El2, Attr::Device) => S1_IDX_DEVICE | S1_AP_RW | XN,
        (Regime::Sv39x4, _) => 0,
    }
}

/// A descriptor's valid bit.
fn valid(regime: Regime, d: u64) -> bool {
    d & if regime.riscv() { RV_V } else { VALID } != 0
}

/// Does valid descriptor `d` at `level` point at a next-level table?
fn is_table(regime: Regime, level: u32, d: u64) -> bool {
    level < 3 && if regime.riscv() { d & (RV_R | RV_W | RV_X) == 0 } else { d & TABLE_OR_PAGE != 0 }
}

/// The address a descriptor holds.
fn desc_pa(regime: Regime, d: u64) -> u64 {
    if regime.riscv() {
        ((d & RV_PPN_MASK) >> 10) << 12
    } else {
        d & ADDR_MASK
    }
}

fn table_desc(regime: Regime, pa: u64) -> u64 {
    if regime.riscv() {
        (pa >> 12) << 10 | RV_V
    } else {
        pa | TABLE_OR_PAGE | VALID
    }
}

fn leaf_desc(regime: Regime, level: u32, pa: u64, attr: Attr) -> u64 {
    if regime.riscv() {
        (pa >> 12) << 10 | leaf_bits(regime, attr) | RV_V
    } else {
        pa | leaf_bits(regime, attr) | VALID | if level == 3 { TABLE_OR_PAGE } else { 0 }
    }
}

/// Decode a leaf back to its attribute, if it is one we generate.
pub fn decode_attr(regime: Regime, desc: u64) -> Option<Attr> {
    let bits = if regime.riscv() { desc & !(RV_PPN_MASK | RV_V) } else { desc & !(ADDR_MASK | 0b11) };
    [Attr::Normal, Attr::ReadOnly, Attr::Device, Attr::Shared, Attr::SharedRo]
        .into_iter()
        .find(|&a| leaf_bits(regime, a) == bits)
}

fn shift(level: u32) -> u32 {
    39 - 9 * level
}

/// Tables in one contiguous arena at `base`, aligned for the largest root (16 KiB).
pub struct Arena {
    pub base: u64,
    pub tables: Vec<Table>,
}

impl Arena {
    pub fn new(base: u64) -> Arena {
        Arena { base, tables: Vec::new() }
    }

    pub fn pa_of(&self, idx: usize) -> u64 {
        self.base + (idx as u64) * PAGE
    }

    /// A root for `regime`: as many pages as it has entries for, aligned to its own size (Arm
    /// stage 2: two pages, Sv39x4: four).
    pub fn alloc_root(&mut self, regime: Regime) -> usize {
        let pages = regime.root_entries() / ENTRIES;
        while !self.tables.len().is_multiple_of(pages) {
            self.tables.push([0; ENTRIES]);
        }
        let idx = self.tables.len();
        self.tables.extend(std::iter::repeat_n([0; ENTRIES], pages));
        idx
    }

    fn entry(&mut self, table: usize, idx: usize) -> &mut u64 {
        &mut self.tables[table + idx / ENTRIES][idx % ENTRIES]
    }

    /// Map `[va, va+size)` to `pa` with the largest blocks that fit.
    pub fn map(
        &mut self,
        regime: Regime,
        root: usize,
        va: u64,
        pa: u64,
        size: u64,
        attr: Attr,
    ) -> Result<(), String> {
        self.map_at(regime, root, 1, regime.root_entries(), va, pa, size, attr)
    }

    #[allow(clippy::too_many_arguments)]
    fn map_at(
        &mut self,
        regime: Regime,
        table: usize,
        level: u32,
        entries: usize,
        mut va: u64,
        mut pa: u64,
        mut size: u64,
        attr: Attr,
    ) -> Result<(), String> {
        let sh = shift(level);
        let block = 1u64 << sh;
        while size > 0 {
            let idx = ((va >> sh) as usize) & (entries - 1);
            let leaf_ok = va.is_multiple_of(block) && pa.is_multiple_of(block) && size >= block;
            if leaf_ok {
                let e = self.entry(table, idx);
                if *e != 0 {
                    return Err(format!("{va:#x} is mapped twice"));
                }
                *e = leaf_desc(regime, level, pa, attr);
                va += block;
                pa += block;
                size -= block;
                continue;
            }
            if level == 3 {
                return Err(format!("{va:#x}/{pa:#x} is not page aligned"));
            }
            let step = size.min(block - va % block);
            let cur = *self.entry(table, idx);
            let next = if cur == 0 {
                let n = self.tables.len();
                self.tables.push([0; ENTRIES]);
                let npa = self.pa_of(n);
                *self.entry(table, idx) = table_desc(regime, npa);
                n
            } else if valid(regime, cur) && is_table(regime, level, cur) {
                ((desc_pa(regime, cur) - self.base) / PAGE) as usize
            } else {
                return Err(format!("{va:#x} is mapped twice"));
            };
            self.map_at(regime, next, level + 1, ENTRIES, va, pa, step, attr)?;
            va += step;
            pa += step;
            size -= step;
        }
        Ok(())
    }

    /// Where the level-3 (4 KiB page) descriptor mapping `va` from `root` sits: (table index in
    /// the arena, entry index). `None` if `va` is unmapped or mapped by a block.
    pub fn page_slot(&self, regime: Regime, root: usize, va: u64) -> Option<(usize, usize)> {
        let (mut table, mut entries) = (root, regime.root_entries());
        for level in 1..=3 {
            let idx = ((va >> shift(level)) as usize) & (entries - 1);
            let (t, i) = (table + idx / ENTRIES, idx % ENTRIES);
            let d = *self.tables.get(t)?.get(i)?;
            if !valid(regime, d) || (level < 3 && !is_table(regime, level, d)) {
                return None;
            }
            if level == 3 {
                return Some((t, i));
            }
            table = (desc_pa(regime, d).checked_sub(self.base)? / PAGE) as usize;
            entries = ENTRIES;
        }
        None
    }
}

/// One leaf mapping found by a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub va: u64,
    pub pa: u64,
    pub size: u64,
    /// `None` if the bits are not an attribute set we generate.
    pub attr: Option<Attr>,
}

/// Enumerate every valid leaf reachable from `root` (an index into `tables`, at PA `base`).
/// Fails on a descriptor that points outside the arena or an invalid encoding.
pub fn walk(tables: &[Table], base: u64, regime: Regime, root: usize) -> Result<Vec<Leaf>, String> {
    let mut out = Vec::new();
    walk_at(tables, base, regime, root, 1, regime.root_entries(), 0, &mut out)?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn walk_at(
    tables: &[Table],
    base: u64,
    regime: Regime,
    table: usize,
    level: u32,
    entries: usize,
    va0: u64,
    out: &mut Vec<Leaf>,
) -> Result<(), String> {
    let sh = shift(level);
    for idx in 0..entries {
        let t = tables.get(table + idx / ENTRIES).ok_or("table index outside the arena")?;
        let d = t[idx % ENTRIES];
        let va = va0 + ((idx as u64) << sh);
        if !valid(regime, d) {
            continue;
        }
        if is_table(regime, level, d) {
            let pa = desc_pa(regime, d);
            if pa < base || !(pa - base).is_multiple_of(PAGE) {
                return Err(format!("table descriptor at va {va:#x} points at {pa:#x}, outside the arena"));
            }
            walk_at(tables, base, regime, ((pa - base) / PAGE) as usize, level + 1, ENTRIES, va, out)?;
        } else {
            if level == 3 && !regime.riscv() && d & TABLE_OR_PAGE == 0 {
                return Err(format!("reserved level-3 encoding at va {va:#x}"));
            }
            if level == 3 && regime.riscv() && d & (RV_R | RV_W | RV_X) == 0 {
                return Err(format!("a level-3 entry pointing at a table at va {va:#x}"));
            }
            let size = 1u64 << sh;
            let pa = desc_pa(regime, d);
            // A superpage whose PPN is not aligned is reserved (RISC-V), or its low bits are
            // ignored (Arm): either way not a mapping we generate.
            if regime.riscv() && !pa.is_multiple_of(size) {
                return Err(format!("misaligned superpage at va {va:#x}"));
            }
            out.push(Leaf { va, pa: pa & !(size - 1), size, attr: decode_attr(regime, d) });
        }
    }
    Ok(())
}

/// Merge adjacent leaves with contiguous addresses and equal attributes into runs.
pub fn coalesce(mut leaves: Vec<Leaf>) -> Vec<Leaf> {
    leaves.sort_by_key(|l| l.va);
    let mut out: Vec<Leaf> = Vec::new();
    for l in leaves {
        match out.last_mut() {
            Some(p) if p.va + p.size == l.va && p.pa + p.size == l.pa && p.attr == l.attr => p.size += l.size,
            _ => out.push(l),
        }
    }
    out
}

/// What the tables must contain for VM `v`: (ipa, pa, size, attr), sorted by IPA.
pub fn stage2_plan(b: &Board, v: &Vm) -> Vec<(u64, u64, u64, Attr)> {
    let mut plan: Vec<_> = v
        .ram
        .iter()
        .map(|w| (w.ipa.0, w.pa.0, w.size, if w.read_only { Attr::ReadOnly } else { Attr::Normal }))
        .chain(
            v.shared
                .iter()
                .map(|w| (w.ipa.0, w.pa.0, w.size, if w.read_only { Attr::SharedRo } else { Attr::Shared })),
        )
        .chain(v.passthrough.iter().map(|&bi| {
            let r = crate::validate::page_round(b.devices[bi].region);
            (r.base, r.base, r.size, Attr::Device)
        }))
        .collect();
    // GICv2: the guest's CPU interface is the GICV frame, at the address of the real GICC, so
    // its acknowledges and EOIs never trap.
    if let Some(&Gic::V2 { cpu, vcpu, .. }) = b.gic() {
        plan.push((cpu.0, vcpu.0, GICC_SIZE, Attr::Device));
    }
    plan.sort_by_key(|p| p.0);
    plan
}

/// What the EL2 identity map must contain: board RAM, the console, the GIC frames.
pub fn el2_plan(b: &Board) -> Vec<(u64, u64, u64, Attr)> {
    let mut plan: Vec<_> = b.ram.iter().map(|r| (r.base, r.base, r.size, Attr::Normal)).collect();
    plan.push((b.console.base.0, b.console.base.0, PAGE, Attr::Device));
    for (_, r) in b.gic().map(|g| g.frames(b.cpus)).unwrap_or_default() {
        plan.push((r.base, r.base, r.size, Attr::Device));
    }
    plan.sort_by_key(|p| p.0);
    plan
}

/// The built arena and where each root is.
pub struct Built {
    pub arena: Arena,
    /// Stage-2 root per VM, by VM index.
    pub vm_roots: Vec<usize>,
    /// 4 KiB tables each VM's stage 2 uses (root included), by VM index.
    pub vm_tables: Vec<usize>,
    /// The EL2 identity map's root (AArch64; `usize::MAX` where hv needs none).
    pub el2_root: usize,
}

/// The stage-2 format of a board's architecture.
pub fn stage2(b: &Board) -> Regime {
    match b.arch {
        Arch::Aarch64 => Regime::Stage2,
        Arch::Riscv64 => Regime::Sv39x4,
    }
}

pub fn build(b: &Board, vms: &[Vm], base: u64) -> Result<Built, String> {
    let mut arena = Arena::new(base);
    let mut vm_roots = Vec::new();
    let mut vm_tables = Vec::new();
    let regime = stage2(b);
    for v in vms {
        let before = arena.tables.len();
        let root = arena.alloc_root(regime);
        for (ipa, pa, size, attr) in stage2_plan(b, v) {
            arena.map(regime, root, ipa, pa, size, attr).map_err(|e| format!("VM `{}`: {e}", v.name))?;
        }
        vm_roots.push(root);
        vm_tables.push(arena.tables.len() - before);
    }
    // riscv64: hv runs with translation off (satp = Bare) and needs no map of its own.
    let el2_root = match b.arch {
        Arch::Aarch64 => {
            let r = arena.alloc_root(Regime::El2);
            for (va, pa, size, attr) in el2_plan(b) {
                arena.map(Regime::El2, r, va, pa, size, attr).map_err(|e| format!("EL2 map: {e}"))?;
            }
            r
        }
        Arch::Riscv64 => usize::MAX,
    };
    Ok(Built { arena, vm_roots, vm_tables, el2_root })
}

/// How many 4 KiB tables `build` will need (placement does not change the count), rounded up
/// to the largest root's alignment so the arena's end stays aligned.
pub fn count(b: &Board, vms: &[Vm]) -> usize {
    let align = root_pages(b);
    build(b, vms, 0).map(|x| x.arena.tables.len()).unwrap_or(0).div_ceil(align) * align
}

/// Pages of the board's stage-2 root: the arena's alignment, in pages.
pub fn root_pages(b: &Board) -> usize {
    stage2(b).root_entries() / ENTRIES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_blocks_and_round_trip() {
        let mut a = Arena::new(0x8000_0000);
        let root = a.alloc_root(Regime::Stage2);
        // 1 GiB aligned on both sides: one L1 block. Then 2 MiB + 4 KiB pieces.
        a.map(Regime::Stage2, root, 0x4000_0000, 0x8000_0000, 1 << 30, Attr::Normal).unwrap();
        a.map(Regime::Stage2, root, 0x0900_0000, 0x0900_0000, 0x20_3000, Attr::Device).unwrap();
        let leaves = walk(&a.tables, a.base, Regime::Stage2, root).unwrap();
        let sizes: Vec<u64> = leaves.iter().map(|l| l.size).collect();
        assert_eq!(sizes, [0x20_0000, 0x1000, 0x1000, 0x1000, 1 << 30]);
        assert_eq!(coalesce(leaves).len(), 2);
        assert!(a.map(Regime::Stage2, root, 0x4000_0000, 0, 0x1000, Attr::Normal).is_err());
    }

    /// Sv39x4: a 16 KiB root at a 16 KiB boundary, RISC-V PTEs (PPN at bit 10, U set on every
    /// G-stage leaf, no X on devices), and the top of the 41-bit space in the root's last page.
    #[test]
    fn sv39x4_tables_round_trip() {
        let mut a = Arena::new(0x8040_0000);
        a.tables.push([0; ENTRIES]); // misalign on purpose
        let root = a.alloc_root(Regime::Sv39x4);
        assert_eq!(root % 4, 0, "16 KiB aligned");
        a.map(Regime::Sv39x4, root, 0x8000_0000, 0x8060_0000, 0x40_0000, Attr::Normal).unwrap();
        a.map(Regime::Sv39x4, root, 0x1000_0000, 0x1000_0000, 0x1000, Attr::Device).unwrap();
        a.map(Regime::Sv39x4, root, (1 << 41) - (1 << 30), 0, 1 << 30, Attr::ReadOnly).unwrap();
        let leaves = walk(&a.tables, a.base, Regime::Sv39x4, root).unwrap();
        let got: Vec<_> = coalesce(leaves).iter().map(|l| (l.va, l.pa, l.size, l.attr)).collect();
        assert_eq!(
            got,
            [
                (0x1000_0000, 0x1000_0000, 0x1000, Some(Attr::Device)),
                (0x8000_0000, 0x8060_0000, 0x40_0000, Some(Attr::Normal)),
                ((1 << 41) - (1 << 30), 0, 1 << 30, Some(Attr::ReadOnly)),
            ]
        );
        assert_ne!(a.tables[root + 3][511], 0, "the last GiB is in the root's fourth page");
        let dev = a.page_slot(Regime::Sv39x4, root, 0x1000_0000).unwrap();
        let d = a.tables[dev.0][dev.1];
        assert_eq!(d & 0xFF, RV_V | RV_R | RV_W | RV_U | RV_A | RV_D, "a device page: no X");
        assert_eq!(((d >> 10) << 12), 0x1000_0000);
        assert!(a.map(Regime::Sv39x4, root, 0x8000_0000, 0, 0x1000, Attr::Normal).is_err());
    }

    #[test]
    fn high_ipa_uses_second_root_page() {
        let mut a = Arena::new(0);
        let root = a.alloc_root(Regime::Stage2);
        a.map(Regime::Stage2, root, (1 << 40) - (1 << 30), 0, 1 << 30, Attr::ReadOnly).unwrap();
        assert_eq!(a.page_slot(Regime::Stage2, root, (1 << 40) - (1 << 30)), None, "a block, not a page");
        assert_ne!(a.tables[root + 1][511], 0);
        let l = walk(&a.tables, 0, Regime::Stage2, root).unwrap();
        assert_eq!(l[0].attr, Some(Attr::ReadOnly));
    }
}
