//! The validated machine: typed addresses, resolved references, every physical address placed.
//! Emitters read only this; nothing here can be inconsistent once `validate` returned it.
use hv_types::{CpuId, IntId, Ipa, Pa, VmId};
use std::path::PathBuf;

pub const PAGE: u64 = 0x1000;

/// A half-open physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

impl Region {
    /// One past the last byte; saturates, so a value the description got wrong (and that
    /// validation reports) can never panic the build.
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }
    pub fn overlaps(&self, o: &Region) -> bool {
        self.base < o.end() && o.base < self.end()
    }
    pub fn contains(&self, o: &Region) -> bool {
        self.base <= o.base && o.end() <= self.end()
    }
}

#[derive(Debug)]
pub struct Machine {
    /// The .ron as the user named it, for headers and messages.
    pub source: String,
    pub board: Board,
    pub vms: Vec<Vm>,
    pub channels: Vec<Channel>,
    /// Physical address of the page-table arena (stage-2 for every VM, then EL2 stage-1).
    pub tables_pa: Pa,
}

pub use crate::raw::Arch;

#[derive(Debug)]
pub struct Board {
    pub name: String,
    pub arch: Arch,
    pub cpus: usize,
    pub ram: Vec<Region>,
    pub reserved: Vec<Region>,
    pub hv: Region,
    pub stack: u64,
    pub console: Console,
    /// What only one architecture has: its interrupt controller and timer.
    pub platform: Platform,
    pub devices: Vec<BoardDevice>,
    /// RAM holds allocation tags (MTE): guests get memory tagging.
    pub mte: bool,
    pub qemu: Qemu,
}

/// The parts of a board that belong to its architecture. Interrupt numbers (`IntId`) are in
/// the controller's own space: GIC INTIDs, or PLIC source numbers.
#[derive(Debug, Clone, Copy)]
pub enum Platform {
    Aarch64 { gic: Gic, maintenance: IntId, timer: Timer },
    Riscv64 { plic: Plic, timebase: u64 },
}

/// A RISC-V PLIC: its registers, and how many sources it has (1..=`sources`).
#[derive(Debug, Clone, Copy)]
pub struct Plic {
    pub base: Pa,
    pub size: u64,
    pub sources: u32,
}

impl Board {
    /// The GIC of an AArch64 board.
    pub fn gic(&self) -> Option<&Gic> {
        match &self.platform {
            Platform::Aarch64 { gic, .. } => Some(gic),
            Platform::Riscv64 { .. } => None,
        }
    }
    /// The GIC, maintenance interrupt and timer of an AArch64 board.
    pub fn arm(&self) -> Option<(&Gic, IntId, &Timer)> {
        match &self.platform {
            Platform::Aarch64 { gic, maintenance, timer } => Some((gic, *maintenance, timer)),
            Platform::Riscv64 { .. } => None,
        }
    }
    /// The PLIC of a riscv64 board.
    pub fn plic(&self) -> Option<&Plic> {
        match &self.platform {
            Platform::Riscv64 { plic, .. } => Some(plic),
            Platform::Aarch64 { .. } => None,
        }
    }
}

/// The board's console UART: which driver hv uses for it, where, and its interrupt.
#[derive(Debug)]
pub struct Console {
    pub kind: UartKind,
    pub base: Pa,
    pub irq: IntId,
}

pub use hv_types::desc::UartKind;

/// Bytes of a GIC distributor frame, and of one GICv3 redistributor (RD_base + SGI_base).
pub use hv_types::{GICD_SIZE, GICR_STRIDE};
/// Bytes of a GICv2 CPU interface (and of the GICV frame that stands in for it in a VM).
pub const GICC_SIZE: u64 = 0x2000;

#[derive(Debug, Clone, Copy)]
pub enum Gic {
    V2 { dist: Pa, cpu: Pa, hyp: Pa, vcpu: Pa },
    V3 { dist: Pa, redist: Pa },
}

impl Gic {
    pub fn version(&self) -> u8 {
        match self {
            Gic::V2 { .. } => 2,
            Gic::V3 { .. } => 3,
        }
    }
    pub fn dist(&self) -> Pa {
        match self {
            Gic::V2 { dist, .. } | Gic::V3 { dist, .. } => *dist,
        }
    }
    /// The GIC's MMIO frames, named, for overlap checks and the EL2 map.
    pub fn frames(&self, cpus: usize) -> Vec<(&'static str, Region)> {
        match *self {
            Gic::V2 { dist, cpu, hyp, vcpu } => vec![
                ("GIC distributor", Region { base: dist.0, size: GICD_SIZE }),
                ("GIC CPU interface", Region { base: cpu.0, size: GICC_SIZE }),
                ("GIC hypervisor interface", Region { base: hyp.0, size: 0x1000 }),
                ("GIC virtual CPU interface", Region { base: vcpu.0, size: GICC_SIZE }),
            ],
            Gic::V3 { dist, redist } => vec![
                ("GIC distributor", Region { base: dist.0, size: GICD_SIZE }),
                ("GIC redistributors", Region { base: redist.0, size: GICR_STRIDE * cpus as u64 }),
            ],
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Timer {
    /// The secure physical timer: no guest uses it, but device trees list it.
    pub secure: IntId,
    pub hyp: IntId,
    pub virt: IntId,
    pub phys: IntId,
}

#[derive(Debug)]
pub struct BoardDevice {
    pub name: String,
    pub region: Region,
    pub irqs: Vec<IntId>,
    pub compatible: Vec<String>,
    /// A DMA master: never passed through.
    pub dma: bool,
}

#[derive(Debug)]
pub struct Qemu {
    pub machine: String,
    pub cpu: String,
}

#[derive(Debug)]
pub struct RamMap {
    pub ipa: Ipa,
    pub pa: Pa,
    pub size: u64,
    pub read_only: bool,
    /// RAM-backed flash: mapped like RAM, not listed as memory in the DTB.
    pub flash: bool,
}

#[derive(Debug)]
pub struct ImageModel {
    /// A flat binary to place at `load` (converted from ELF for guest crates).
    pub bin: PathBuf,
    /// Bytes the image occupies once running (file size plus zero-initialised tail).
    pub mem_size: u64,
    pub load: Ipa,
    pub entry: Ipa,
    /// Initial ramdisk: file, IPA, bytes.
    pub initrd: Option<(PathBuf, Ipa, u64)>,
}

#[derive(Debug)]
pub struct DtbModel {
    pub bootargs: String,
    /// Placed by the description (`at`), or at the top of the first window.
    pub at: Option<Ipa>,
    pub ipa: Ipa,
    /// Bytes reserved in guest RAM for it.
    pub reserve: u64,
}

/// An emulated device kind found in devices/src.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKind {
    pub name: String,
    /// `hv_devices::<module>::<name>`
    pub module: String,
    pub size: u64,
    pub compatible: Vec<String>,
    /// It implements `ConsoleDevice`: console input can go to it, and it is the VM's
    /// `stdout-path`.
    pub console: bool,
}

#[derive(Debug)]
pub struct Emulated {
    pub name: String,
    pub kind: DeviceKind,
    pub ipa: Ipa,
    pub irq: Option<IntId>,
}

impl Emulated {
    /// The trapped window: the device size rounded up to whole pages.
    pub fn window(&self) -> Region {
        Region { base: self.ipa.0, size: self.kind.size.div_ceil(PAGE) * PAGE }
    }
}

#[derive(Debug)]
pub struct Vm {
    pub id: VmId,
    pub name: String,
    /// vCPU i runs on `vcpus[i]`.
    pub vcpus: Vec<CpuId>,
    pub ram: Vec<RamMap>,
    pub image: ImageModel,
    pub dtb: Option<DtbModel>,
    pub emulated: Vec<Emulated>,
    /// Indices into `board.devices`.
    pub passthrough: Vec<usize>,
    pub on_reset: crate::raw::Policy,
    pub on_crash: crate::raw::Policy,
    /// Where the read-only pristine copies of the image, initrd and DTB live, for a VM that
    /// restarts (see `blobs`).
    pub pristine: Option<Pa>,
    /// The VMs it manages, and its management page.
    pub manages: Vec<VmId>,
    pub manager_page: Option<Ipa>,
    /// Its views of the channels it is a peer of, section by section (`Channel::views`).
    pub shared: Vec<RamMap>,
}

/// The state table's bytes (read-only to every peer, kept by hv), and most peers a channel has.
pub use hv_types::{CHANNEL_PEERS, CHANNEL_STATE};
/// Lines (and so interrupts) of a SiFive GPIO doorbell.
pub const SIFIVE_LINES: u32 = 8;
/// Bytes of a doorbell or management register page.
pub const REG_PAGE: u64 = PAGE;

/// A shared-memory channel between VMs, placed.
#[derive(Debug)]
pub struct Channel {
    pub name: String,
    pub pa: Pa,
    /// Bytes of the section every peer writes.
    pub shared: u64,
    /// Bytes of each peer's output section.
    pub output: u64,
    pub peers: Vec<Peer>,
}

/// One VM's end of a channel.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub vm: VmId,
    pub ipa: Ipa,
    pub doorbell: DoorbellKind,
    pub doorbell_ipa: Ipa,
    pub irq: IntId,
}

/// The device a peer rings and is rung through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorbellKind {
    Page,
    Pl061,
    SifiveGpio,
}

impl DoorbellKind {
    pub fn compatible(self) -> &'static [&'static str] {
        match self {
            DoorbellKind::Page => &["hv,doorbell"],
            DoorbellKind::Pl061 => &["arm,pl061", "arm,primecell"],
            DoorbellKind::SifiveGpio => &["sifive,gpio0"],
        }
    }
}

impl Channel {
    /// Bytes of the region: state table, shared section, one output section per peer.
    pub fn size(&self) -> u64 {
        channel_size(self.shared, self.output, self.peers.len())
    }
    /// Offset of peer `k`'s output section.
    pub fn output_offset(&self, k: usize) -> u64 {
        CHANNEL_STATE + self.shared + self.output * k as u64
    }
    /// What peer `k` sees, section by section: the state table and the other peers' outputs
    /// read-only, the shared section and its own output writable.
    pub fn views(&self, k: usize) -> Vec<RamMap> {
        let p = &self.peers[k];
        let mut v = Vec::new();
        let mut push = |off: u64, size: u64, read_only: bool| {
            if size != 0 {
                v.push(RamMap {
                    ipa: Ipa(p.ipa.0 + off),
                    pa: Pa(self.pa.0 + off),
                    size,
                    read_only,
                    flash: false,
                });
            }
        };
        push(0, CHANNEL_STATE, true);
        push(CHANNEL_STATE, self.shared, false);
        for j in 0..self.peers.len() {
            push(self.output_offset(j), self.output, j != k);
        }
        v
    }
}

/// Bytes of a channel region (saturating: a size the description got wrong is reported, and
/// must not overflow here).
pub fn channel_size(shared: u64, output: u64, peers: usize) -> u64 {
    CHANNEL_STATE.saturating_add(shared).saturating_add(output.saturating_mul(peers as u64))
}

/// One file placed in guest RAM at boot: its bytes, where it lives, and where its pristine copy
/// (if the VM restarts) sits.
#[derive(Debug, Clone)]
pub struct Blob {
    /// `image`, `initrd` or `dtb`.
    pub what: &'static str,
    pub path: PathBuf,
    /// Its physical home in the VM's RAM.
    pub home: Pa,
    /// Bytes a restart copies back (a DTB's whole reserve).
    pub len: u64,
    /// Offset of its pristine copy from `Vm::pristine`.
    pub offset: u64,
}

impl Vm {
    /// Does a reset or a crash start this VM again (so it needs pristine copies)?
    pub fn restarts(&self) -> bool {
        self.on_reset == crate::raw::Policy::Restart || self.on_crash == crate::raw::Policy::Restart
    }

    /// The image, initrd and DTB, in that order, with their pristine offsets (page aligned).
    /// `dtb_path` is where the generated DTB is written.
    pub fn blobs(&self, dtb_path: PathBuf) -> Vec<Blob> {
        let file_len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut v = Vec::new();
        let mut offset = 0;
        let mut push = |what, path: PathBuf, ipa: Ipa, len: u64| {
            if let Some(home) = self.ipa_to_pa(ipa) {
                v.push(Blob { what, path, home, len, offset });
                offset += len.div_ceil(PAGE) * PAGE;
            }
        };
        push("image", self.image.bin.clone(), self.image.load, file_len(&self.image.bin));
        if let Some((p, ipa, size)) = &self.image.initrd {
            push("initrd", p.clone(), *ipa, *size);
        }
        if let Some(d) = &self.dtb {
            push("dtb", dtb_path, d.ipa, d.reserve);
        }
        v
    }

    /// Bytes of the pristine copies (zero for a VM that never restarts).
    pub fn pristine_size(&self) -> u64 {
        if !self.restarts() {
            return 0;
        }
        self.blobs(PathBuf::new()).last().map_or(0, |b| b.offset + b.len.div_ceil(PAGE) * PAGE)
    }

    /// Translate an IPA inside one of the VM's RAM windows.
    pub fn ipa_to_pa(&self, ipa: Ipa) -> Option<Pa> {
        self.ram
            .iter()
            .find(|w| w.ipa.0 <= ipa.0 && ipa.0 < w.ipa.0 + w.size)
            .map(|w| Pa(w.pa.0 + (ipa.0 - w.ipa.0)))
    }
}
