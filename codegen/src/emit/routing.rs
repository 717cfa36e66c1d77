//! MMIO routing: one struct of device instances per VM and `route_mmio`, a single `match` on
//! (VM, IPA range). No trait objects, no registration at run time. The device statics are private
//! to this module, so `route_mmio` is the only way in.
use super::hex;
use super::machine::ident;
use crate::model::*;
use proc_macro2::TokenStream;
use quote::quote;

pub fn emit(m: &Machine, built: &crate::tables::Built) -> TokenStream {
    let mut structs = Vec::new();
    let mut sizes = Vec::new();
    let mut arms = Vec::new();
    for v in &m.vms {
        let sname = ident(&format!("{}Devices", camel(&v.name)));
        let sstatic = ident(&format!("{}_DEVICES", v.ident()));
        let fields = v.emulated.iter().map(|e| {
            let f = ident(&e.name.replace('-', "_"));
            let module = ident(&e.kind.module);
            let kind = ident(&e.kind.name);
            (f, quote!(crate::devices::#module::#kind))
        });
        let (names, tys): (Vec<_>, Vec<_>) = fields.unzip();
        let doc = format!("Emulated devices of VM `{}`.", v.name);
        // One vCPU: its exits are the only users, so no lock (see hv/src/cell.rs).
        let cell = ident(if v.vcpus.len() == 1 { "Owned" } else { "Shared" });
        structs.push(quote! {
            #[doc = #doc]
            pub struct #sname { #(pub #names: #tys),* }
            static #sstatic: crate::cell::#cell<#sname> = crate::cell::#cell::new(#sname { #(#names: <#tys>::new()),* });
        });
        let tables = built.vm_tables[v.id.0] * 4096;
        sizes.push(quote!(VmStatic { tables: #tables, devices: core::mem::size_of::<#sname>() }));
        let id = v.id.0;
        let take = if v.vcpus.len() == 1 {
            quote! {
                // SAFETY: VM `#id` has one vCPU; only its exits reach this, one at a time.
                let d = unsafe { #sstatic.get() };
            }
        } else {
            quote!(let mut d = #sstatic.lock();)
        };
        for (e, f) in v.emulated.iter().zip(&names) {
            let w = e.window();
            let (lo, hi) = (hex(w.base), hex(w.end() - 1));
            arms.push(quote! {
                (#id, #lo..=#hi) => {
                    #take
                    Some(hv_mmio::access(&mut d.#f, ctx, (ipa.0 - #lo) as usize, width, op))
                }
            });
        }
    }
    quote! {
        #(#structs)*

        /// Static memory each VM takes, for the banner and `make bench`.
        pub const VM_STATIC: [VmStatic; NUM_VMS] = [#(#sizes),*];

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

/// `hello-world` -> `HelloWorld`
pub fn camel(s: &str) -> String {
    s.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}
