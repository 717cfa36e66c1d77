//! The human-readable report: memory map, placements and routes. hv prints it as its banner and
//! the CLI prints it on demand, so what was allocated is never a mystery.
use crate::model::*;
use std::fmt::Write;

fn mib(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} KiB", n.div_ceil(1024))
    }
}

pub fn emit(m: &Machine, ntables: usize) -> String {
    let b = &m.board;
    let mut s = String::new();
    let chip = match &b.platform {
        Platform::Aarch64 { gic, .. } => format!("GICv{}", gic.version()),
        Platform::Riscv64 { plic, .. } => format!("PLIC with {} sources", plic.sources),
    };
    let _ = writeln!(s, "machine `{}` from {}: {} CPUs, {chip}", b.name, m.source, b.cpus);
    let _ = writeln!(
        s,
        "  hv       {:#012x}..{:#012x}  {}, stacks {} x {}, {} page tables at {:#x}",
        b.hv.base,
        b.hv.end(),
        mib(b.hv.size),
        b.cpus,
        mib(b.stack),
        ntables,
        m.tables_pa.0
    );
    for r in &b.reserved {
        let _ = writeln!(s, "  reserved {:#012x}..{:#012x}  {}", r.base, r.end(), mib(r.size));
    }
    let uart = match b.console.kind {
        UartKind::Pl011 => "PL011",
        UartKind::Ns16550 => "NS16550A",
        UartKind::Cadence => "Cadence UART",
    };
    let _ = writeln!(s, "  console  {:#012x}  {uart}", b.console.base.0);
    match &b.platform {
        Platform::Aarch64 { gic, .. } => {
            for (name, r) in gic.frames(b.cpus) {
                let _ = writeln!(s, "  gic      {:#012x}..{:#012x}  {name}", r.base, r.end());
            }
        }
        Platform::Riscv64 { plic, .. } => {
            let _ = writeln!(s, "  plic     {:#012x}..{:#012x}", plic.base.0, plic.base.0 + plic.size);
        }
    }
    for v in &m.vms {
        let cpus: Vec<String> = v.vcpus.iter().map(|c| c.0.to_string()).collect();
        let _ = writeln!(
            s,
            "vm {} `{}`: vCPUs on pCPU [{}], entry {:#x}, image {}{}",
            v.id.0,
            v.name,
            cpus.join(", "),
            v.image.entry.0,
            mib(v.image.mem_size),
            v.dtb.as_ref().map(|d| format!(", dtb {:#x}", d.ipa.0)).unwrap_or_default()
        );
        for w in &v.ram {
            let _ = writeln!(
                s,
                "  ram      ipa {:#012x}..{:#012x} -> pa {:#012x}  {} {}",
                w.ipa.0,
                w.ipa.0 + w.size,
                w.pa.0,
                mib(w.size),
                if w.read_only { "ro" } else { "rw" }
            );
        }
        if let Some(p) = v.pristine {
            let size = v.pristine_size();
            let _ = writeln!(
                s,
                "  pristine pa {:#012x}..{:#012x}  {} (image, initrd, DTB copies for restarts)",
                p.0,
                p.0 + size,
                mib(size)
            );
        }
        for e in &v.emulated {
            let w = e.window();
            let _ = writeln!(
                s,
                "  mmio     ipa {:#012x}..{:#012x}  {} ({}, trapped)",
                w.base,
                w.end(),
                e.name,
                e.kind.name
            );
        }
        for &bi in &v.passthrough {
            let d = &b.devices[bi];
            let _ = writeln!(
                s,
                "  pass     ipa {:#012x}..{:#012x}  {} (direct)",
                d.region.base,
                d.region.end(),
                d.name
            );
        }
        for c in &m.channels {
            let Some((k, p)) = c.peers.iter().enumerate().find(|(_, p)| p.vm == v.id) else { continue };
            let _ = writeln!(
                s,
                "  channel  ipa {:#012x}..{:#012x} -> pa {:#012x}  `{}`, peer {k} of {}, doorbell {:?} at {:#x}",
                p.ipa.0,
                p.ipa.0 + c.size(),
                c.pa.0,
                c.name,
                c.peers.len(),
                p.doorbell,
                p.doorbell_ipa.0
            );
        }
        if let Some(at) = v.manager_page {
            let names: Vec<_> = v.manages.iter().map(|t| format!("`{}`", m.vms[t.0].name)).collect();
            let _ = writeln!(s, "  manages  {} (page at ipa {:#x})", names.join(", "), at.0);
        }
    }
    s
}
