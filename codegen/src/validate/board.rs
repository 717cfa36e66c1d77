//! The board half of validation: RAM, the hypervisor region, console, GIC, timers, board
//! devices, and what `hvgen run` can boot. Each problem at its place in the .ron.
use super::*;

/// CPUs QEMU's virt board numbers by Aff0 alone with a GICv3 (GICv2 allows 8).
const MAX_CPUS_V3: u32 = 16;
/// Where QEMU's virt board puts its RAM.
const VIRT_RAM: u64 = 0x4000_0000;
/// QEMU virt's GIC frames (hw/arm/virt.c's memory map), by the name messages give them.
const VIRT_GIC: [(&str, u64); 5] = [
    ("distributor", 0x0800_0000),
    ("CPU interface", 0x0801_0000),
    ("hypervisor interface", 0x0803_0000),
    ("virtual CPU interface", 0x0804_0000),
    ("redistributors", 0x080A_0000),
];
/// QEMU virt's PL011.
const VIRT_UART: u64 = 0x0900_0000;
/// QEMU 7.2's CPU models with MTE (FEAT_MTE2 and up), which `-M virt,mte=on` needs.
const QEMU_MTE_CPUS: &[&str] = &["max"];
/// The SBSA's (and QEMU's) secure physical timer PPI, when the description names none.
pub const DEFAULT_SECURE_TIMER_PPI: u32 = 13;
/// Room hv's own code and data need in its region, besides stacks and page tables.
pub const HV_CODE_MIN: u64 = 0x4_0000;

pub(super) fn board(d: &mut Diags, b: &raw::Board) -> Board {
    let mut phys = Claims::new();
    let ram: Vec<Region> = b
        .ram
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = format!("board.ram.{i}");
            let reg = check_region(d, &p, "RAM range", r.base, r.size, PAGE);
            beyond_el2(d, &format!("{p}.size"), &format!("RAM range {i}"), reg);
            phys.claim(d, &format!("{p}.base"), format!("RAM range {i}"), reg);
            reg
        })
        .collect();
    if ram.is_empty() {
        d.err("board.ram", "the board has no RAM");
    }
    if !dt_string(&b.name) {
        d.err("board.name", "the board name must not hold a NUL (guests' device trees carry it)");
    }
    if b.cpus == 0 {
        d.err("board.cpus", "the board needs at least one CPU");
    }
    let in_ram = |r: &Region| ram.iter().any(|m| m.contains(r));
    let hv = check_region(d, "board.hv", "hypervisor region", b.hv.base, b.hv.size, BLOCK_2M);
    if !in_ram(&hv) {
        d.err("board.hv.base", "the hypervisor region must lie inside one board RAM range");
    }
    if !b.hv.stack.is_multiple_of(PAGE) || b.hv.stack == 0 {
        d.err("board.hv.stack", "the per-CPU stack must be a non-zero multiple of 0x1000");
    }
    let mut in_ram_claims = Claims::new();
    in_ram_claims.claim(d, "board.hv.base", "the hypervisor region".into(), hv);
    let reserved: Vec<Region> = b
        .reserved
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = format!("board.reserved.{i}");
            let reg = check_region(d, &p, "reserved range", r.base, r.size, PAGE);
            if reg.size != 0 && !in_ram(&reg) {
                d.err(
                    &format!("{p}.base"),
                    format!(
                        "reserved range {i} ({:#x}..{:#x}) is not inside one board RAM range: only RAM can be reserved",
                        reg.base,
                        reg.end()
                    ),
                );
            }
            in_ram_claims.claim(d, &format!("{p}.base"), format!("reserved range {i}"), reg);
            reg
        })
        .collect();

    let platform = match b.arch {
        raw::Arch::Aarch64 => aarch64_platform(d, b, &mut phys),
        raw::Arch::Riscv64 => riscv64_platform(d, b, &mut phys),
    };
    let (kind, base, irq) = b.console.parts();
    if uart_arch(kind) != b.arch {
        wrong_arch(d, b, "board.console", &format!("{} console", console_name(kind)));
    }
    let console_irq = line(d, "board.console.irq", irq, &platform);
    let creg = check_region(d, "board.console", "console UART", base, PAGE, PAGE);
    if b.arch == raw::Arch::Aarch64 {
        beyond_el2(d, "board.console.base", "the console UART", creg);
    }
    phys.claim(d, "board.console.base", "the console UART".into(), creg);
    let console = Console { kind, base: Pa(base), irq: console_irq };
    let mut spis: HashMap<IntId, String> = HashMap::from([(console_irq, "board.console.irq".to_string())]);
    let mut names: HashMap<&str, usize> = HashMap::new();
    let devices = b
        .devices
        .iter()
        .enumerate()
        .map(|(i, dev)| {
            let p = format!("board.devices.{i}");
            if let Some(o) = names.insert(&dev.name, i) {
                d.clash(
                    &format!("{p}.name"),
                    format!("device name `{}` is used twice", dev.name),
                    &format!("board.devices.{o}.name"),
                    "first used here",
                );
            }
            if !dt_node_name(&dev.name) {
                d.err(
                    &format!("{p}.name"),
                    format!(
                        "device name `{}` cannot name a device-tree node: 1 to 31 of a-z, A-Z, 0-9, `,._+-`, starting with a letter (hv adds the `@address`)",
                        dev.name
                    ),
                );
            }
            for (k, c) in dev.compatible.iter().enumerate() {
                if c.is_empty() || !c.bytes().all(|b| (0x20..0x7F).contains(&b)) {
                    d.err(
                        &format!("{p}.compatible.{k}"),
                        format!("compatible string {c:?} must be non-empty printable ASCII"),
                    );
                }
            }
            let region = Region { base: dev.base, size: dev.size };
            if dev.size == 0 {
                d.err(&format!("{p}.size"), format!("device `{}` has size 0", dev.name));
            } else if region.base.checked_add(region.size).is_none_or(|e| e > S2_IPA_LIMIT) {
                d.err(
                    &format!("{p}.size"),
                    format!("device `{}` ends beyond the 40-bit address space", dev.name),
                );
            }
            phys.claim(d, &format!("{p}.base"), format!("device `{}`", dev.name), region);
            let irqs = dev
                .irqs
                .iter()
                .enumerate()
                .map(|(k, irq)| {
                    let ip = format!("{p}.irqs.{k}");
                    let id = line(d, &ip, *irq, &platform);
                    if !native(*irq, &platform) {
                        return id;
                    }
                    if let Some(o) = spis.insert(id, ip.clone()) {
                        d.clash(
                            &ip,
                            format!("{irq:?} ({} {}) is used twice on the board", line_name(&platform), id.0),
                            &o,
                            "first used here",
                        );
                    }
                    id
                })
                .collect();
            BoardDevice {
                name: dev.name.clone(),
                region,
                irqs,
                compatible: dev.compatible.clone(),
                dma: dev.dma,
            }
        })
        .collect();
    let raw::Run::Qemu { machine, cpu } = &b.run;
    // QEMU's virt board is a fixed memory map: its RAM is one range at 1 GiB, and its GIC and
    // UART sit at addresses of its own. Any other machine is as its description says, and its
    // name goes to QEMU as written; only a near miss of `virt` is taken for a misspelling.
    if machine != "virt" && strsim::levenshtein(&machine.to_lowercase(), "virt") <= 2 {
        d.err(
            "board.run.machine",
            format!("QEMU machine `{machine}` is not `virt`, which hv knows the memory map of; did you mean `virt`?"),
        );
    } else if machine == "virt" {
        let ram_at = if b.arch == raw::Arch::Riscv64 { RISCV_VIRT_RAM } else { VIRT_RAM };
        if ram.len() != 1 || ram.first().is_some_and(|r| r.base != ram_at) {
            d.err(
                "board.ram",
                format!("QEMU's virt board has one RAM range, at {ram_at:#x}: describe it as `[(base: {ram_at:#x}, size: …)]`"),
            );
        }
        match &platform {
            Platform::Aarch64 { gic, .. } => virt_frames(d, gic, base),
            Platform::Riscv64 { plic, .. } => {
                if plic.base.0 != RISCV_VIRT_PLIC {
                    d.err(
                        "board.gic.base",
                        format!(
                            "QEMU's riscv64 virt board has its PLIC at {RISCV_VIRT_PLIC:#x}, not {:#x}",
                            plic.base.0
                        ),
                    );
                }
                if base != RISCV_VIRT_UART {
                    d.err("board.console.base", format!("QEMU's riscv64 virt board has its NS16550A at {RISCV_VIRT_UART:#x}, not {base:#x}"));
                }
            }
        }
    }
    if b.mte && machine != "virt" {
        d.clash(
            "board.mte",
            format!("QEMU gives RAM allocation tags only on `virt` (`-M virt,mte=on`), and this board runs on `{machine}`"),
            "board.run.machine",
            "the machine is chosen here",
        );
    }
    if b.mte && b.arch == raw::Arch::Aarch64 && !QEMU_MTE_CPUS.contains(&cpu.as_str()) {
        d.clash(
            "board.mte",
            format!(
                "tag memory needs a CPU with MTE, and QEMU's `{cpu}` has none (QEMU 7.2: {})",
                QEMU_MTE_CPUS.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ),
            "board.run.cpu",
            "the CPU is chosen here",
        );
    }
    Board {
        name: b.name.clone(),
        arch: b.arch,
        cpus: b.cpus as usize,
        ram,
        reserved,
        hv,
        stack: b.hv.stack,
        console,
        platform,
        devices,
        mte: b.mte,
        qemu: Qemu { machine: machine.clone(), cpu: cpu.clone() },
    }
}

/// The GIC, its maintenance interrupt and the generic timer of an AArch64 board. `None` (with
/// an error) when a part it needs is missing.
fn aarch64_platform(d: &mut Diags, b: &raw::Board, phys: &mut Claims) -> Platform {
    if b.timebase.is_some() {
        wrong_arch(d, b, "board.timebase", "`timebase`");
    }
    aarch64_parts(d, b, phys).unwrap_or(Platform::Aarch64 {
        gic: Gic::V3 { dist: Pa(VIRT_GIC[0].1), redist: Pa(VIRT_GIC[4].1) },
        maintenance: IntId::ppi(9),
        timer: Timer {
            secure: IntId::ppi(13),
            hyp: IntId::ppi(10),
            virt: IntId::ppi(11),
            phys: IntId::ppi(14),
        },
    })
}

fn aarch64_parts(d: &mut Diags, b: &raw::Board, phys: &mut Claims) -> Option<Platform> {
    let gic = match b.gic {
        raw::Gic::Plic { .. } => {
            wrong_arch(d, b, "board.gic", "a PLIC");
            Gic::V3 { dist: Pa(VIRT_GIC[0].1), redist: Pa(VIRT_GIC[4].1) }
        }
        raw::Gic::V2 { dist, cpu, hyp, vcpu } => {
            if b.cpus > 8 {
                d.clash(
                    "board.cpus",
                    format!("GICv2 supports at most 8 CPUs, the board declares {}", b.cpus),
                    "board.gic",
                    "the GIC is declared as V2 here",
                );
            }
            Gic::V2 { dist: Pa(dist), cpu: Pa(cpu), hyp: Pa(hyp), vcpu: Pa(vcpu) }
        }
        raw::Gic::V3 { dist, redist } => {
            // hv numbers pCPUs by MPIDR Aff0; QEMU's virt board counts Aff0 up to 16 per cluster
            // with a GICv3 (its target-list width), then moves on to Aff1.
            if b.cpus > MAX_CPUS_V3 {
                d.clash(
                    "board.cpus",
                    format!(
                        "hv numbers CPUs by MPIDR Aff0, which this board keeps below {MAX_CPUS_V3} with a GICv3: at most {MAX_CPUS_V3} CPUs, the board declares {}",
                        b.cpus
                    ),
                    "board.gic",
                    "the GIC is declared as V3 here",
                );
            }
            Gic::V3 { dist: Pa(dist), redist: Pa(redist) }
        }
    };
    let gic_field = |name: &str| match (b.gic_is_v2(), name) {
        (true, "GIC distributor") => "board.gic.dist",
        (true, "GIC CPU interface") => "board.gic.cpu",
        (true, "GIC hypervisor interface") => "board.gic.hyp",
        (true, _) => "board.gic.vcpu",
        (false, "GIC distributor") => "board.gic.dist",
        (false, _) => "board.gic.redist",
    };
    for (name, r) in gic.frames(b.cpus as usize) {
        let path = gic_field(name);
        if r.base % PAGE != 0 {
            d.err(path, format!("{name} base {:#x} is not aligned to 0x1000", r.base));
        }
        if r.base.checked_add(r.size).is_none_or(|e| e > EL2_VA_LIMIT) {
            d.err(
                path,
                format!(
                    "{name}: {:#x} bytes from {:#x} go beyond the {}-bit space hv's own EL2 map covers",
                    r.size,
                    r.base,
                    EL2_VA_LIMIT.trailing_zeros()
                ),
            );
            continue;
        }
        phys.claim(d, path, format!("the {name}"), r);
    }
    let Some(maintenance_irq) = b.maintenance_irq else {
        d.err("board", "an AArch64 board needs `maintenance_irq`, the GIC's maintenance PPI");
        return None;
    };
    let Some(t) = &b.timer else {
        d.err("board", "an AArch64 board needs `timer`, the generic timer's PPIs");
        return None;
    };
    let maintenance = irq_to_intid(d, "board.maintenance_irq", maintenance_irq, IrqClass::Ppi);
    // The secure physical timer is the board's too: its guests' device trees list it.
    let (secure_path, secure) = match t.secure {
        Some(irq) => ("board.timer.secure", irq_to_intid(d, "board.timer.secure", irq, IrqClass::Ppi)),
        None => ("board.timer", IntId::ppi(DEFAULT_SECURE_TIMER_PPI)),
    };
    let timer = Timer {
        secure,
        hyp: irq_to_intid(d, "board.timer.hyp", t.hyp, IrqClass::Ppi),
        virt: irq_to_intid(d, "board.timer.virt", t.virt, IrqClass::Ppi),
        phys: irq_to_intid(d, "board.timer.phys", t.phys, IrqClass::Ppi),
    };
    let mut ppis: HashMap<IntId, String> = HashMap::new();
    for (path, id) in [
        (secure_path, secure),
        ("board.maintenance_irq", maintenance),
        ("board.timer.hyp", timer.hyp),
        ("board.timer.virt", timer.virt),
        ("board.timer.phys", timer.phys),
    ] {
        if let Some(o) = ppis.insert(id, path.to_string()) {
            let note = if o == "board.timer" {
                format!("the secure physical timer has PPI {DEFAULT_SECURE_TIMER_PPI} unless `secure:` says otherwise")
            } else {
                "first used here".to_string()
            };
            d.clash(
                path,
                format!("INTID {} (PPI {}) is used twice", id.0, id.0.saturating_sub(16)),
                &o,
                note,
            );
        }
    }
    Some(Platform::Aarch64 { gic, maintenance, timer })
}

/// QEMU virt's PLIC and NS16550A (hw/riscv/virt.c), and its RAM.
const RISCV_VIRT_PLIC: u64 = 0x0C00_0000;
const RISCV_VIRT_UART: u64 = 0x1000_0000;
const RISCV_VIRT_RAM: u64 = 0x8000_0000;

/// The PLIC and timebase of a riscv64 board.
fn riscv64_platform(d: &mut Diags, b: &raw::Board, phys: &mut Claims) -> Platform {
    if b.maintenance_irq.is_some() {
        wrong_arch(d, b, "board.maintenance_irq", "a GIC maintenance interrupt");
    }
    if b.timer.is_some() {
        wrong_arch(d, b, "board.timer", "the generic timer");
    }
    if b.mte {
        wrong_arch(d, b, "board.mte", "memory tagging (MTE)");
    }
    let timebase = b.timebase.unwrap_or_else(|| {
        d.err("board", "a riscv64 board needs `timebase`, the ticks per second of its `time` counter (QEMU virt: 10_000_000)");
        1
    });
    if timebase == 0 {
        d.err("board.timebase", "the timebase must be non-zero");
    }
    let plic = match b.gic {
        raw::Gic::Plic { base, size, sources } => {
            let r = check_region(d, "board.gic", "PLIC", base, size, PAGE);
            if size < PLIC_MIN_SIZE {
                d.err("board.gic.size", format!("a PLIC with S-mode contexts spans at least {PLIC_MIN_SIZE:#x} bytes (priorities, pending, enables, then the contexts from 0x200000)"));
            }
            phys.claim(d, "board.gic.base", "the PLIC".into(), r);
            if sources == 0 || sources > 1023 {
                d.err("board.gic.sources", format!("a PLIC has 1 to 1023 sources, not {sources}"));
            }
            Plic { base: Pa(base), size, sources: sources.clamp(1, 1023) }
        }
        _ => {
            wrong_arch(d, b, "board.gic", "a GIC");
            Plic { base: Pa(RISCV_VIRT_PLIC), size: 0x60_0000, sources: 95 }
        }
    };
    Platform::Riscv64 { plic, timebase: timebase.max(1) }
}

/// The smallest PLIC hv drives: up to the first context's threshold and claim registers.
pub const PLIC_MIN_SIZE: u64 = 0x20_1000;

fn console_name(k: UartKind) -> &'static str {
    match k {
        UartKind::Pl011 => "a PL011",
        UartKind::Ns16550 => "an NS16550",
        UartKind::Cadence => "a Cadence",
    }
}

/// The architecture whose boards have this kind of UART (the ones hv is tested with).
fn uart_arch(k: UartKind) -> raw::Arch {
    match k {
        UartKind::Pl011 | UartKind::Cadence => raw::Arch::Aarch64,
        UartKind::Ns16550 => raw::Arch::Riscv64,
    }
}

/// `what`, at `path`, belongs to the other architecture than the board's.
fn wrong_arch(d: &mut Diags, b: &raw::Board, path: &str, what: &str) {
    let (arch, other) = match b.arch {
        raw::Arch::Aarch64 => ("AArch64", "riscv64"),
        raw::Arch::Riscv64 => ("riscv64", "AArch64"),
    };
    d.clash(
        path,
        format!("{what} belongs to {other} boards, and this board is {arch}"),
        "board.arch",
        if b.arch == raw::Arch::Aarch64 {
            "`arch` is Aarch64 unless the board says otherwise"
        } else {
            "the architecture is chosen here"
        },
    );
}

/// Where QEMU's virt board has its GIC frames and UART: a frame named for another (the
/// hypervisor and virtual CPU interfaces swapped, say) would have hv drive the wrong one.
fn virt_frames(d: &mut Diags, gic: &Gic, uart: u64) {
    let named: &[(&str, &str, u64)] = match *gic {
        Gic::V2 { dist, cpu, hyp, vcpu } => &[
            ("board.gic.dist", "distributor", dist.0),
            ("board.gic.cpu", "CPU interface", cpu.0),
            ("board.gic.hyp", "hypervisor interface", hyp.0),
            ("board.gic.vcpu", "virtual CPU interface", vcpu.0),
        ],
        Gic::V3 { dist, redist } => {
            &[("board.gic.dist", "distributor", dist.0), ("board.gic.redist", "redistributors", redist.0)]
        }
    };
    for &(path, name, got) in named {
        let at = VIRT_GIC.iter().find(|f| f.0 == name).map_or(0, |f| f.1);
        if got != at {
            let whose = VIRT_GIC
                .iter()
                .find(|f| f.1 == got)
                .map(|f| format!(" (that is its {})", f.0))
                .unwrap_or_default();
            d.err(path, format!("QEMU's virt board has its GIC {name} at {at:#x}, not {got:#x}{whose}"));
        }
    }
    if uart != VIRT_UART {
        d.err(
            "board.console.base",
            format!("QEMU's virt board has its PL011 at {VIRT_UART:#x}, not {uart:#x}"),
        );
    }
}

/// Everything hv reaches itself (RAM, its console, the GIC) must lie in its own EL2 map.
fn beyond_el2(d: &mut Diags, path: &str, what: &str, r: Region) {
    if r.size != 0 && r.end() > EL2_VA_LIMIT {
        d.err(
            path,
            format!(
                "{what} ({:#x}..{:#x}) ends beyond the {}-bit space hv's own EL2 map covers",
                r.base,
                r.end(),
                EL2_VA_LIMIT.trailing_zeros()
            ),
        );
    }
}

impl raw::Board {
    fn gic_is_v2(&self) -> bool {
        matches!(self.gic, raw::Gic::V2 { .. })
    }
}
