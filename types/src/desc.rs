//! Immutable descriptions of the board and the VMs, as codegen writes them into hv's
//! `machine.rs`: plain data, shared by the generator and hv. Runtime state lives in hv
//! (`vm.rs`); these never change after the build.
use crate::{CpuId, Ipa, Pa, VmId};

#[derive(Debug, Clone, Copy)]
pub enum GicDesc {
    V2 { dist: Pa, cpu: Pa, hyp: Pa, vcpu: Pa },
    V3 { dist: Pa, redist: Pa },
}

/// The kinds of UART hv can print to: one driver each in hv (`hv/src/uart/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartKind {
    /// Arm's PL011.
    Pl011,
    /// An NS16550A with byte-wide registers one byte apart.
    Ns16550,
    /// Cadence's UART (`cdns,uart-r1p12`).
    Cadence,
}

#[derive(Debug)]
pub struct BoardDesc {
    pub hv_base: Pa,
    pub hv_size: u64,
    /// The console UART: its kind and registers.
    pub console_kind: UartKind,
    pub console: Pa,
    /// The console UART's interrupt line (a GIC INTID, a PLIC source): console input.
    pub console_irq: u32,
    /// What only the board's architecture has.
    pub platform: PlatformDesc,
}

/// The parts of a board that belong to its architecture; an architecture's code takes its own
/// variant out at compile time (a board of another one does not build).
#[derive(Debug, Clone, Copy)]
pub enum PlatformDesc {
    Aarch64(ArmDesc),
    Riscv64(RiscvDesc),
}

/// An AArch64 board's GIC, generic timer and memory tagging.
#[derive(Debug, Clone, Copy)]
pub struct ArmDesc {
    pub gic: GicDesc,
    /// INTIDs of the timer PPIs and the GIC maintenance interrupt.
    pub timer_hyp: u32,
    pub timer_virt: u32,
    pub timer_phys: u32,
    pub maintenance: u32,
    /// The board's RAM holds allocation tags: guests may use MTE.
    pub mte: bool,
}

/// A riscv64 board's PLIC and timebase.
#[derive(Debug, Clone, Copy)]
pub struct RiscvDesc {
    pub plic: Pa,
    /// Bytes of the PLIC's registers (its window, and each VM's virtual PLIC's).
    pub plic_size: u64,
    /// Sources 1..=`plic_sources`.
    pub plic_sources: u32,
    /// Ticks per second of the `time` counter.
    pub timebase: u64,
}

/// Static memory a VM takes beyond its RAM (bytes).
#[derive(Debug, Clone, Copy)]
pub struct VmStatic {
    /// Its stage-2 tables.
    pub tables: usize,
    /// Its emulated devices' state.
    pub devices: usize,
}

/// One guest RAM window.
#[derive(Debug)]
pub struct RamDesc {
    pub ipa: Ipa,
    pub pa: Pa,
    pub size: u64,
    pub read_only: bool,
}

/// What a VM's reset (PSCI SYSTEM_RESET) or crash does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Start it again from its pristine image, DTB and initrd.
    Restart,
    /// Stop it with a non-zero status (`vm::STATUS_*`).
    Stop,
}

/// A restart copies `len` bytes of pristine copy from `from` to `to` (both in board RAM).
#[derive(Debug)]
pub struct Restore {
    pub from: Pa,
    pub to: Pa,
    pub len: u64,
}

#[derive(Debug)]
pub struct VmDesc {
    pub id: VmId,
    pub name: &'static str,
    /// vCPU i runs on `vcpus[i]`.
    pub vcpus: &'static [CpuId],
    pub ram: &'static [RamDesc],
    pub entry: Ipa,
    pub dtb: Option<Ipa>,
    /// The stage-2 root register's value: the root's PA and the VMID, in the format of the
    /// architecture's register for it.
    pub stage2: u64,
    pub on_reset: Policy,
    pub on_crash: Policy,
    /// What a restart copies back (empty when the VM never restarts).
    pub restore: &'static [Restore],
    /// The VMs it may query, stop, pause, resume and restart, in the order its management
    /// page lists them.
    pub manages: &'static [VmId],
    /// Where its management page appears, if it manages any.
    pub manager_page: Option<Ipa>,
}

/// A shared-memory channel between VMs (docs/channels.md): a state table hv keeps, a section
/// every peer writes, and one output section per peer.
#[derive(Debug)]
pub struct ChannelDesc {
    pub name: &'static str,
    /// The whole region in board RAM (its `ipa` is where peer 0 sees it).
    pub region: RamDesc,
    pub peers: &'static [PeerDesc],
}

/// One VM's end of a channel.
#[derive(Debug)]
pub struct PeerDesc {
    pub vm: VmId,
    /// Where the region appears in the VM.
    pub ipa: Ipa,
    pub doorbell: DoorbellKind,
    pub doorbell_ipa: Ipa,
    /// The interrupt line it is rung with (in the board's interrupt controller's numbering).
    pub irq: u32,
    /// Its output section, which a restart of its VM zeroes.
    pub output: RamDesc,
}

/// The device a peer rings its peers and is rung through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorbellKind {
    /// hv's own register page (`hv,doorbell`).
    Page,
    /// An emulated Arm PL061 GPIO controller.
    Pl061,
    /// An emulated SiFive GPIO controller.
    SifiveGpio,
}

impl VmDesc {
    /// Is `[pa, pa + len)` entirely inside one of this VM's RAM windows?
    pub fn owns_pa(&self, pa: Pa, len: u64) -> bool {
        self.ram
            .iter()
            .any(|w| pa.0 >= w.pa.0 && pa.0.checked_add(len).is_some_and(|end| end <= w.pa.0 + w.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn owns_pa_checks_whole_range() {
        static RAM: [RamDesc; 1] =
            [RamDesc { ipa: Ipa(0x4000_0000), pa: Pa(0x4060_0000), size: 0x1000, read_only: false }];
        let vm = VmDesc {
            id: VmId(0),
            name: "t",
            vcpus: &[],
            ram: &RAM,
            entry: Ipa(0),
            dtb: None,
            stage2: 0,
            on_reset: Policy::Stop,
            on_crash: Policy::Stop,
            restore: &[],
            manages: &[],
            manager_page: None,
        };
        assert!(vm.owns_pa(Pa(0x4060_0000), 0x1000));
        assert!(!vm.owns_pa(Pa(0x4060_0001), 0x1000));
        assert!(!vm.owns_pa(Pa(0x4060_0000), u64::MAX));
        assert!(!vm.owns_pa(Pa(0x4000_0000), 4));
    }
}
