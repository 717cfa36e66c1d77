//! Translation tables as data: builds stage-2 tables for every VM and the EL2 stage-1 identity map
//! into one arena at a known physical address, so descriptors can point at each other at build
//! time; and walks them back, for tests. 4 KiB granule, lookup from level 1.
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
}

/// Which descriptor format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// Stage 2 (VTTBR_EL2): 40-bit IPA, two concatenated level-1 tables (1024 entries).
    Stage2,
    /// EL2 stage 1 (TTBR0_EL2): 39-bit VA, one level-1 table. MAIR_EL2 attr0 = Device, attr1 = Normal.
    El2,
}

impl Regime {
    pub const fn root_entries(self) -> usize {
        match self {
            Regime::Stage2 => 1024,
            Regime::El2 => 512,
        }
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
const S2AP_RO: u64 = 1 << 6;
const S2AP_RW: u64 = 3 << 6;
// EL2 stage 1: AttrIndx[4:2]; AP[2:1] with AP[1] RES1 in a single-EL regime.
const S1_IDX_DEVICE: u64 = 0 << 2;
const S1_IDX_NORMAL: u64 = 1 << 2;
const S1_AP_RW: u64 = 1 << 6;
const S1_AP_RO: u64 = 3 << 6;

/// The leaf descriptor bits for `attr` (without address and type bits).
pub fn leaf_bits(regime: Regime, attr: Attr) -> u64 {
    AF | match (regime, attr) {
        (Regime::Stage2, Attr::Normal) => S2_NORMAL_WB | S2AP_RW | SH_INNER,
        (Regime::Stage2, Attr::ReadOnly) => S2_NORMAL_WB | S2AP_RO | SH_INNER,
        (Regime::Stage2, Attr::Device) => S2_DEVICE_NGNRE | S2AP_RW | XN,
        (Regime::El2, Attr::Normal) => S1_IDX_NORMAL | S1_AP_RW | SH_INNER,
        (Regime::El2, Attr::ReadOnly) => S1_IDX_NORMAL | S1_AP_RO | SH_INNER,
        (Regime::El2, Attr::Device) => S1_IDX_DEVICE | S1_AP_RW | XN,
    }
}

/// Decode a leaf back to its attribute, if it is one we generate.
pub fn decode_attr(regime: Regime, desc: u64) -> Option<Attr> {
    let bits = desc & !(ADDR_MASK | 0b11);
    [Attr::Normal, Attr::ReadOnly, Attr::Device].into_iter().find(|&a| leaf_bits(regime, a) == bits)
}

fn shift(level: u32) -> u32 {
    39 - 9 * level
}

/// Tables in one contiguous, 8 KiB aligned arena at `base`.
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

    /// A root for `regime`; stage-2 roots are two pages aligned to 8 KiB.
    pub fn alloc_root(&mut self, regime: Regime) -> usize {
        let pages = regime.root_entries() / ENTRIES;
        if pages == 2 && self.tables.len() % 2 == 1 {
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
                *e = pa | leaf_bits(regime, attr) | VALID | if level == 3 { TABLE_OR_PAGE } else { 0 };
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
                *self.entry(table, idx) = npa | TABLE_OR_PAGE | VALID;
                n
            } else if cur & 0b11 == 0b11 {
                (((cur & ADDR_MASK) - self.base) / PAGE) as usize
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
            if d & VALID == 0 || (level < 3 && d & TABLE_OR_PAGE == 0) {
                return None;
            }
            if level == 3 {
                return Some((t, i));
            }
            table = ((d & ADDR_MASK).checked_sub(self.base)? / PAGE) as usize;
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
        if d & VALID == 0 {
            continue;
        }
        let is_table = d & TABLE_OR_PAGE != 0 && level < 3;
        if is_table {
            let pa = d & ADDR_MASK;
            if pa < base || !(pa - base).is_multiple_of(PAGE) {
                return Err(format!("table descriptor at va {va:#x} points at {pa:#x}, outside the arena"));
            }
            walk_at(tables, base, regime, ((pa - base) / PAGE) as usize, level + 1, ENTRIES, va, out)?;
        } else {
            if level == 3 && d & TABLE_OR_PAGE == 0 {
                return Err(format!("reserved level-3 encoding at va {va:#x}"));
            }
            let size = 1u64 << sh;
            out.push(Leaf { va, pa: d & ADDR_MASK & !(size - 1), size, attr: decode_attr(regime, d) });
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
        .chain(v.passthrough.iter().map(|&bi| {
            let r = crate::validate::page_round(b.devices[bi].region);
            (r.base, r.base, r.size, Attr::Device)
        }))
        .collect();
    // GICv2: the guest's CPU interface is the GICV frame, at the address of the real GICC, so
    // its acknowledges and EOIs never trap.
    if let Gic::V2 { cpu, vcpu, .. } = b.gic {
        plan.push((cpu.0, vcpu.0, GICC_SIZE, Attr::Device));
    }
    plan.sort_by_key(|p| p.0);
    plan
}

/// What the EL2 identity map must contain: board RAM, the console, the GIC frames.
pub fn el2_plan(b: &Board) -> Vec<(u64, u64, u64, Attr)> {
    let mut plan: Vec<_> = b.ram.iter().map(|r| (r.base, r.base, r.size, Attr::Normal)).collect();
    plan.push((b.console.base().0, b.console.base().0, PAGE, Attr::Device));
    for (_, r) in b.gic.frames(b.cpus) {
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
    pub el2_root: usize,
}

pub fn build(b: &Board, vms: &[Vm], base: u64) -> Result<Built, String> {
    let mut arena = Arena::new(base);
    let mut vm_roots = Vec::new();
    let mut vm_tables = Vec::new();
    for v in vms {
        let before = arena.tables.len();
        let root = arena.alloc_root(Regime::Stage2);
        for (ipa, pa, size, attr) in stage2_plan(b, v) {
            arena
                .map(Regime::Stage2, root, ipa, pa, size, attr)
                .map_err(|e| format!("VM `{}`: {e}", v.name))?;
        }
        vm_roots.push(root);
        vm_tables.push(arena.tables.len() - before);
    }
    let el2_root = arena.alloc_root(Regime::El2);
    for (va, pa, size, attr) in el2_plan(b) {
        arena.map(Regime::El2, el2_root, va, pa, size, attr).map_err(|e| format!("EL2 map: {e}"))?;
    }
    Ok(Built { arena, vm_roots, vm_tables, el2_root })
}

/// How many 4 KiB tables `build` will need (placement does not change the count).
pub fn count(b: &Board, vms: &[Vm]) -> usize {
    build(b, vms, 0).map(|x| x.arena.tables.len()).unwrap_or(0).div_ceil(2) * 2
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
