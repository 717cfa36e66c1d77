//! Physical placement: guest RAM windows not pinned by the description, and the page-table arena
//! at the top of the hypervisor region. Chooses PA ≡ IPA modulo the largest block size that fits
//! so stage 2 can use 1 GiB and 2 MiB blocks.
use crate::diag::Diags;
use crate::model::*;
use crate::tables;
use hv_types::Pa;

const ALIGNS: [u64; 3] = [1 << 30, 1 << 21, PAGE];

/// Board RAM not taken by the hypervisor or reserved ranges, as sorted free pieces.
fn free_ram(b: &Board) -> Vec<Region> {
    let mut free = b.ram.clone();
    for taken in std::iter::once(&b.hv).chain(&b.reserved) {
        free = subtract(&free, taken);
    }
    free
}

fn subtract(free: &[Region], t: &Region) -> Vec<Region> {
    let mut out = Vec::new();
    for f in free {
        if !f.overlaps(t) {
            out.push(*f);
            continue;
        }
        if f.base < t.base {
            out.push(Region { base: f.base, size: t.base - f.base });
        }
        if t.end() < f.end() {
            out.push(Region { base: t.end(), size: f.end() - t.end() });
        }
    }
    out
}

/// Give every `Auto` window a PA; check pinned ones. Reports at `vms.N.ram.K`.
pub fn place_ram(d: &mut Diags, b: &Board, vms: &mut [Vm]) {
    let mut free = free_ram(b);
    // Pinned windows first, so automatic placement goes around them.
    let mut pinned: Vec<(String, Region)> = Vec::new();
    for v in vms.iter() {
        for (k, w) in v.ram.iter().enumerate() {
            if w.pa.0 == u64::MAX {
                continue;
            }
            let path = format!("vms.{}.ram.{k}.pa", v.id.0);
            let r = Region { base: w.pa.0, size: w.size };
            if let Some((opath, _)) = pinned.iter().find(|(_, o)| o.overlaps(&r)) {
                d.clash(
                    &path,
                    format!(
                        "pinned RAM {:#x}..{:#x} of VM `{}` overlaps other pinned RAM",
                        r.base,
                        r.end(),
                        v.name
                    ),
                    opath,
                    "the other window is pinned here",
                );
            } else if !free.iter().any(|f| f.contains(&r)) {
                let reserved = b.reserved.iter().position(|x| x.overlaps(&r));
                let (why, other, note) = if r.overlaps(&b.hv) {
                    (
                        "overlaps the hypervisor region",
                        "board.hv.base".to_string(),
                        "the hypervisor region is declared here",
                    )
                } else if let Some(k) = reserved {
                    (
                        "overlaps a reserved range",
                        format!("board.reserved.{k}"),
                        "the reserved range is declared here",
                    )
                } else {
                    ("is not inside the board's RAM", "board.ram".to_string(), "board RAM is declared here")
                };
                let msg = format!("pinned RAM {:#x}..{:#x} of VM `{}` {why}", r.base, r.end(), v.name);
                d.clash(&path, msg, &other, note);
            }
            free = subtract(&free, &r);
            pinned.push((path, r));
        }
    }
    for v in vms.iter_mut() {
        for (k, w) in v.ram.iter_mut().enumerate() {
            // Pinned, or already reported as malformed: nothing to place.
            if w.pa.0 != u64::MAX || w.size == 0 || w.size % PAGE != 0 || w.ipa.0 % PAGE != 0 {
                continue;
            }
            let found = ALIGNS
                .iter()
                .filter(|&&a| w.ipa.0 % a == 0 && (a == PAGE || w.size >= a))
                .find_map(|&a| free.iter().find_map(|f| fit(f, w.size, a)));
            match found {
                Some(pa) => {
                    w.pa = Pa(pa);
                    free = subtract(&free, &Region { base: pa, size: w.size });
                }
                None => {
                    let largest = free.iter().map(|f| f.size).max().unwrap_or(0);
                    d.clash(
                        &format!("vms.{}.ram.{k}.size", v.id.0),
                        format!("no room in board RAM for VM `{}`'s {:#x}-byte window (largest free piece: {largest:#x})", v.name, w.size),
                        "board.ram",
                        "board RAM is declared here",
                    );
                }
            }
        }
    }
}

/// Give every channel not pinned a home in board RAM that no VM's RAM uses; check pinned ones.
/// Reports at `channels.N`.
pub fn place_channels(d: &mut Diags, b: &Board, vms: &[Vm], channels: &mut [Channel]) {
    let mut free = free_ram(b);
    for w in vms.iter().flat_map(|v| &v.ram).filter(|w| w.pa.0 != u64::MAX) {
        free = subtract(&free, &Region { base: w.pa.0, size: w.size });
    }
    // Pinned first, so automatic placement goes around them.
    let mut order: Vec<usize> = (0..channels.len()).collect();
    order.sort_by_key(|&i| channels[i].pa.0 == u64::MAX);
    for i in order {
        let c = &mut channels[i];
        let size = c.size();
        if c.pa.0 != u64::MAX {
            let r = Region { base: c.pa.0, size };
            if !free.iter().any(|f| f.contains(&r)) {
                d.clash(
                    &format!("channels.{i}.pa"),
                    format!(
                        "channel `{}` pinned at {:#x}..{:#x} is not in free board RAM (outside RAM, or over the hypervisor, a reserved range, a VM's RAM or another channel)",
                        c.name,
                        r.base,
                        r.end()
                    ),
                    "board.ram",
                    "board RAM is declared here",
                );
            }
            free = subtract(&free, &r);
            continue;
        }
        match free.iter().find_map(|f| fit(f, size, PAGE)) {
            Some(pa) => {
                c.pa = Pa(pa);
                free = subtract(&free, &Region { base: pa, size });
            }
            None => d.clash(
                &format!("channels.{i}.name"),
                format!("no room in board RAM for channel `{}` ({size:#x} bytes)", c.name),
                "board.ram",
                "board RAM is declared here",
            ),
        }
    }
}

/// Give each VM that restarts a read-only home for pristine copies of its image, initrd and
/// DTB, in board RAM that nothing else uses (hv copies them back on a restart).
pub fn place_pristine(d: &mut Diags, b: &Board, vms: &mut [Vm], channels: &[Channel]) {
    let mut free = free_ram(b);
    for w in vms.iter().flat_map(|v| &v.ram) {
        free = subtract(&free, &Region { base: w.pa.0, size: w.size });
    }
    for c in channels {
        free = subtract(&free, &Region { base: c.pa.0, size: c.size() });
    }
    for v in vms.iter_mut() {
        let size = v.pristine_size();
        if size == 0 {
            continue;
        }
        match free.iter().find_map(|f| fit(f, size, PAGE)) {
            Some(pa) => {
                v.pristine = Some(Pa(pa));
                free = subtract(&free, &Region { base: pa, size });
            }
            None => d.clash(
                &format!("vms.{}.image", v.id.0),
                format!(
                    "no room in board RAM for the {size:#x}-byte pristine copy VM `{}` needs to restart (use `on_reset: Stop, on_crash: Stop`, or give the board more RAM)",
                    v.name
                ),
                "board.ram",
                "board RAM is declared here",
            ),
        }
    }
}

/// The lowest `align`-aligned base in `f` with room for `size` (a size the description got
/// wrong, and that validation reports, simply finds no room).
fn fit(f: &Region, size: u64, align: u64) -> Option<u64> {
    let base = f.base.checked_next_multiple_of(align)?;
    (base.checked_add(size)? <= f.end()).then_some(base)
}

/// The arena sits at the top of the hypervisor region, aligned for its concatenated roots
/// (8 KiB on Arm, 16 KiB for Sv39x4).
pub fn tables_pa(b: &Board, vms: &[Vm]) -> Pa {
    let bytes = tables::count(b, vms) as u64 * PAGE;
    let align = tables::root_pages(b) as u64 * PAGE;
    Pa(b.hv.end().saturating_sub(bytes) & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn subtract_splits() {
        let f = [Region { base: 0, size: 100 }];
        assert_eq!(
            subtract(&f, &Region { base: 10, size: 10 }),
            [Region { base: 0, size: 10 }, Region { base: 20, size: 80 }]
        );
        assert_eq!(fit(&Region { base: 0x1000, size: 0x40_0000 }, 0x20_0000, 0x20_0000), Some(0x20_0000));
    }
}
