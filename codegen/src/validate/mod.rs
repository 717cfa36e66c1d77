//! raw -> model. Checks everything knowable before boot and collects every problem, each at the
//! place in the .ron it comes from, with a note at the other place for clashes.
use crate::diag::Diags;
use crate::images::{self, ImageSource};
use crate::layout;
use crate::model::*;
use crate::raw;
use hv_types::{CpuId, IntId, Ipa, IrqClass, Pa, VmId, VGIC_INTIDS};
use std::collections::HashMap;

mod board;
mod channels;
use board::board;
pub use board::HV_CODE_MIN;

const BLOCK_2M: u64 = 0x20_0000;
/// The end of what hv's own EL2 map can cover (tables.rs), and of the IPA and PA spaces stage 2
/// covers: one limit each, taken from the table formats codegen builds.
const EL2_VA_LIMIT: u64 = crate::tables::Regime::El2.va_limit();
const S2_IPA_LIMIT: u64 = crate::tables::Regime::Stage2.va_limit();

fn irq_to_intid(d: &mut Diags, path: &str, irq: raw::Irq, want: IrqClass) -> IntId {
    let (class, n, max) = match irq {
        raw::Irq::Sgi(n) => (IrqClass::Sgi, n, 15),
        raw::Irq::Ppi(n) => (IrqClass::Ppi, n, 15),
        raw::Irq::Spi(n) => (IrqClass::Spi, n, 987),
        raw::Irq::Source(n) => {
            d.err(
                path,
                format!("{irq:?} names a PLIC source, and this AArch64 board has a GIC: write {want:?}(n)"),
            );
            (want, n.min(15), 15)
        }
    };
    if class != want {
        d.err(
            path,
            format!(
                "this interrupt must be a{} {want:?}, not {irq:?}",
                if want == IrqClass::Sgi { "n" } else { "" }
            ),
        );
    } else if n > max {
        d.err(path, format!("{irq:?} is out of range: {class:?} numbers go from 0 to {max}"));
    }
    // Reported above; clamped so nothing downstream computes with it.
    let n = n.min(max);
    match class {
        IrqClass::Sgi => IntId::sgi(n),
        IrqClass::Ppi => IntId::ppi(n),
        IrqClass::Spi => IntId::spi(n),
    }
}

/// A PLIC source of a riscv64 board with `sources` of them (1..=`sources`; 0 means none).
fn irq_to_source(d: &mut Diags, path: &str, irq: raw::Irq, sources: u32) -> IntId {
    match irq {
        raw::Irq::Source(n) if (1..=sources).contains(&n) => IntId(n),
        raw::Irq::Source(n) => {
            d.err(path, format!("{irq:?} is out of range: this PLIC has sources 1 to {sources}"));
            IntId(n.clamp(1, sources.max(1)))
        }
        _ => {
            d.err(
                path,
                format!("{irq:?} is a GIC interrupt, and this riscv64 board has a PLIC: name the source, `Source(n)`"),
            );
            IntId(1)
        }
    }
}

/// Does `irq` name a line of the board's kind of interrupt controller? (Others are reported by
/// `line`, and left out of clash checks.)
fn native(irq: raw::Irq, platform: &Platform) -> bool {
    matches!(
        (irq, platform),
        (raw::Irq::Source(_), Platform::Riscv64 { .. })
            | (raw::Irq::Sgi(_) | raw::Irq::Ppi(_) | raw::Irq::Spi(_), Platform::Aarch64 { .. })
    )
}

/// A board or VM interrupt line, in the board's interrupt controller's numbering: an SPI on a
/// GIC, a source on a PLIC.
fn line(d: &mut Diags, path: &str, irq: raw::Irq, platform: &Platform) -> IntId {
    match platform {
        Platform::Aarch64 { .. } => irq_to_intid(d, path, irq, IrqClass::Spi),
        Platform::Riscv64 { plic, .. } => irq_to_source(d, path, irq, plic.sources),
    }
}

/// Hardware-backed lines a VM can have: the generated per-VM bitmaps are 128 bits.
const HW_LINES: u32 = 128;

/// What the board's interrupt controller calls a line, for messages.
fn line_name(p: &Platform) -> &'static str {
    match p {
        Platform::Aarch64 { .. } => "INTID",
        Platform::Riscv64 { .. } => "source",
    }
}

fn check_region(d: &mut Diags, path: &str, what: &str, base: u64, size: u64, align: u64) -> Region {
    if size == 0 {
        d.err(&format!("{path}.size"), format!("{what} has size 0"));
    } else if !size.is_multiple_of(align) {
        d.err(&format!("{path}.size"), format!("{what} size {size:#x} is not a multiple of {align:#x}"));
    }
    if !base.is_multiple_of(align) {
        d.err(&format!("{path}.base"), format!("{what} base {base:#x} is not aligned to {align:#x}"));
    }
    if base.checked_add(size).is_none_or(|e| e > S2_IPA_LIMIT) {
        d.err(&format!("{path}.size"), format!("{what} ends beyond the 40-bit address space"));
    }
    Region { base, size: size.min(S2_IPA_LIMIT - base.min(S2_IPA_LIMIT)) }
}

/// Named places that must not overlap; reports each clash once, at the later one.
struct Claims {
    list: Vec<(String, Region, String)>,
}

impl Claims {
    fn new() -> Self {
        Claims { list: vec![] }
    }
    fn claim(&mut self, d: &mut Diags, path: &str, what: String, r: Region) {
        if r.size == 0 {
            return;
        }
        if let Some((opath, _, owhat)) = self.list.iter().find(|(_, o, _)| o.overlaps(&r)) {
            d.clash(
                path,
                format!("{what} ({:#x}..{:#x}) overlaps {owhat}", r.base, r.end()),
                opath,
                format!("{owhat} is declared here"),
            );
        }
        self.list.push((path.to_string(), r, what));
    }
}

fn did_you_mean<'a>(name: &str, options: impl Iterator<Item = &'a str>) -> String {
    let best = options
        .map(|o| (strsim::levenshtein(&name.to_lowercase(), &o.to_lowercase()), o))
        .min_by_key(|(dist, _)| *dist);
    match best {
        Some((dist, o)) if dist <= 3.max(name.len() / 3) => format!("; did you mean `{o}`?"),
        _ => String::new(),
    }
}

/// A device-tree node name (without its unit address): 1 to 31 characters of the DT spec's set,
/// starting with a letter.
fn dt_node_name(n: &str) -> bool {
    n.len() <= 31
        && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || ",._+-".contains(c))
}

/// A string a device-tree property can hold: no NUL to cut it short.
fn dt_string(s: &str) -> bool {
    !s.contains('\0')
}

fn valid_name(n: &str) -> bool {
    let mut cs = n.chars();
    cs.next().is_some_and(|c| c.is_ascii_lowercase())
        && cs.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Per-VM checks that need nothing outside the VM and the board.
/// What a VM's address space and interrupt lines already hold, each at its place in the
/// description: `vm` fills it, and the channels and management pages are checked against it.
struct Space {
    ipas: Claims,
    irqs: HashMap<IntId, String>,
}

fn vm(
    d: &mut Diags,
    i: usize,
    v: &raw::Vm,
    b: &Board,
    kinds: &[DeviceKind],
    cpu_owner: &mut HashMap<u32, usize>,
) -> (Vm, Space) {
    let p = format!("vms.{i}");
    if !valid_name(&v.name) {
        d.err(
            &format!("{p}.name"),
            format!("VM name `{}` must start with a-z and use only a-z, 0-9, `_` and `-`", v.name),
        );
    }
    if v.pcpus.is_empty() {
        d.err(&format!("{p}.pcpus"), format!("VM `{}` has no vCPUs: list at least one pCPU", v.name));
    }
    let mut vcpus = Vec::new();
    for (k, &c) in v.pcpus.iter().enumerate() {
        let cp = format!("{p}.pcpus.{k}");
        if c as usize >= b.cpus {
            d.clash(
                &cp,
                format!("pCPU {c} does not exist: the board has {} CPUs", b.cpus),
                "board.cpus",
                "CPUs are declared here",
            );
        } else if let Some(&o) = cpu_owner.get(&c) {
            d.clash(
                &cp,
                format!("pCPU {c} is claimed twice"),
                &format!("vms.{o}.pcpus"),
                "first claimed here",
            );
        } else {
            cpu_owner.insert(c, i);
        }
        vcpus.push(CpuId(c as usize));
    }
    let mut ipas = Claims::new();
    // Every VM sees a virtual interrupt controller at the board's addresses.
    for (what, r) in virq_windows(&b.platform, vcpus.len()) {
        ipas.claim(d, "board.gic", what.to_string(), r);
    }
    let mut ram = Vec::new();
    for (k, w) in v.ram.iter().enumerate() {
        let wp = format!("{p}.ram.{k}");
        let r = Region { base: w.ipa, size: w.size };
        if w.size == 0 || w.size % PAGE != 0 {
            d.err(
                &format!("{wp}.size"),
                format!("RAM window size {:#x} must be a non-zero multiple of 0x1000", w.size),
            );
        }
        if w.ipa % PAGE != 0 {
            d.err(&format!("{wp}.ipa"), format!("RAM window IPA {:#x} is not aligned to 0x1000", w.ipa));
        }
        if w.ipa.checked_add(w.size).is_none_or(|e| e > S2_IPA_LIMIT) {
            d.err(&format!("{wp}.size"), "RAM window ends beyond the 40-bit IPA space");
        }
        ipas.claim(d, &format!("{wp}.ipa"), format!("RAM window {k}"), r);
        let pa = match w.pa {
            raw::Placement::Auto => None,
            raw::Placement::At(pa) => {
                if pa % PAGE != 0 {
                    d.err(&format!("{wp}.pa"), format!("pinned PA {pa:#x} is not aligned to 0x1000"));
                }
                if pa.checked_add(w.size).is_none_or(|e| e > S2_IPA_LIMIT) {
                    d.err(
                        &format!("{wp}.pa"),
                        format!("pinned RAM at {pa:#x} ends beyond the 40-bit address space"),
                    );
                }
                Some(Pa(pa))
            }
        };
        ram.push(RamMap {
            ipa: Ipa(w.ipa),
            pa: pa.unwrap_or(Pa(u64::MAX)),
            size: w.size,
            read_only: w.access == raw::Access::ReadOnly,
            flash: w.kind == raw::WindowKind::Flash,
        });
    }
    if ram.is_empty() {
        d.err(&format!("{p}.ram"), format!("VM `{}` has no RAM", v.name));
    }
    let mut emulated = Vec::new();
    let mut passthrough = Vec::new();
    let mut dev_names: HashMap<&str, usize> = HashMap::new();
    let mut irqs: HashMap<IntId, String> = HashMap::new();
    for (k, dev) in v.devices.iter().enumerate() {
        let dp = format!("{p}.devices.{k}");
        match dev {
            raw::VmDevice::Emulated { name, kind, ipa, irq } => {
                if !valid_name(name) {
                    d.err(
                        &format!("{dp}.name"),
                        format!(
                            "device name `{name}` must start with a-z and use only a-z, 0-9, `_` and `-`"
                        ),
                    );
                }
                if let Some(o) = dev_names.insert(name, k) {
                    d.clash(
                        &format!("{dp}.name"),
                        format!("device name `{name}` is used twice in VM `{}`", v.name),
                        &format!("{p}.devices.{o}.name"),
                        "first used here",
                    );
                }
                let Some(kd) = kinds.iter().find(|x| &x.name == kind) else {
                    let hint = did_you_mean(kind, kinds.iter().map(|x| x.name.as_str()));
                    d.err(&format!("{dp}.kind"), format!("unknown device kind `{kind}`{hint}"));
                    continue;
                };
                if ipa % PAGE != 0 {
                    d.err(&format!("{dp}.ipa"), format!("device IPA {ipa:#x} is not aligned to 0x1000"));
                }
                let irq = irq.map(|r| {
                    let ip = format!("{dp}.irq");
                    let id = line(d, &ip, r, &b.platform);
                    check_virq_range(d, &ip, id, &b.platform);
                    if !native(r, &b.platform) {
                        return id;
                    }
                    if let Some(o) = irqs.insert(id, ip.clone()) {
                        d.clash(
                            &ip,
                            format!(
                                "{r:?} ({} {}) is used twice in VM `{}`",
                                line_name(&b.platform),
                                id.0,
                                v.name
                            ),
                            &o,
                            "first used here",
                        );
                    }
                    id
                });
                if ipa.checked_add(kd.size).is_none_or(|e| e > S2_IPA_LIMIT) {
                    d.err(
                        &format!("{dp}.ipa"),
                        format!("emulated device `{name}` ends beyond the 40-bit IPA space"),
                    );
                    continue;
                }
                let e = Emulated { name: name.clone(), kind: kd.clone(), ipa: Ipa(*ipa), irq };
                ipas.claim(d, &format!("{dp}.ipa"), format!("emulated device `{name}`"), e.window());
                emulated.push(e);
            }
            raw::VmDevice::Passthrough { dev } => {
                let Some(bi) = b.devices.iter().position(|x| &x.name == dev) else {
                    let hint = did_you_mean(dev, b.devices.iter().map(|x| x.name.as_str()));
                    d.err(&format!("{dp}.dev"), format!("no board device named `{dev}`{hint}"));
                    continue;
                };
                let bd = &b.devices[bi];
                if bd.dma {
                    d.clash(
                        &format!("{dp}.dev"),
                        format!(
                            "`{}` is a DMA master: passed through, it could write any memory, hv's and other VMs' included, and hv programs no IOMMU to confine it",
                            bd.name
                        ),
                        &format!("board.devices.{bi}.dma"),
                        "declared a DMA master here",
                    );
                    continue;
                }
                let pages = page_round(bd.region);
                if let Some(other) =
                    b.devices.iter().find(|o| o.name != bd.name && page_round(o.region).overlaps(&pages))
                {
                    d.clash(
                        &format!("{dp}.dev"),
                        format!(
                            "passing through `{}` would map {:#x}..{:#x}, which also exposes `{}`",
                            bd.name,
                            pages.base,
                            pages.end(),
                            other.name
                        ),
                        &format!(
                            "board.devices.{}",
                            b.devices.iter().position(|x| x.name == other.name).unwrap_or(0)
                        ),
                        "the device sharing that page is declared here",
                    );
                }
                for id in &bd.irqs {
                    check_virq_range(d, &format!("{dp}.dev"), *id, &b.platform);
                    if matches!(b.platform, Platform::Riscv64 { .. }) && id.0 >= HW_LINES {
                        d.err(
                            &format!("{dp}.dev"),
                            format!(
                                "source {} of `{}`: hv passes PLIC sources 1 to {} through to VMs",
                                id.0,
                                bd.name,
                                HW_LINES - 1
                            ),
                        );
                    }
                    if let Some(o) = irqs.insert(*id, format!("board.devices.{bi}.irqs")) {
                        d.clash(
                            &format!("{dp}.dev"),
                            format!("INTID {} of `{}` is already used in VM `{}`", id.0, bd.name, v.name),
                            &o,
                            "first used here",
                        );
                    }
                }
                ipas.claim(d, &format!("{dp}.dev"), format!("passthrough device `{}`", bd.name), pages);
                passthrough.push(bi);
            }
        }
    }
    let dtb = match &v.dtb {
        raw::Dtb::None => None,
        raw::Dtb::Generate { bootargs, at } => {
            let reserve = 0x1_0000;
            if let Some(a) = *at {
                if a % 8 != 0 {
                    d.err(&format!("{p}.dtb.at"), format!("DTB address {a:#x} is not 8-byte aligned"));
                } else if !ram.iter().any(|w| {
                    a.checked_add(reserve)
                        .is_some_and(|e| w.ipa.0 <= a && e <= w.ipa.0.saturating_add(w.size))
                }) {
                    d.err(
                        &format!("{p}.dtb.at"),
                        format!("the DTB at {a:#x} (a {reserve:#x}-byte reserve) is not inside one of the VM's RAM windows"),
                    );
                }
            }
            if !dt_string(bootargs) {
                d.err(
                    &format!("{p}.dtb.bootargs"),
                    "bootargs must not hold a NUL: it would cut the device tree's string short",
                );
            }
            if !ram.is_empty() && ram.iter().all(|w| w.flash) {
                d.err(
                    &format!("{p}.ram"),
                    format!(
                        "every RAM window of VM `{}` is `Flash`, so its device tree would list no memory: give it a `Ram` window",
                        v.name
                    ),
                );
            }
            Some(DtbModel { bootargs: bootargs.clone(), at: at.map(Ipa), ipa: Ipa(0), reserve })
        }
    };
    let image =
        ImageModel { bin: Default::default(), mem_size: 0, load: Ipa(0), entry: Ipa(0), initrd: None };
    let vm = Vm {
        id: VmId(i),
        name: v.name.clone(),
        vcpus,
        ram,
        image,
        dtb,
        emulated,
        passthrough,
        on_reset: v.on_reset,
        on_crash: v.on_crash,
        pristine: None,
        manages: Vec::new(),
        manager_page: None,
        shared: Vec::new(),
    };
    (vm, Space { ipas, irqs })
}

/// The windows a VM's virtual interrupt controller decodes (or, for the GICv2 CPU interface,
/// maps).
fn virq_windows(p: &Platform, vcpus: usize) -> Vec<(&'static str, Region)> {
    let gic = match p {
        Platform::Aarch64 { gic, .. } => gic,
        Platform::Riscv64 { plic, .. } => {
            return vec![("the virtual PLIC", Region { base: plic.base.0, size: plic.size })]
        }
    };
    match *gic {
        Gic::V3 { dist, redist } => vec![
            ("the virtual GIC distributor", Region { base: dist.0, size: GICD_SIZE }),
            ("the virtual GIC redistributors", Region { base: redist.0, size: GICR_STRIDE * vcpus as u64 }),
        ],
        Gic::V2 { dist, cpu, .. } => vec![
            ("the virtual GIC distributor", Region { base: dist.0, size: GICD_SIZE }),
            ("the virtual GIC CPU interface", Region { base: cpu.0, size: GICC_SIZE }),
        ],
    }
}

/// A VM's interrupts must exist in its virtual interrupt controller. The virtual PLIC has the
/// board's sources, which `line` checked.
fn check_virq_range(d: &mut Diags, path: &str, id: IntId, p: &Platform) {
    if matches!(p, Platform::Aarch64 { .. }) && id.0 >= VGIC_INTIDS {
        d.err(
            path,
            format!(
                "INTID {} is beyond the {VGIC_INTIDS} INTIDs a VM's virtual GIC implements (SPIs go up to Spi({}))",
                id.0,
                VGIC_INTIDS - 33
            ),
        );
    }
}

pub fn page_round(r: Region) -> Region {
    let base = r.base & !(PAGE - 1);
    Region { base, size: (r.end() - base).div_ceil(PAGE) * PAGE }
}

/// Validate `m`; on success every address is placed and every image measured.
pub fn validate(
    d: &mut Diags,
    source: &str,
    m: &raw::Machine,
    kinds: &[DeviceKind],
    images: &mut dyn ImageSource,
) -> Option<Machine> {
    let board = board(d, &m.board);
    let mut cpu_owner = HashMap::new();
    let mut vms = Vec::new();
    let mut spaces = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    if m.vms.is_empty() {
        d.err("vms", "the machine declares no VM");
    }
    for (i, v) in m.vms.iter().enumerate() {
        if let Some(o) = names.insert(&v.name, i) {
            d.clash(
                &format!("vms.{i}.name"),
                format!("VM name `{}` is used twice", v.name),
                &format!("vms.{o}.name"),
                "first used here",
            );
        }
        let (v, space) = vm(d, i, v, &board, kinds, &mut cpu_owner);
        vms.push(v);
        spaces.push(space);
    }
    // A board device, and so its SPIs, belongs to at most one VM.
    let mut device_owner: HashMap<usize, usize> = HashMap::new();
    for v in &vms {
        for &bi in &v.passthrough {
            if let Some(&o) = device_owner.get(&bi) {
                let path = passthrough_path(&m.vms[v.id.0], v.id.0, &board.devices[bi].name);
                let other = passthrough_path(&m.vms[o], o, &board.devices[bi].name);
                d.clash(
                    &path,
                    format!("device `{}` and its IRQs are claimed by two VMs", board.devices[bi].name),
                    &other,
                    "first claimed here",
                );
            } else {
                device_owner.insert(bi, v.id.0);
            }
        }
    }
    channels::manages(d, m, &mut vms, &mut spaces);
    let mut chans = channels::channels(d, m, &board, &mut spaces);
    layout::place_ram(d, &board, &mut vms);
    layout::place_channels(d, &board, &vms, &mut chans);
    for c in &chans {
        for (k, p) in c.peers.iter().enumerate() {
            vms[p.vm.0].shared.extend(c.views(k));
        }
    }
    for (v, rv) in vms.iter_mut().zip(&m.vms) {
        images::resolve(d, board.arch, v, rv, images);
    }
    if d.list.is_empty() {
        layout::place_pristine(d, &board, &mut vms, &chans);
    }
    if !d.list.is_empty() {
        return None;
    }
    let tables_pa = layout::tables_pa(&board, &vms);
    // The hypervisor region holds hv's code and data, a stack per CPU, then the page tables.
    let stacks = board.stack.saturating_mul(board.cpus as u64);
    if board.hv.base.saturating_add(HV_CODE_MIN).saturating_add(stacks) > tables_pa.0 {
        d.err(
            "board.hv.size",
            format!(
                "the hypervisor region ({:#x} bytes) cannot hold {} stacks of {:#x} bytes, {:#x} bytes of page tables and at least {HV_CODE_MIN:#x} bytes of code and data",
                board.hv.size,
                board.cpus,
                board.stack,
                board.hv.end().saturating_sub(tables_pa.0)
            ),
        );
        return None;
    }
    Some(Machine { source: source.to_string(), board, vms, channels: chans, tables_pa })
}

fn passthrough_path(v: &raw::Vm, i: usize, dev: &str) -> String {
    let k = v
        .devices
        .iter()
        .position(|x| matches!(x, raw::VmDevice::Passthrough { dev: dd } if dd == dev))
        .unwrap_or(0);
    format!("vms.{i}.devices.{k}.dev")
}
