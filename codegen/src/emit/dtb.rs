//! Each guest's device tree, built from the description: memory, CPUs (PSCI over HVC), the
//! virtual GIC and timer, the emulated and passthrough devices with their interrupts, and
//! `chosen`. One node tree renders to both the DTB (vm-fdt) the guest gets and a .dts beside it
//! for review.
use crate::model::*;
use hv_types::IntId;
use std::fmt::Write;

#[derive(Debug, Clone)]
pub enum Prop {
    Str(String),
    Strs(Vec<String>),
    U32(u32),
    U32s(Vec<u32>),
    /// 64-bit cells (addresses and sizes with #address-cells = #size-cells = 2).
    U64s(Vec<u64>),
    Empty,
}

#[derive(Debug, Default)]
pub struct Node {
    pub name: String,
    pub props: Vec<(String, Prop)>,
    pub children: Vec<Node>,
}

impl Node {
    fn new(name: impl Into<String>) -> Node {
        Node { name: name.into(), ..Default::default() }
    }
    fn prop(mut self, k: &str, v: Prop) -> Node {
        self.props.push((k.into(), v));
        self
    }
    fn child(mut self, c: Node) -> Node {
        self.children.push(c);
        self
    }
}

const CLOCK_PHANDLE: u32 = 1;
const GIC_PHANDLE: u32 = 2;
/// Phandle of channel c's GPIO doorbell: `GPIO_PHANDLE + c`.
const GPIO_PHANDLE: u32 = 0x40;
/// Interrupt specifier flag: rising edge.
const EDGE_RISING: u32 = 1;
/// `linux,code` of the key that stands for peer k's rings: BTN_0 + k.
const BTN_0: u32 = 0x100;
/// Interrupt specifier: SPI or PPI, number, flags (level-high; GICv2 PPIs add a CPU mask).
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
const LEVEL_HIGH: u32 = 4;

/// The VM's virtual GIC at the board's GIC addresses, and the architected timer.
fn gic_and_timer(gic: &Gic, t: &Timer, v: &Vm) -> (Node, Node) {
    let n = v.vcpus.len() as u64;
    let (compatible, reg, ppi_mask) = match *gic {
        Gic::V3 { dist, redist } => ("arm,gic-v3", vec![dist.0, GICD_SIZE, redist.0, GICR_STRIDE * n], 0),
        // The CPU interface is the GICV frame, mapped at the real GICC's address.
        Gic::V2 { dist, cpu, .. } => {
            ("arm,cortex-a15-gic", vec![dist.0, 0x1000, cpu.0, GICC_SIZE], ((1 << n) - 1) << 8)
        }
    };
    let intc = Node::new(format!("intc@{:x}", gic.dist().0))
        .prop("compatible", s(compatible))
        .prop("#interrupt-cells", Prop::U32(3))
        .prop("interrupt-controller", Prop::Empty)
        .prop("reg", Prop::U64s(reg))
        .prop("phandle", Prop::U32(GIC_PHANDLE));
    let flags = LEVEL_HIGH | ppi_mask;
    let ppis = [t.secure.0 - 16, t.phys.0 - 16, t.virt.0 - 16, t.hyp.0 - 16];
    let timer = Node::new("timer")
        .prop("compatible", s("arm,armv8-timer"))
        .prop("interrupts", Prop::U32s(ppis.iter().flat_map(|&p| [GIC_PPI, p, flags]).collect()))
        .prop("always-on", Prop::Empty);
    (intc, timer)
}

fn s(v: &str) -> Prop {
    Prop::Str(v.into())
}

/// How a node names one of its interrupt lines: three GIC cells, or one PLIC source.
fn irq_cells(b: &Board, line: IntId) -> Vec<u32> {
    match b.platform {
        Platform::Aarch64 { .. } => vec![GIC_SPI, line.0 - 32, LEVEL_HIGH],
        Platform::Riscv64 { .. } => vec![line.0],
    }
}

/// `n` with its interrupt lines (and, on riscv64, the PLIC as their parent).
fn with_irqs(b: &Board, n: Node, lines: &[IntId]) -> Node {
    let n = match b.arch {
        Arch::Aarch64 => n,
        Arch::Riscv64 => n.prop("interrupt-parent", Prop::U32(GIC_PHANDLE)),
    };
    n.prop("interrupts", Prop::U32s(lines.iter().flat_map(|&i| irq_cells(b, i)).collect()))
}

/// The CPUs and what only the architecture has: the interrupt controller, timer, firmware
/// interface and clocks. Returns the nodes and the interrupt parent's phandle.
fn platform_nodes(b: &Board, v: &Vm) -> Vec<Node> {
    match &b.platform {
        Platform::Aarch64 { gic, timer, .. } => {
            let mut cpus =
                Node::new("cpus").prop("#address-cells", Prop::U32(1)).prop("#size-cells", Prop::U32(0));
            for i in 0..v.vcpus.len() {
                cpus = cpus.child(
                    Node::new(format!("cpu@{i}"))
                        .prop("device_type", s("cpu"))
                        .prop("compatible", s("arm,armv8"))
                        .prop("reg", Prop::U32(i as u32))
                        .prop("enable-method", s("psci")),
                );
            }
            let (intc, timer) = gic_and_timer(gic, timer, v);
            vec![
                intc,
                timer,
                cpus,
                Node::new("psci")
                    .prop("compatible", Prop::Strs(vec!["arm,psci-1.0".into(), "arm,psci-0.2".into()]))
                    .prop("method", s("hvc")),
                Node::new("apb-pclk")
                    .prop("compatible", s("fixed-clock"))
                    .prop("#clock-cells", Prop::U32(0))
                    .prop("clock-frequency", Prop::U32(24_000_000))
                    .prop("clock-output-names", s("clk24mhz"))
                    .prop("phandle", Prop::U32(CLOCK_PHANDLE)),
            ]
        }
        Platform::Riscv64 { plic, timebase } => riscv_nodes(plic, *timebase, v),
    }
}

/// What a vCPU implements, as the guest's `riscv,isa`: the host hart's extensions without `h`
/// (a guest cannot nest), with Sstc so it programs its own timer.
pub const RISCV_ISA: &str = "rv64imafdc_zicsr_zifencei_zihintpause_sstc";
const RISCV_EXTENSIONS: &[&str] = &["i", "m", "a", "f", "d", "c", "zicsr", "zifencei", "zihintpause", "sstc"];
/// Phandle of vCPU k's interrupt controller: `HART_INTC_PHANDLE + k`.
const HART_INTC_PHANDLE: u32 = 0x10;
/// The hart-local interrupt numbers a PLIC context drives: M- and S-mode external.
const IRQ_M_EXT: u32 = 11;
const IRQ_S_EXT: u32 = 9;

/// riscv64: harts with their local interrupt controllers, the timebase, the PLIC. vCPU k owns
/// PLIC contexts 2k (M-mode, never used by a guest) and 2k+1 (S-mode), as on QEMU's virt board.
fn riscv_nodes(plic: &Plic, timebase: u64, v: &Vm) -> Vec<Node> {
    let mut cpus = Node::new("cpus")
        .prop("#address-cells", Prop::U32(1))
        .prop("#size-cells", Prop::U32(0))
        .prop("timebase-frequency", Prop::U32(timebase.min(u32::MAX as u64) as u32));
    let mut contexts = Vec::new();
    for i in 0..v.vcpus.len() as u32 {
        let intc = Node::new("interrupt-controller")
            .prop("compatible", s("riscv,cpu-intc"))
            .prop("#interrupt-cells", Prop::U32(1))
            .prop("interrupt-controller", Prop::Empty)
            .prop("phandle", Prop::U32(HART_INTC_PHANDLE + i));
        cpus = cpus.child(
            Node::new(format!("cpu@{i}"))
                .prop("device_type", s("cpu"))
                .prop("reg", Prop::U32(i))
                .prop("status", s("okay"))
                .prop("compatible", s("riscv"))
                .prop("riscv,isa", s(RISCV_ISA))
                .prop("riscv,isa-base", s("rv64i"))
                .prop(
                    "riscv,isa-extensions",
                    Prop::Strs(RISCV_EXTENSIONS.iter().map(|e| e.to_string()).collect()),
                )
                .prop("mmu-type", s("riscv,sv39"))
                .child(intc),
        );
        contexts.extend([HART_INTC_PHANDLE + i, IRQ_M_EXT, HART_INTC_PHANDLE + i, IRQ_S_EXT]);
    }
    let plic = Node::new(format!("plic@{:x}", plic.base.0))
        .prop("compatible", Prop::Strs(vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()]))
        .prop("#address-cells", Prop::U32(0))
        .prop("#interrupt-cells", Prop::U32(1))
        .prop("interrupt-controller", Prop::Empty)
        .prop("reg", Prop::U64s(vec![plic.base.0, plic.size]))
        .prop("riscv,ndev", Prop::U32(plic.sources))
        .prop("interrupts-extended", Prop::U32s(contexts))
        .prop("phandle", Prop::U32(GIC_PHANDLE));
    vec![cpus, plic]
}

/// The device tree of `v`.
pub fn tree(b: &Board, v: &Vm, channels: &[Channel], vms: &[Vm]) -> Node {
    let mem = v.ram.iter().filter(|w| !w.flash).flat_map(|w| [w.ipa.0, w.size]).collect();
    let first = v.ram.iter().find(|w| !w.flash).map(|w| w.ipa.0).unwrap_or(0);
    let compatible = match b.arch {
        Arch::Aarch64 => "linux,dummy-virt",
        Arch::Riscv64 => "riscv-virtio",
    };
    let mut root = Node::new("")
        .prop("#address-cells", Prop::U32(2))
        .prop("#size-cells", Prop::U32(2))
        .prop("compatible", s(compatible))
        .prop("model", Prop::Str(format!("hv VM `{}` on {}", v.name, b.name)));
    // On AArch64 every interrupt goes to the GIC, named once at the root. On riscv64 the harts'
    // own controllers must have no parent (they are the roots the PLIC feeds), so each device
    // names the PLIC itself, as QEMU's trees do.
    if b.arch == Arch::Aarch64 {
        root = root.prop("interrupt-parent", Prop::U32(GIC_PHANDLE));
    }
    for n in platform_nodes(b, v) {
        root = root.child(n);
    }
    root = root.child(
        Node::new(format!("memory@{first:x}")).prop("device_type", s("memory")).prop("reg", Prop::U64s(mem)),
    );
    let mut stdout = None;
    for e in &v.emulated {
        let short =
            e.kind.compatible.first().and_then(|c| c.split(',').nth(1)).unwrap_or(&e.name).to_string();
        let name = format!("{short}@{:x}", e.ipa.0);
        let mut n = Node::new(&name)
            .prop("compatible", Prop::Strs(e.kind.compatible.clone()))
            .prop("reg", Prop::U64s(vec![e.ipa.0, e.kind.size]));
        if let Some(irq) = e.irq {
            n = with_irqs(b, n, &[irq]);
        }
        if e.kind.compatible.iter().any(|c| c == "arm,primecell") {
            n = n
                .prop("clocks", Prop::U32s(vec![CLOCK_PHANDLE, CLOCK_PHANDLE]))
                .prop("clock-names", Prop::Strs(vec!["uartclk".into(), "apb_pclk".into()]));
        }
        if e.kind.compatible.iter().any(|c| c == "ns16550a") {
            n = n.prop("clock-frequency", Prop::U32(NS16550_CLOCK));
        }
        if stdout.is_none() && e.kind.console {
            stdout = Some(format!("/{name}"));
        }
        root = root.child(n);
    }
    // Passthrough devices at their own addresses, with their interrupts.
    for &bi in &v.passthrough {
        let d = &b.devices[bi];
        let mut n = Node::new(format!("{}@{:x}", d.name, d.region.base));
        if !d.compatible.is_empty() {
            n = n.prop("compatible", Prop::Strs(d.compatible.clone()));
        }
        n = n.prop("reg", Prop::U64s(vec![d.region.base, d.region.size]));
        if !d.irqs.is_empty() {
            n = with_irqs(b, n, &d.irqs);
        }
        // Linux's AMBA bus probes a PrimeCell only with its bus clock.
        if d.compatible.iter().any(|c| c == "arm,primecell") {
            n = n
                .prop("clocks", Prop::U32s(vec![CLOCK_PHANDLE]))
                .prop("clock-names", Prop::Strs(vec!["apb_pclk".into()]));
        }
        root = root.child(n);
    }
    for n in channel_nodes(b, v, channels) {
        root = root.child(n);
    }
    if let Some(at) = v.manager_page {
        let names = v.manages.iter().map(|m| vms[m.0].name.clone()).collect();
        root = root.child(
            Node::new(format!("vm-manager@{:x}", at.0))
                .prop("compatible", s("hv,vm-manager"))
                .prop("reg", Prop::U64s(vec![at.0, REG_PAGE]))
                .prop("hv,vms", Prop::Strs(names)),
        );
    }
    let mut chosen = Node::new("chosen");
    if let Some(d) = &v.dtb {
        chosen = chosen.prop("bootargs", Prop::Str(d.bootargs.clone()));
    }
    if let Some(p) = stdout {
        chosen = chosen.prop("stdout-path", Prop::Str(p));
    }
    if let Some((_, ipa, size)) = &v.image.initrd {
        chosen = chosen
            .prop("linux,initrd-start", Prop::U64s(vec![ipa.0]))
            .prop("linux,initrd-end", Prop::U64s(vec![ipa.0 + size]));
    }
    root.child(chosen)
}

/// GPIO line names of a channel's PL061 doorbell (docs/channels.md): lines 0 to 3 fire when
/// peer 0 to 3 rings, lines 4 to 7 ring peer 0 to 3.
fn gpio_line_names(c: &Channel) -> Vec<String> {
    let n = c.peers.len();
    let name = |dir: &str, k: usize| if k < n { format!("{}-{dir}-{k}", c.name) } else { String::new() };
    (0..CHANNEL_PEERS)
        .map(|k| name("rung-by", k))
        .chain((0..CHANNEL_PEERS).map(|k| name("ring", k)))
        .collect()
}

/// The VM's ends of its channels: each region (outside the memory node, so Linux reaches it
/// through `/dev/mem`) and its doorbell.
fn channel_nodes(b: &Board, v: &Vm, channels: &[Channel]) -> Vec<Node> {
    let mut out = Vec::new();
    for (id, c) in channels.iter().enumerate() {
        let Some((k, p)) = c.peers.iter().enumerate().find(|(_, p)| p.vm == v.id) else { continue };
        out.push(
            Node::new(format!("channel@{:x}", p.ipa.0))
                .prop("compatible", s("hv,channel"))
                .prop("hv,id", Prop::U32(id as u32))
                .prop("reg", Prop::U64s(vec![p.ipa.0, c.size()]))
                .prop("hv,name", s(&c.name))
                .prop("hv,peer", Prop::U32(k as u32))
                .prop("hv,peers", Prop::U32(c.peers.len() as u32))
                .prop("hv,shared", Prop::U64s(vec![CHANNEL_STATE, c.shared]))
                .prop("hv,output", Prop::U64s(vec![c.output_offset(0), c.output])),
        );
        let at = p.doorbell_ipa.0;
        let n = match p.doorbell {
            DoorbellKind::Page => Node::new(format!("doorbell@{at:x}")).prop("compatible", s("hv,doorbell")),
            DoorbellKind::Pl061 => Node::new(format!("gpio@{at:x}"))
                .prop("compatible", Prop::Strs(vec!["arm,pl061".into(), "arm,primecell".into()]))
                .prop("phandle", Prop::U32(GPIO_PHANDLE + id as u32))
                .prop("gpio-controller", Prop::Empty)
                .prop("#gpio-cells", Prop::U32(2))
                .prop("interrupt-controller", Prop::Empty)
                .prop("#interrupt-cells", Prop::U32(2))
                .prop("gpio-line-names", Prop::Strs(gpio_line_names(c)))
                .prop("clocks", Prop::U32s(vec![CLOCK_PHANDLE]))
                .prop("clock-names", Prop::Strs(vec!["apb_pclk".into()])),
            DoorbellKind::SifiveGpio => Node::new(format!("gpio@{at:x}"))
                .prop("compatible", s("sifive,gpio0"))
                .prop("gpio-controller", Prop::Empty)
                .prop("#gpio-cells", Prop::U32(2))
                .prop("interrupt-controller", Prop::Empty)
                .prop("#interrupt-cells", Prop::U32(2))
                .prop("gpio-line-names", Prop::Strs(gpio_line_names(c))),
        };
        let n = n.prop("reg", Prop::U64s(vec![at, REG_PAGE])).prop("hv,channel", s(&c.name));
        // The SiFive controller has one interrupt per line, and Linux counts its lines by them.
        let lines: Vec<IntId> = match p.doorbell {
            DoorbellKind::SifiveGpio => (0..SIFIVE_LINES).map(|i| IntId(p.irq.0 + i)).collect(),
            _ => vec![p.irq],
        };
        out.push(with_irqs(b, n, &lines));
        if p.doorbell == DoorbellKind::Pl061 {
            out.push(gpio_keys(c, id, k));
        }
    }
    out
}

/// For a GPIO doorbell, a `gpio-keys` device with one key per other peer, wired to its input
/// line: Linux's gpio_keys driver holds the lines' interrupts from the moment it loads, so no
/// ring is missed while nobody waits (the GPIO character device only sees edges after a
/// request, and the PL061 driver clears what was latched before). Each ring is a press of
/// BTN_0 + k on the input device (docs/channels.md).
fn gpio_keys(c: &Channel, id: usize, me: usize) -> Node {
    let mut n = Node::new(format!("gpio-keys-{}", c.name)).prop("compatible", s("gpio-keys"));
    for k in (0..c.peers.len()).filter(|&k| k != me) {
        n = n.child(
            Node::new(format!("rung-by-{k}"))
                .prop("label", Prop::Str(format!("{} rung by peer {k}", c.name)))
                .prop("linux,code", Prop::U32(BTN_0 + k as u32))
                .prop(
                    "interrupts-extended",
                    Prop::U32s(vec![GPIO_PHANDLE + id as u32, k as u32, EDGE_RISING]),
                ),
        );
    }
    n
}

/// The input clock an emulated NS16550A reports (QEMU's, 3.6864 MHz): drivers derive the
/// baud divisor from it, which the emulation ignores.
const NS16550_CLOCK: u32 = 3_686_400;

pub fn to_dtb(root: &Node) -> Result<Vec<u8>, String> {
    let mut w = vm_fdt::FdtWriter::new().map_err(|e| e.to_string())?;
    write_node(&mut w, root).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())
}

fn write_node(w: &mut vm_fdt::FdtWriter, n: &Node) -> Result<(), vm_fdt::Error> {
    let h = w.begin_node(&n.name)?;
    for (k, v) in &n.props {
        match v {
            Prop::Str(x) => w.property_string(k, x)?,
            Prop::Strs(x) => w.property_string_list(k, x.clone())?,
            Prop::U32(x) => w.property_u32(k, *x)?,
            Prop::U32s(x) => w.property_array_u32(k, x)?,
            Prop::U64s(x) => w.property_array_u64(k, x)?,
            Prop::Empty => w.property_null(k)?,
        }
    }
    for c in &n.children {
        write_node(w, c)?;
    }
    w.end_node(h)
}

pub fn to_dts(root: &Node) -> String {
    let mut out = String::from("/dts-v1/;\n\n");
    dts_node(&mut out, root, 0);
    out
}

fn dts_node(out: &mut String, n: &Node, depth: usize) {
    let ind = "\t".repeat(depth);
    let name = if n.name.is_empty() { "/" } else { &n.name };
    let _ = writeln!(out, "{ind}{name} {{");
    for (k, v) in &n.props {
        let val = match v {
            Prop::Str(x) => format!(" = \"{x}\""),
            Prop::Strs(x) => {
                format!(" = {}", x.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "))
            }
            Prop::U32(x) => format!(" = <{x:#x}>"),
            Prop::U32s(x) => {
                format!(" = <{}>", x.iter().map(|c| format!("{c:#x}")).collect::<Vec<_>>().join(" "))
            }
            Prop::U64s(x) => format!(
                " = <{}>",
                x.iter()
                    .map(|c| format!("{:#x} {:#x}", c >> 32, c & 0xFFFF_FFFF))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Prop::Empty => String::new(),
        };
        let _ = writeln!(out, "{ind}\t{k}{val};");
    }
    for c in &n.children {
        dts_node(out, c, depth + 1);
    }
    let _ = writeln!(out, "{ind}}};");
}
