//! Sv39 page tables for guests that turn their own translation on: a table, the PTE bits, and
//! the `satp` value that selects a root.

/// One level of a page table: 512 entries, page aligned.
#[repr(C, align(4096))]
pub struct Table(pub [u64; 512]);

impl Table {
    pub const EMPTY: Table = Table([0; 512]);
}

pub const V: u64 = 1 << 0;
pub const R: u64 = 1 << 1;
pub const W: u64 = 1 << 2;
pub const X: u64 = 1 << 3;
pub const U: u64 = 1 << 4;
pub const A: u64 = 1 << 6;
pub const D: u64 = 1 << 7;

/// A leaf or pointer entry for physical address `pa` with `flags`.
pub const fn entry(pa: u64, flags: u64) -> u64 {
    (pa >> 12) << 10 | flags
}

/// `satp` for Sv39 with the root table at `root`.
pub fn satp(root: *const Table) -> u64 {
    8 << 60 | (root as u64 >> 12)
}
