//! Register accessor structs (tock-registers) for the board's real devices that hv drives: the
//! console UART and the GIC distributor. The layouts are the devices' architected ones; the
//! description decides which are generated and where they live.
use super::hex;
use super::machine::ident;
use crate::model::*;
use proc_macro2::TokenStream;
use quote::quote;

#[derive(Clone, Copy)]
enum A {
    R,
    W,
    Rw,
}

/// (offset, name, access) of 32-bit registers, sorted by offset; `size` is the block length.
struct Layout {
    name: &'static str,
    regs: &'static [(usize, &'static str, A)],
    size: usize,
}

const PL011: Layout = Layout {
    name: "Pl011Regs",
    regs: &[
        (0x000, "dr", A::Rw),
        (0x004, "rsr_ecr", A::Rw),
        (0x018, "fr", A::R),
        (0x024, "ibrd", A::Rw),
        (0x028, "fbrd", A::Rw),
        (0x02C, "lcr_h", A::Rw),
        (0x030, "cr", A::Rw),
        (0x034, "ifls", A::Rw),
        (0x038, "imsc", A::Rw),
        (0x03C, "ris", A::R),
        (0x040, "mis", A::R),
        (0x044, "icr", A::W),
    ],
    size: 0x48,
};

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
            A::W => quote!(WriteOnly<u32>),
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
    let b = &m.board;
    let console = match b.console {
        Console::Pl011 { base, .. } => {
            let (l, a) = (layout(&PL011), hex(base.0));
            quote! {
                #l
                /// The board's console UART.
                pub const CONSOLE: usize = #a;
                pub type Console = Pl011Regs;
            }
        }
    };
    let gicd = layout(&GICD);
    let dist = hex(b.gic.dist().0);
    quote! {
        /// Register blocks of the board's devices, at the addresses the description gives.
        pub mod regs {
            #![allow(missing_docs)]
            use tock_registers::register_structs;
            use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
            #console
            #gicd
            /// The GIC distributor.
            pub const GICD: usize = #dist;
        }
    }
}
