//! Register accessor structs (tock-registers) for the board's real devices whose layout is
//! architected: on AArch64, the GIC distributor. The description decides which are generated
//! and where they live. (The console UART's layout is its kind's, in hv's driver for it.)
use super::hex;
use super::machine::ident;
use crate::model::*;
use proc_macro2::TokenStream;
use quote::quote;

#[derive(Clone, Copy)]
enum A {
    R,
    Rw,
}

/// (offset, name, access) of 32-bit registers, sorted by offset; `size` is the block length.
struct Layout {
    name: &'static str,
    regs: &'static [(usize, &'static str, A)],
    size: usize,
}

const GICD: Layout = Layout {
    name: "GicdRegs",
    regs: &[(0x000, "ctlr", A::Rw), (0x004, "typer", A::R), (0x008, "iidr", A::R)],
    size: 0x0C,
};

fn layout(l: &Layout) -> TokenStream {
    let name = ident(l.name);
    let mut rows = Vec::new();
    let mut at = 0;
    for (i, &(off, reg, a)) in l.regs.iter().enumerate() {
        if off > at {
            let pad = ident(&format!("_reserved{i}"));
            let o = hex(at as u64);
            rows.push(quote!((#o => #pad)));
        }
        let (o, r) = (hex(off as u64), ident(reg));
        let ty = match a {
            A::R => quote!(ReadOnly<u32>),
            A::Rw => quote!(ReadWrite<u32>),
        };
        rows.push(quote!((#o => pub #r: #ty)));
        at = off + 4;
    }
    let end = hex(l.size as u64);
    quote! {
        register_structs! {
            pub #name { #(#rows,)* (#end => @END), }
        }
    }
}

pub fn emit(m: &Machine) -> TokenStream {
    let Some(g) = m.board.gic() else {
        return quote!();
    };
    let (l, dist) = (layout(&GICD), hex(g.dist().0));
    quote! {
        /// Register blocks of the board's devices, at the addresses the description gives.
        pub mod regs {
            #![allow(missing_docs)]
            use tock_registers::register_structs;
            use tock_registers::registers::{ReadOnly, ReadWrite};
            #l
            /// The GIC distributor.
            pub const GICD: usize = #dist;
        }
    }
}
