//! One fixture per error kind (tests/err), each with its rendered diagnostics snapshotted; valid
//! fixtures (tests/ok and machines/) generate, and their tables walk back to exactly what the
//! description declares.
mod common;

use codegen::tables::{self, Attr, Regime};

fn rel(path: &std::path::Path) -> String {
    path.strip_prefix(common::root()).unwrap().display().to_string()
}

#[test]
fn every_error_fixture_fails_with_located_diagnostics() {
    insta::glob!("err/*.ron", |path| {
        let ron = rel(path);
        let failure = match common::generate(&ron) {
            Ok(_) => panic!("{ron} should not validate"),
            Err(f) => f,
        };
        // The first line is compiler-style and points into the fixture.
        let first = failure.rendered.lines().next().unwrap();
        assert!(first.starts_with(&format!("{ron}:")) && first.contains(": error: "), "{first}");
        assert!(failure.diags.iter().all(|d| d.main.pos.is_some()), "{}", failure.rendered);
        insta::assert_snapshot!(failure.rendered);
    });
}

#[test]
fn all_problems_are_reported_together() {
    let Err(f) = common::generate("codegen/tests/err/many.ron") else { panic!("many.ron validated") };
    assert!(f.diags.len() >= 4, "{}", f.rendered);
}

/// Walk every VM's stage-2 tables and the EL2 map: exactly the planned windows, nothing else.
fn check_tables(g: &codegen::Generated) {
    let m = &g.machine;
    let arena = &g.tables.arena;
    for (v, &root) in m.vms.iter().zip(&g.tables.vm_roots) {
        let leaves = tables::walk(&arena.tables, arena.base, tables::stage2(&m.board), root).unwrap();
        let got: Vec<_> =
            tables::coalesce(leaves).iter().map(|l| (l.va, l.pa, l.size, l.attr.unwrap())).collect();
        let want = tables::stage2_plan(&m.board, v);
        assert_eq!(got, merge(want), "stage 2 of `{}`", v.name);
        // Emulated windows stay unmapped so accesses trap.
        for e in &v.emulated {
            assert!(got.iter().all(|&(va, _, size, _)| e.ipa.0 + e.kind.size <= va || va + size <= e.ipa.0));
        }
    }
    // riscv64: hv runs untranslated and has no map of its own.
    if m.board.arch == codegen::model::Arch::Aarch64 {
        let el2 = tables::walk(&arena.tables, arena.base, Regime::El2, g.tables.el2_root).unwrap();
        let got: Vec<_> =
            tables::coalesce(el2).iter().map(|l| (l.va, l.pa, l.size, l.attr.unwrap())).collect();
        assert_eq!(got, merge(tables::el2_plan(&m.board)));
    }
    // The arena itself is where the linker will put it, inside the hypervisor region.
    assert_eq!(arena.base, m.tables_pa.0);
    assert!(arena.base + (arena.tables.len() as u64) * 0x1000 <= m.board.hv.end());
}

/// Adjacent plan entries that continue each other read back as one run.
fn merge(plan: Vec<(u64, u64, u64, Attr)>) -> Vec<(u64, u64, u64, Attr)> {
    let mut out: Vec<(u64, u64, u64, Attr)> = Vec::new();
    for p in plan {
        match out.last_mut() {
            Some(l) if l.0 + l.2 == p.0 && l.1 + l.2 == p.1 && l.3 == p.3 => l.2 += p.2,
            _ => out.push(p),
        }
    }
    out
}

#[test]
fn valid_fixtures_generate_and_walk_back() {
    insta::glob!("ok/*.ron", |path| {
        let g = common::generate(&rel(path)).unwrap_or_else(|f| panic!("{}", f.rendered));
        check_tables(&g);
        insta::assert_snapshot!(g.report);
    });
}

#[test]
fn shipped_machines_generate_and_walk_back() {
    for entry in std::fs::read_dir(common::root().join("machines")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ron") {
            let g = common::generate(&rel(&path)).unwrap_or_else(|f| panic!("{}", f.rendered));
            check_tables(&g);
        }
    }
}

#[test]
fn two_vms_layout_details() {
    let g = common::generate("codegen/tests/ok/two_vms.ron").unwrap_or_else(|f| panic!("{}", f.rendered));
    let m = &g.machine;
    // Automatic placement keeps PA ≡ IPA modulo 2 MiB so stage 2 uses blocks.
    let w = &m.vms[0].ram[0];
    assert_eq!(w.pa.0 % (1 << 21), w.ipa.0 % (1 << 21));
    assert!(w.pa.0 >= m.board.hv.end());
    assert_eq!(m.vms[1].ram[0].pa.0, 0x7FE0_0000);
    // The read-only window is mapped read-only.
    let ro = tables::stage2_plan(&m.board, &m.vms[0]).into_iter().find(|p| p.0 == 0x8000_0000).unwrap();
    assert_eq!(ro.3, Attr::ReadOnly);
    // Passthrough is identity-mapped Device memory.
    assert!(tables::stage2_plan(&m.board, &m.vms[0]).contains(&(
        0x0B00_0000,
        0x0B00_0000,
        0x1000,
        Attr::Device
    )));
    // DTB at the top of the first window, generated code mentions every VM.
    assert_eq!(m.vms[0].dtb.as_ref().unwrap().ipa.0, 0x4000_0000 + 0x2000_0000 - 0x1_0000);
    assert!(g.rust.contains("VM0_DEVICES") && g.rust.contains("VM1_DEVICES"));
    assert!(g.linker.contains(".vm1.image 0x7fe00000"));
}

#[test]
fn generated_dtb_parses() {
    let g = common::generate("codegen/tests/ok/two_vms.ron").unwrap_or_else(|f| panic!("{}", f.rendered));
    let (_, bytes, _) = &g.dtbs[0];
    let fdt = fdt::Fdt::new(bytes).unwrap();
    let regions: Vec<_> =
        fdt.memory().regions().map(|r| (r.starting_address as u64, r.size.unwrap())).collect();
    assert_eq!(regions, [(0x4000_0000, 0x2000_0000), (0x8000_0000, 0x20_0000)]);
    assert_eq!(fdt.cpus().count(), 1);
    let uart = fdt.find_compatible(&["arm,pl011"]).unwrap();
    assert_eq!(uart.reg().unwrap().next().unwrap().starting_address as u64, 0x0900_0000);
    assert_eq!(fdt.chosen().stdout().unwrap().name, "pl011@9000000");
    assert_eq!(fdt.chosen().bootargs(), Some("console=ttyAMA0"));
    assert_eq!(fdt.find_node("/psci").unwrap().property("method").unwrap().as_str(), Some("hvc"));
    // The virtual GIC at the board's addresses (one redistributor for one vCPU), the timer's
    // PPIs from the description, and the UART's SPI.
    let gic = fdt.find_compatible(&["arm,gic-v3"]).unwrap();
    let reg: Vec<_> = gic.reg().unwrap().map(|r| (r.starting_address as u64, r.size.unwrap())).collect();
    assert_eq!(reg, [(0x0800_0000, 0x1_0000), (0x080A_0000, 0x2_0000)]);
    let cells = |n: fdt::node::FdtNode, p: &str| -> Vec<u32> {
        n.property(p).unwrap().value.chunks(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())).collect()
    };
    let timer = fdt.find_compatible(&["arm,armv8-timer"]).unwrap();
    assert_eq!(cells(timer, "interrupts"), [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
    assert_eq!(cells(uart, "interrupts"), [0, 1, 4]);
    // A passthrough device, as the board describes it.
    let net = fdt.find_node("/net@b000000").unwrap();
    assert_eq!(net.compatible().unwrap().first(), "vendor,net");
    assert_eq!(net.reg().unwrap().next().unwrap().starting_address as u64, 0x0B00_0000);
    assert_eq!(cells(net, "interrupts"), [0, 40, 4]);
    assert_eq!(cells(fdt.find_node("/").unwrap(), "interrupt-parent"), cells(gic, "phandle"));
}

/// The riscv64 fixture: Sv39x4 roots 16 KiB aligned, and a guest device tree with what Linux and
/// OpenSBI-style firmware read: harts with `riscv,isa` (no `h`) and their interrupt controllers,
/// the timebase, a PLIC whose contexts point at them, the UART on a PLIC source, memory, chosen.
#[test]
fn riscv64_tables_and_device_tree() {
    let g = common::generate("codegen/tests/ok/riscv64.ron").unwrap_or_else(|f| panic!("{}", f.rendered));
    assert!(g.rust.contains("PlatformDesc::Riscv64") && g.rust.contains("align(16384)"));
    let root = g.tables.vm_roots[0];
    assert_eq!((g.tables.arena.base + root as u64 * 0x1000) % 0x4000, 0, "hgatp needs a 16 KiB aligned root");
    let (_, bytes, _) = &g.dtbs[0];
    let fdt = fdt::Fdt::new(bytes).unwrap();
    let cpus: Vec<_> = fdt.cpus().collect();
    assert_eq!(cpus.len(), 2);
    for c in &cpus {
        let isa = c.property("riscv,isa").and_then(|p| p.as_str()).unwrap();
        assert!(isa.starts_with("rv64ima") && !isa.split('_').next().unwrap().contains('h'), "{isa}");
        assert_eq!(c.timebase_frequency(), 10_000_000);
    }
    let intc: Vec<_> =
        fdt.all_nodes().filter(|n| n.compatible().is_some_and(|c| c.first() == "riscv,cpu-intc")).collect();
    assert_eq!(intc.len(), 2, "one interrupt controller per hart");
    let plic = fdt.find_compatible(&["riscv,plic0"]).unwrap();
    assert_eq!(plic.reg().unwrap().next().unwrap().starting_address as usize, 0x0C00_0000);
    let ctx: Vec<u32> = plic
        .property("interrupts-extended")
        .unwrap()
        .value
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(ctx.len(), 2 * 2 * 2, "M and S contexts of each hart");
    assert_eq!((ctx[1], ctx[3]), (11, 9), "context 0: M external, context 1: S external");
    // Every interrupt goes to the PLIC (each device's `interrupt-parent`: the harts' controllers
    // have none), one cell each.
    let cells = |n: &fdt::node::FdtNode| -> Vec<u32> {
        n.property("interrupts")
            .unwrap()
            .value
            .chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect()
    };
    let phandle = |n: &fdt::node::FdtNode, p: &str| n.property(p).and_then(|p| p.as_usize()).unwrap();
    assert!(fdt.find_node("/").unwrap().property("interrupt-parent").is_none());
    let uart = fdt.find_compatible(&["ns16550a"]).unwrap();
    assert_eq!(cells(&uart), [10]);
    assert_eq!(phandle(&uart, "interrupt-parent"), phandle(&plic, "phandle"));
    assert_eq!(fdt.chosen().stdout().unwrap().name, uart.name);
    assert_eq!(fdt.chosen().bootargs(), Some("console=ttyS0"));
    let rtc = fdt.find_compatible(&["google,goldfish-rtc"]).unwrap();
    assert_eq!(cells(&rtc), [11]);
    assert_eq!(fdt.memory().regions().next().unwrap().starting_address as usize, 0x8000_0000);
}

/// A channel's sections walk back from each peer's stage 2 with the peer's rights: the state
/// table and the other peers' output sections read-only, the shared section and its own output
/// writable, none executable; a VM that is no peer maps none of it.
#[test]
fn channel_sections_map_with_each_peers_rights() {
    let g = common::generate("machines/test-channels.ron").unwrap_or_else(|f| panic!("{}", f.rendered));
    let m = &g.machine;
    let arena = &g.tables.arena;
    let link = &m.channels[0];
    let leaves = |vm: usize| {
        let l =
            tables::walk(&arena.tables, arena.base, tables::stage2(&m.board), g.tables.vm_roots[vm]).unwrap();
        tables::coalesce(l)
    };
    let attr_at = |vm: usize, pa: u64| {
        leaves(vm).iter().find(|l| l.pa <= pa && pa < l.pa + l.size).map(|l| l.attr.unwrap())
    };
    for (k, p) in link.peers.iter().enumerate() {
        let vm = p.vm.0;
        assert_eq!(attr_at(vm, link.pa.0), Some(Attr::SharedRo), "state table, peer {k}");
        assert_eq!(attr_at(vm, link.pa.0 + 0x1000), Some(Attr::Shared), "shared section, peer {k}");
        for j in 0..link.peers.len() {
            let want = if j == k { Attr::Shared } else { Attr::SharedRo };
            assert_eq!(
                attr_at(vm, link.pa.0 + link.output_offset(j)),
                Some(want),
                "output {j} seen by peer {k}"
            );
        }
    }
    let gamma = m.vms.iter().position(|v| v.name == "gamma").unwrap();
    assert_eq!(attr_at(gamma, link.pa.0), None, "gamma is no peer of `link`");
    // Both channels' regions are in board RAM, apart from every VM's RAM.
    for c in &m.channels {
        let r = codegen::model::Region { base: c.pa.0, size: c.size() };
        assert!(m.board.ram.iter().any(|b| b.contains(&r)));
        assert!(m.vms.iter().flat_map(|v| &v.ram).all(|w| !codegen::model::Region {
            base: w.pa.0,
            size: w.size
        }
        .overlaps(&r)));
    }
}
