//! Serde mirror of the machine .ron: field names and enums exactly as users write them, no logic.
//! `deny_unknown_fields` everywhere, enum variants with fields included, so a typo is an error
//! with a position, never silently ignored.
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub board: Board,
    pub vms: Vec<Vm>,
    /// Shared-memory channels between VMs, each with a doorbell per peer (docs/channels.md).
    #[serde(default)]
    pub channels: Vec<Channel>,
}

/// A named shared region between two or more VMs: a state table hv keeps, an optional section
/// every peer writes, and one output section per peer that only its owner writes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    /// Bytes of the section every peer reads and writes (a multiple of 0x1000; 0 for none).
    #[serde(default)]
    pub shared: u64,
    /// Bytes of each peer's output section (a multiple of 0x1000).
    #[serde(default = "default_output")]
    pub output: u64,
    /// Where the region lives in board RAM.
    #[serde(default)]
    pub pa: Placement,
    pub peers: Vec<Peer>,
}

fn default_output() -> u64 {
    0x1000
}

/// One VM's end of a channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    pub vm: String,
    /// Where the region appears in the VM.
    pub ipa: u64,
    /// The device it rings its peers with and is rung through.
    pub doorbell: Doorbell,
    /// The interrupt it is rung with.
    pub irq: Irq,
}

/// A peer's doorbell device, at an IPA of the VM.
#[derive(Debug, Deserialize, Clone, Copy)]
pub enum Doorbell {
    /// hv's own register page (`hv,doorbell`), for bare-metal guests.
    Page(u64),
    /// An Arm PL061 GPIO controller: Linux's built-in driver, so userspace rings and waits
    /// through the GPIO character device (AArch64).
    Pl061(u64),
    /// A SiFive GPIO controller (`sifive,gpio0`), the same role on riscv64.
    SifiveGpio(u64),
}

/// The instruction set of the board's CPUs: which board fields apply, and which back end
/// builds hv for it.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// AArch64 CPUs entered at EL2: a GIC, the generic timer, a PL011 console.
    #[default]
    Aarch64,
    /// riscv64 harts with the H extension, entered in HS-mode by SBI firmware: a PLIC, the
    /// SBI/Sstc timer, an NS16550A console.
    Riscv64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub name: String,
    #[serde(default)]
    pub arch: Arch,
    pub cpus: u32,
    pub ram: Vec<Range>,
    /// Ranges of RAM the hypervisor must leave alone (firmware, the loader's DTB).
    #[serde(default)]
    pub reserved: Vec<Range>,
    pub hv: HvRegion,
    pub console: Console,
    /// The interrupt controller: `gic: V2(…)`/`V3(…)` on AArch64, `irqchip: Plic(…)` on riscv64
    /// (either key names it).
    #[serde(alias = "irqchip")]
    pub gic: Gic,
    /// The GIC's maintenance interrupt (AArch64 only).
    #[serde(default)]
    pub maintenance_irq: Option<Irq>,
    /// The generic timer's PPIs (AArch64 only).
    #[serde(default)]
    pub timer: Option<Timer>,
    /// Ticks per second of the `time` counter (riscv64 only; QEMU virt's is 10 MHz).
    #[serde(default)]
    pub timebase: Option<u64>,
    #[serde(default)]
    pub devices: Vec<Device>,
    /// The board's RAM holds allocation tags (FEAT_MTE2): guests may use memory tagging. On
    /// QEMU this is `-M virt,mte=on`, which only a CPU with MTE (`max`) can use.
    #[serde(default)]
    pub mte: bool,
    pub run: Run,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub base: u64,
    pub size: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HvRegion {
    pub base: u64,
    pub size: u64,
    /// Bytes of EL2 stack per pCPU.
    #[serde(default = "default_stack")]
    pub stack: u64,
}

fn default_stack() -> u64 {
    0x4000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Console {
    /// Arm's PL011 (AArch64 boards).
    Pl011 { base: u64, irq: Irq },
    /// An NS16550A with byte-wide registers (riscv64 boards).
    Ns16550 { base: u64, irq: Irq },
    /// Cadence's UART, `cdns,uart-r1p12` (AArch64 boards).
    Cadence { base: u64, irq: Irq },
}

impl Console {
    /// Its driver in hv, its registers and its interrupt.
    pub fn parts(&self) -> (hv_types::desc::UartKind, u64, Irq) {
        use hv_types::desc::UartKind;
        match *self {
            Console::Pl011 { base, irq } => (UartKind::Pl011, base, irq),
            Console::Ns16550 { base, irq } => (UartKind::Ns16550, base, irq),
            Console::Cadence { base, irq } => (UartKind::Cadence, base, irq),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Gic {
    V2 {
        dist: u64,
        cpu: u64,
        hyp: u64,
        vcpu: u64,
    },
    V3 {
        dist: u64,
        redist: u64,
    },
    /// A RISC-V platform-level interrupt controller: `size` bytes of registers at `base`,
    /// sources 1..=`sources`.
    Plic {
        base: u64,
        size: u64,
        sources: u32,
    },
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum Irq {
    /// GIC interrupts (AArch64 boards).
    Sgi(u32),
    Ppi(u32),
    Spi(u32),
    /// A PLIC interrupt source (riscv64 boards).
    Source(u32),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timer {
    /// The secure physical timer's PPI (default `Ppi(13)`, the SBSA's): guests' device trees
    /// list it, so no other timer may have it.
    #[serde(default)]
    pub secure: Option<Irq>,
    pub hyp: Irq,
    pub virt: Irq,
    pub phys: Irq,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub name: String,
    pub base: u64,
    pub size: u64,
    #[serde(default)]
    pub irqs: Vec<Irq>,
    /// DTB `compatible` strings, most specific first: a VM it is passed through to finds it.
    #[serde(default)]
    pub compatible: Vec<String>,
    /// The device masters DMA (virtio, a NIC, QEMU's fw_cfg): it reaches physical memory on
    /// its own, so it is never passed through (hv programs no IOMMU yet).
    #[serde(default)]
    pub dma: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Run {
    /// QEMU's `-M <machine>,virtualization=on,gic-version=…` (AArch64) or `-M <machine>` with
    /// QEMU's OpenSBI (riscv64), with `-cpu <cpu>`.
    Qemu { machine: String, cpu: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    pub name: String,
    pub pcpus: Vec<u32>,
    pub ram: Vec<RamWindow>,
    pub image: Image,
    #[serde(default)]
    pub dtb: Dtb,
    #[serde(default)]
    pub devices: Vec<VmDevice>,
    /// What a PSCI SYSTEM_RESET from the guest does.
    #[serde(default)]
    pub on_reset: Policy,
    /// What a crash does (an exception hv cannot deliver, an SError).
    #[serde(default = "Policy::stop")]
    pub on_crash: Policy,
    /// Other VMs this one may query, stop, pause, resume and restart.
    #[serde(default)]
    pub manages: Option<Manages>,
}

/// The VMs a VM manages, and where its management register page appears.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manages {
    pub vms: Vec<String>,
    /// IPA of the management page (`hv,vm-manager`).
    pub ipa: u64,
}

/// What happens to a VM that resets or crashes.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Start it again from its pristine image, DTB and initrd.
    #[default]
    Restart,
    /// Stop it with a non-zero status (docs/guests.md lists them).
    Stop,
}

impl Policy {
    fn stop() -> Policy {
        Policy::Stop
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RamWindow {
    pub ipa: u64,
    pub size: u64,
    #[serde(default)]
    pub pa: Placement,
    #[serde(default)]
    pub access: Access,
    #[serde(default)]
    pub kind: WindowKind,
}

/// What a RAM window stands for in the guest's device tree.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// Main memory: listed in the DTB's memory node.
    #[default]
    Ram,
    /// RAM-backed flash (firmware runs from it, for example U-Boot at IPA 0): not listed as
    /// memory, so the guest does not allocate from it.
    Flash,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    #[default]
    ReadWrite,
    /// Guest writes fault (the hypervisor injects an abort).
    ReadOnly,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
pub enum Placement {
    /// Codegen picks the physical address.
    #[default]
    Auto,
    /// Pinned at this physical address.
    At(u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Image {
    /// A bare-metal crate under guests/, built by hv's build script linked at the VM's RAM base.
    Guest(String),
    /// A raw binary (e.g. an arm64 Linux `Image`) loaded at the VM's RAM base.
    Raw {
        kernel: String,
        #[serde(default)]
        initrd: Option<String>,
    },
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub enum Dtb {
    /// Generate a device tree from this description; x0 points at it on entry. `at` places it
    /// at an IPA inside the VM's RAM (default: the top of the first window).
    Generate {
        #[serde(default)]
        bootargs: String,
        #[serde(default)]
        at: Option<u64>,
    },
    /// No device tree; x0 = 0 on entry.
    #[default]
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum VmDevice {
    /// A device emulated by hv: `kind` names a `#[derive(MmioDevice)]` struct in devices/src.
    Emulated {
        name: String,
        kind: String,
        ipa: u64,
        #[serde(default)]
        irq: Option<Irq>,
    },
    /// A board device mapped into the VM at its own address, its IRQs routed to the VM.
    Passthrough { dev: String },
}
