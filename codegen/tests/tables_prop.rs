//! Property: for any set of disjoint, page-aligned windows, the built stage-2 tables map exactly
//! those windows (IPA -> PA, attribute), with nothing else mapped.
use codegen::tables::{coalesce, walk, Arena, Attr, Regime};
use proptest::prelude::*;

fn windows() -> impl Strategy<Value = Vec<(u64, u64, u64, Attr)>> {
    // Up to 6 windows in distinct 4 GiB slots, sizes from a page to 1 GiB, various alignments.
    prop::collection::vec((0u64..64, 0u64..0x400, 1u64..0x40000, 0u64..0x8_0000, 0u8..3), 1..6).prop_map(
        |v| {
            let mut seen = std::collections::HashSet::new();
            v.into_iter()
                .filter(|w| seen.insert(w.0))
                .map(|(slot, ipa_pages, pages, pa_pages, a)| {
                    let ipa = (slot << 32) + (ipa_pages << 21) + if a == 2 { 0x3000 } else { 0 };
                    let attr = [Attr::Normal, Attr::ReadOnly, Attr::Device][a as usize];
                    (ipa, (1 << 32) + (pa_pages << 12), pages << 12, attr)
                })
                .filter(|w| w.0 + w.2 <= 1 << 40)
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn tables_map_exactly_the_windows(ws in windows()) {
        let mut a = Arena::new(0x8000_0000);
        let root = a.alloc_root(Regime::Stage2);
        for &(ipa, pa, size, attr) in &ws {
            a.map(Regime::Stage2, root, ipa, pa, size, attr).unwrap();
        }
        let got: Vec<_> = coalesce(walk(&a.tables, a.base, Regime::Stage2, root).unwrap())
            .into_iter().map(|l| (l.va, l.pa, l.size, l.attr.unwrap())).collect();
        let mut want = ws.clone();
        want.sort_by_key(|w| w.0);
        prop_assert_eq!(got, want);
    }
}
