//! MMIO routing: one struct of device instances per VM and `route_mmio`, a single `match` on
//! (VM, IPA range), with no trait objects or registration at run time on the access path. The
//! device statics are private to the generated module: accesses reach them through
//! `route_mmio`, and each VM's `Vm` holds its set (`DEVICES`) to reset it.
use super::hex;
use super::machine::ident;
use crate::model::*;
use proc_macro2::TokenStream;
use quote::quote;

pub fn emit(m: &Machine, built: &crate::tables::Built) -> TokenStream {
    let mut structs = Vec::new();
    let mut sizes = Vec::new();
    let mut arms = Vec::new();
    let mut vm_spis = Vec::new();
    let mut hw_spis = Vec::new();
    let mut device_sets = Vec::new();
    let mut consoles = Vec::new();
    let mut has_console = Vec::new();
    for v in &m.vms {
        // Generated names come from indices, never from the names users write: `uart-0` and
        // `uart_0`, or a device called `type`, cannot collide or clash with Rust.
        let sname = ident(&format!("Vm{}Devices", v.id.0));
        let sstatic = ident(&format!("VM{}_DEVICES", v.id.0));
        let fields = v.emulated.iter().enumerate().map(|(k, e)| {
            let f = ident(&format!("dev{k}"));
            let module = ident(&e.kind.module);
            let kind = ident(&e.kind.name);
            (f, quote!(hv_devices::#module::#kind))
        });
        let (names, tys): (Vec<_>, Vec<_>) = fields.unzip();
        let names_doc = v
            .emulated
            .iter()
            .enumerate()
            .map(|(k, e)| format!("`dev{k}`: `{}`", e.name))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = format!("Emulated devices of VM {} `{}`: {names_doc}.", v.id.0, v.name);
        // One vCPU: its exits are the only users, so no lock. hv's `Owned` itself refuses any
        // other vCPU count (mmio/src/cell.rs).
        let nvcpus = v.vcpus.len();
        let cell = if nvcpus == 1 { quote!(Owned<#sname, #nvcpus>) } else { quote!(Shared<#sname>) };
        let ctor = if nvcpus == 1 { quote!(Owned) } else { quote!(Shared) };
        structs.push(quote! {
            #[doc = #doc]
            pub struct #sname { #(pub #names: #tys),* }
            static #sstatic: hv_mmio::cell::#cell = hv_mmio::cell::#ctor::new(#sname { #(#names: <#tys>::new()),* });
        });
        let tables = built.vm_tables[v.id.0] * 4096;
        sizes.push(quote!(VmStatic {
            tables: #tables,
            devices: core::mem::size_of::<#sname>(),
        }));
        let id = v.id.0;
        let take = if v.vcpus.len() == 1 {
            let why = format!("VM {id} has one vCPU; only its exits reach this, one at a time.");
            quote! {
                __safety!(#why);
                let d = unsafe { #sstatic.get() };
            }
        } else {
            quote!(let mut d = #sstatic.lock();)
        };
        for (k, (e, f)) in v.emulated.iter().zip(&names).enumerate() {
            let w = e.window();
            let (lo, hi) = (hex(w.base), hex(w.end() - 1));
            let intids = e.irq.iter().map(|i| i.0);
            let lines = lines_ident(v, k);
            structs.push(quote! {
                struct #lines;
                impl hv_mmio::IrqLines for #lines { const INTIDS: &'static [u32] = &[#(#intids),*]; }
            });
            // A one-page window starts on a page boundary (checked), so the offset is the low
            // bits the fault address already holds, with no subtraction.
            let offset = if w.size == 0x1000 { quote!(ipa.0 & 0xFFF) } else { quote!(ipa.0 - #lo) };
            arms.push(quote! {
                (#id, #lo..=#hi) => {
                    #take
                    let ctx = &mut hv_mmio::Wired { ctx, lines: core::marker::PhantomData::<#lines> };
                    Some(hv_mmio::access(&mut d.#f, ctx, (#offset) as usize, width, op))
                }
            });
        }
        structs.push(quote! {
            impl hv_mmio::cell::PowerOn for #sname {
                fn power_on() -> Self { #sname { #(#names: <#tys>::new()),* } }
            }
        });
        device_sets.push(quote!(&#sstatic));
        // The VM's console: its first PL011, which the DTB names as stdout.
        let console = v.emulated.iter().position(|e| e.kind.console);
        has_console.push(console.is_some());
        if let Some(k) = console {
            let f = &names[k];
            let lines = lines_ident(v, k);
            consoles.push(quote! {
                #id => {
                    #take
                    let ctx = &mut hv_mmio::Wired { ctx, lines: core::marker::PhantomData::<#lines> };
                    loop {
                        if hv_mmio::ConsoleDevice::rx_room(&d.#f) == 0 {
                            return Some(false);
                        }
                        match next() {
                            Some(b) => hv_mmio::ConsoleDevice::receive(&mut d.#f, ctx, b),
                            None => return Some(true),
                        }
                    }
                }
            });
        }
        vm_spis.push(vgic_spis(m, v));
        for &bi in &v.passthrough {
            for i in &m.board.devices[bi].irqs {
                let intid = i.0;
                hw_spis.push(quote!((#intid, VmId(#id))));
            }
        }
    }
    let nspis = hw_spis.len();
    quote! {
        #(#structs)*

        /// Each VM's passthrough SPIs as INTID bits (words of 32): hv's virtual GIC marks them
        /// hardware-backed.
        pub const VM_HW_SPIS: [[u32; 4]; NUM_VMS] = [#(#vm_spis),*];

        /// Passthrough SPIs (INTID, owning VM): hv routes them to the VM's virtual GIC.
        pub static HW_SPIS: [(u32, VmId); #nspis] = [#(#hw_spis),*];

        /// Static memory each VM takes, for the banner and `make bench`.
        pub const VM_STATIC: [VmStatic; NUM_VMS] = [#(#sizes),*];

        /// Each VM's emulated devices, for its `Vm` to hold (and reset); accesses reach them
        /// through `route_mmio`.
        pub static DEVICES: [&'static dyn hv_mmio::cell::DeviceSet; NUM_VMS] = [#(#device_sets),*];

        /// Which VMs have a console device (console input can go to them).
        pub const HAS_CONSOLE: [bool; NUM_VMS] = [#(#has_console),*];

        /// Feed VM `vm`'s console device bytes from `next` while it has room: `Some(true)` when
        /// `next` ran dry, `Some(false)` when the device is full, `None` without a console.
        pub fn console_input<C: hv_mmio::MmioCtx>(
            vm: VmId, ctx: &mut C, next: &mut impl FnMut() -> Option<u8>,
        ) -> Option<bool> {
            match vm.0 {
                #(#consoles)*
                _ => { let _ = (ctx, next); None }
            }
        }

        /// Emulate an access by `vm` at `ipa`; `None` if no emulated device decodes it.
        #[inline(always)]
        pub fn route_mmio<C: hv_mmio::MmioCtx>(
            vm: VmId, ctx: &mut C, ipa: Ipa, width: hv_mmio::Width, op: hv_mmio::MmioOp,
        ) -> Option<Result<u64, hv_mmio::MmioFault>> {
            #[allow(clippy::match_single_binding)]
            match (vm.0, ipa.0) {
                #(#arms)*
                _ => { let _ = (ctx, width, op); None }
            }
        }
    }
}

/// The type naming device `k` of `v`'s interrupt lines.
fn lines_ident(v: &Vm, k: usize) -> proc_macro2::Ident {
    ident(&format!("Vm{}Dev{k}Lines", v.id.0))
}

/// VM `v`'s passthrough SPIs as INTID bits.
fn vgic_spis(m: &Machine, v: &Vm) -> TokenStream {
    let mut words = [0u32; 4];
    for &bi in &v.passthrough {
        for i in &m.board.devices[bi].irqs {
            if let Some(w) = words.get_mut(i.0 as usize / 32) {
                *w |= 1 << (i.0 % 32);
            }
        }
    }
    quote!([#(#words),*])
}
