//! Register accessor structs (tock-registers) for the board's real devices that hv drives: the
//! console UART and, on AArch64, the GIC distributor. The layouts are the devices' architected ones; the
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

/// (offset, name, access) of registers `width` bytes wide (1 or 4), sorted by offset; `size`
/// is the block length.
struct Layout {
    name: &'static str,
    regs: &'static [(usize, &'static str, A)],
    size: usize,
    width: usize,
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
    width: 4,
};

/// An NS16550A with byte registers one byte apart (reg-shift 0). Offsets 0 and 1 are the
/// divisor latch while LCR.DLAB is set, which hv never does (the firmware set the baud rate).
const NS16550: Layout = Layout {
    name: "Ns16550Regs",
    regs: &[
        (0, "rbr_thr", A::Rw),
        (1, "ier", A::Rw),
        (2, "iir_fcr", A::Rw),
        (3, "lcr", A::Rw),
        (4, "mcr", A::Rw),
        (5, "lsr", A::R),
        (6, "msr", A::R),
        (7, "scr", A::Rw),
    ],
    size: 8,
    width: 1,
};

const GICD: Layout = Layout {
    name: "GicdRegs",
    regs: &[(0x000, "ctlr", A::Rw), (0x004, "typer", A::R), (0x008, "iidr", A::R)],
    size: 0x0C,
    width: 4,
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
        let int = if l.width == 1 { quote!(u8) } else { quote!(u32) };
        let ty = match a {
            A::R => quote!(ReadOnly<#int>),
            A::W => quote!(WriteOnly<#int>),
            A::Rw => quote!(ReadWrite<#int>),
        };
        rows.push(quote!((#o => pub #r: #ty)));
        at = off + l.width;
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
        Console::Ns16550 { base, .. } => {
            let (l, a) = (layout(&NS16550), hex(base.0));
            quote! {
                #l
                /// The board's console UART.
                pub const CONSOLE: usize = #a;
                pub type Console = Ns16550Regs;
            }
        }
    };
    let gicd = match b.gic() {
        Some(g) => {
            let (l, dist) = (layout(&GICD), hex(g.dist().0));
            quote! {
                #l
                /// The GIC distributor.
                pub const GICD: usize = #dist;
            }
        }
        None => quote!(),
    };
    quote! {
        /// Register blocks of the board's devices, at the addresses the description gives.
        pub mod regs {
            #![allow(missing_docs)]
            use tock_registers::register_structs;
            #[allow(unused_imports)]
            use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
            #console
            #gicd
        }
    }
}
