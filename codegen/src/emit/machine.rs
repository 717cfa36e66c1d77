//! `machine.rs`: constants, immutable board/VM descriptions, the page-table arena as data, and
//! the guest images and DTBs pulled into the hypervisor ELF at their guest-physical homes.
use super::hex;
use crate::model::*;
use crate::tables::{self, ENTRIES};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// VTCR_EL2: T0SZ=24 (40-bit IPA), SL0=1 (start at level 1), inner/outer WB RA WA, inner
/// shareable, 4 KiB granule, PS=40 bits, RES1 bit 31.
pub const VTCR_EL2: u64 = (1 << 31) | (2 << 16) | (3 << 12) | (1 << 10) | (1 << 8) | (1 << 6) | 24;
/// TCR_EL2 (non-VHE): T0SZ=25 (39-bit VA), WB RA WA, inner shareable, 4 KiB, PS=40 bits, RES1 23/31.
pub const TCR_EL2: u64 = (1 << 31) | (1 << 23) | (2 << 16) | (3 << 12) | (1 << 10) | (1 << 8) | 25;
/// MAIR_EL2: attr0 Device-nGnRE, attr1 Normal WB RA WA (matches tables::Attr encodings).
pub const MAIR_EL2: u64 = 0xFF04;

pub fn emit(m: &Machine, built: &tables::Built, out_dir: &std::path::Path) -> TokenStream {
    let b = &m.board;
    let name = &b.name;
    let source = &m.source;
    let ncpus = b.cpus;
    let nvms = m.vms.len();
    let max_vcpus = m.vms.iter().map(|v| v.vcpus.len()).max().unwrap_or(1);
    let stack = b.stack as usize;
    let (hv_base, hv_size) = (hex(b.hv.base), hex(b.hv.size));
    let console = hex(b.console.base.0);
    let console_irq = b.console.irq.0;
    let console_kind = Ident::new(&format!("{:?}", b.console.kind), Span::call_site());
    let platform = match &b.platform {
        Platform::Aarch64 { gic, maintenance, timer } => {
            let gic = match *gic {
                Gic::V2 { dist, cpu, hyp, vcpu } => {
                    let (d, c, h, v) = (hex(dist.0), hex(cpu.0), hex(hyp.0), hex(vcpu.0));
                    quote!(GicDesc::V2 { dist: Pa(#d), cpu: Pa(#c), hyp: Pa(#h), vcpu: Pa(#v) })
                }
                Gic::V3 { dist, redist } => {
                    let (d, r) = (hex(dist.0), hex(redist.0));
                    quote!(GicDesc::V3 { dist: Pa(#d), redist: Pa(#r) })
                }
            };
            let (t_hyp, t_virt, t_phys, maint) = (timer.hyp.0, timer.virt.0, timer.phys.0, maintenance.0);
            let mte = b.mte;
            quote!(PlatformDesc::Aarch64(ArmDesc {
                gic: #gic,
                timer_hyp: #t_hyp,
                timer_virt: #t_virt,
                timer_phys: #t_phys,
                maintenance: #maint,
                mte: #mte,
            }))
        }
        Platform::Riscv64 { plic, timebase } => {
            let (base, size, n, tb) = (hex(plic.base.0), hex(plic.size), plic.sources, *timebase);
            quote!(PlatformDesc::Riscv64(RiscvDesc { plic: Pa(#base), plic_size: #size, plic_sources: #n, timebase: #tb }))
        }
    };
    let tables_pa = hex(m.tables_pa.0);
    let ntables = built.arena.tables.len();
    // What only AArch64's EL2 set-up reads: its translation controls and own map.
    let arm_regs = match b.arch {
        Arch::Aarch64 => {
            let el2_ttbr0 = hex(built.arena.pa_of(built.el2_root));
            let (vtcr, tcr, mair) = (hex(VTCR_EL2), hex(TCR_EL2), hex(MAIR_EL2));
            quote! {
                pub const VTCR_EL2: u64 = #vtcr;
                pub const TCR_EL2: u64 = #tcr;
                pub const MAIR_EL2: u64 = #mair;
                pub const EL2_TTBR0: u64 = #el2_ttbr0;
            }
        }
        Arch::Riscv64 => quote!(),
    };
    let tables_align = proc_macro2::Literal::usize_unsuffixed(tables::root_pages(b) * 4096);

    let vms = m.vms.iter().zip(&built.vm_roots).map(|(v, &root)| {
        let id = v.id.0;
        let vname = &v.name;
        let stage2 = hex(stage2_register(b.arch, built.arena.pa_of(root), id as u64));
        let vcpus = v.vcpus.iter().map(|c| c.0);
        let ram = v.ram.iter().map(|w| {
            let (ipa, pa, size, ro) = (hex(w.ipa.0), hex(w.pa.0), hex(w.size), w.read_only);
            quote!(RamDesc { ipa: Ipa(#ipa), pa: Pa(#pa), size: #size, read_only: #ro })
        });
        let entry = hex(v.image.entry.0);
        let dtb = match &v.dtb {
            Some(d) => {
                let x = hex(d.ipa.0);
                quote!(Some(Ipa(#x)))
            }
            None => quote!(None),
        };
        let restore = v.pristine.map(|p| {
            v.blobs(dtb_path(out_dir, v)).into_iter().map(move |b| {
                let (from, to, len) = (hex(p.0 + b.offset), hex(b.home.0), hex(b.len));
                quote!(Restore { from: Pa(#from), to: Pa(#to), len: #len })
            })
        });
        let restore = restore.into_iter().flatten();
        let policy = |p: crate::raw::Policy| match p {
            crate::raw::Policy::Restart => quote!(Policy::Restart),
            crate::raw::Policy::Stop => quote!(Policy::Stop),
        };
        let (on_reset, on_crash) = (policy(v.on_reset), policy(v.on_crash));
        let manages = v.manages.iter().map(|m| m.0);
        let manager_page = match v.manager_page {
            Some(a) => {
                let a = hex(a.0);
                quote!(Some(Ipa(#a)))
            }
            None => quote!(None),
        };
        quote!(VmDesc {
            id: VmId(#id),
            name: #vname,
            vcpus: &[#(CpuId(#vcpus)),*],
            ram: &[#(#ram),*],
            entry: Ipa(#entry),
            dtb: #dtb,
            stage2: #stage2,
            on_reset: #on_reset,
            on_crash: #on_crash,
            restore: &[#(#restore),*],
            manages: &[#(VmId(#manages)),*],
            manager_page: #manager_page,
        })
    });
    let nchannels = m.channels.len();
    let channels = m.channels.iter().map(|c| {
        let (cname, pa, size) = (&c.name, hex(c.pa.0), hex(c.size()));
        let ipa0 = hex(c.peers.first().map_or(0, |p| p.ipa.0));
        let peers = c.peers.iter().enumerate().map(|(k, p)| {
            let (vm, ipa, bell, irq) = (p.vm.0, hex(p.ipa.0), hex(p.doorbell_ipa.0), p.irq.0);
            let kind = ident(&format!("{:?}", p.doorbell));
            let off = c.output_offset(k);
            let (oipa, opa, osize) = (hex(p.ipa.0 + off), hex(c.pa.0 + off), hex(c.output));
            quote!(PeerDesc {
                vm: VmId(#vm),
                ipa: Ipa(#ipa),
                doorbell: DoorbellKind::#kind,
                doorbell_ipa: Ipa(#bell),
                irq: #irq,
                output: RamDesc { ipa: Ipa(#oipa), pa: Pa(#opa), size: #osize, read_only: false },
            })
        });
        quote!(ChannelDesc {
            name: #cname,
            region: RamDesc { ipa: Ipa(#ipa0), pa: Pa(#pa), size: #size, read_only: false },
            peers: &[#(#peers),*],
        })
    });

    // GICv2: the stage-2 page descriptor mapping the first page of each VM's CPU interface (its
    // acknowledge register), which hv unmaps while it must look at an acknowledge.
    let gicc_pages = built.vm_roots.iter().map(|&root| match b.gic() {
        Some(&Gic::V2 { cpu, .. }) => match built.arena.page_slot(tables::Regime::Stage2, root, cpu.0) {
            Some((t, e)) => quote!(Some((#t, #e))),
            None => quote!(None),
        },
        _ => quote!(None),
    });
    // Which (VM, vCPU) each pCPU runs.
    let mut per_cpu = vec![quote!(None); b.cpus];
    for v in &m.vms {
        for (k, c) in v.vcpus.iter().enumerate() {
            let id = v.id.0;
            per_cpu[c.0] = quote!(Some((VmId(#id), #k)));
        }
    }

    let tables = built.arena.tables.iter().map(|t| {
        let entries = t.iter().enumerate().filter(|(_, &e)| e != 0).map(|(i, &e)| {
            let e = hex(e);
            quote!((#i, #e))
        });
        quote!(table(&[#(#entries),*]))
    });

    let blobs = m.vms.iter().flat_map(|v| {
        let mut out = Vec::new();
        for b in v.blobs(dtb_path(out_dir, v)) {
            out.push((format!(".vm{}.{}", v.id.0, b.what), b.path.clone()));
            if v.pristine.is_some() {
                out.push((format!(".vm{}.pristine.{}", v.id.0, b.what), b.path));
            }
        }
        out
    });
    let incbins = blobs.map(|(section, path)| {
        let path = path.display().to_string();
        let escaped = path.replace('\\', "\\\\").replace('"', "\\\"");
        let s1 = format!(".section {section}, \"a\"");
        let s2 = format!(".incbin \"{escaped}\"");
        let tracked = path.clone();
        // `.incbin` is invisible to rustc's dependency tracking; `include_bytes!` makes cargo
        // rebuild hv when the blob changes. The constant itself is never used.
        quote!(
            #[cfg(target_os = "none")]
            core::arch::global_asm!(#s1, #s2, ".previous");
            const _: &[u8] = include_bytes!(#tracked);
        )
    });

    quote! {
        use hv_types::desc::*;
        use hv_types::{CpuId, Ipa, Pa, VmId};

        /// Name of the board, and the description this build came from.
        pub const MACHINE: &str = #name;
        pub const SOURCE: &str = #source;
        pub const NUM_CPUS: usize = #ncpus;
        pub const NUM_VMS: usize = #nvms;
        pub const MAX_VCPUS: usize = #max_vcpus;
        /// Bytes of EL2 stack per pCPU; the linker script reserves NUM_CPUS of them.
        pub const STACK_SIZE: usize = #stack;

        pub const BOARD: BoardDesc = BoardDesc {
            hv_base: Pa(#hv_base),
            hv_size: #hv_size,
            console_kind: UartKind::#console_kind,
            console: Pa(#console),
            console_irq: #console_irq,
            platform: #platform,
        };

        pub static VMS: [VmDesc; NUM_VMS] = [#(#vms),*];

        /// Shared-memory channels between VMs.
        pub const NUM_CHANNELS: usize = #nchannels;
        pub static CHANNELS: [ChannelDesc; NUM_CHANNELS] = [#(#channels),*];

        /// The (VM, vCPU index) each pCPU runs, if any.
        pub static CPU_VCPU: [Option<(VmId, usize)>; NUM_CPUS] = [#(#per_cpu),*];

        #arm_regs
        /// Physical address of `PAGE_TABLES`; the linker script places the section there.
        pub const TABLES_PA: u64 = #tables_pa;

        /// Each VM's stage-2 descriptor of its GICv2 CPU interface's first page: (table, entry)
        /// in `PAGE_TABLES`.
        pub const VM_GICC_PAGE: [Option<(usize, usize)>; NUM_VMS] = [#(#gicc_pages),*];

        /// Every translation table, stage 2 for each VM then the EL2 identity map. Written at run
        /// time only through `PageTables::entry`, atomically (the GICv2 acknowledge trap).
        #[repr(C, align(#tables_align))]
        pub struct PageTables(pub core::cell::UnsafeCell<[[u64; #ENTRIES]; #ntables]>);

        __safety!("run-time writes go through `entry`, atomically");
        unsafe impl Sync for PageTables {}

        impl PageTables {
            /// Descriptor `e` of table `t`, as an atomic; `None` outside the arena.
            pub fn entry(&self, t: usize, e: usize) -> Option<&core::sync::atomic::AtomicU64> {
                if t >= #ntables || e >= #ENTRIES {
                    return None;
                }
                let base = self.0.get().cast::<u64>();
                __safety!("in the arena (checked), aligned, accessed atomically");
                Some(unsafe { core::sync::atomic::AtomicU64::from_ptr(base.add(t * #ENTRIES + e)) })
            }
        }

        const fn table(entries: &[(usize, u64)]) -> [u64; #ENTRIES] {
            let mut t = [0u64; #ENTRIES];
            let mut i = 0;
            while i < entries.len() {
                t[entries[i].0] = entries[i].1;
                i += 1;
            }
            t
        }

        #[unsafe(link_section = ".pagetables")]
        #[used]
        pub static PAGE_TABLES: PageTables = PageTables(core::cell::UnsafeCell::new([#(#tables),*]));

        #(#incbins)*
    }
}

/// The stage-2 root register for VM `vmid` whose root table is at `root`: VTTBR_EL2 (VMID in
/// bits 55:48) or hgatp (mode Sv39x4 = 8 in bits 63:60, VMID in bits 57:44, the root's PPN).
pub fn stage2_register(arch: Arch, root: u64, vmid: u64) -> u64 {
    match arch {
        Arch::Aarch64 => root | (vmid << 48),
        Arch::Riscv64 => (8 << 60) | ((vmid & 0x3FFF) << 44) | (root >> 12),
    }
}

/// Where the DTB of `v` is written (beside the generated code).
pub fn dtb_path(out_dir: &std::path::Path, v: &Vm) -> std::path::PathBuf {
    out_dir.join(format!("{}.dtb", v.name))
}
