//! Parsing and checking of the `#[mmio]`/`#[reg]` register map, and the generated dispatch.
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{punctuated::Punctuated, Data, DeriveInput, Expr, Fields, Ident, LitInt, LitStr, Token, Type};

struct DeviceAttrs {
    size: usize,
    compatible: Vec<LitStr>,
    unmapped: Ident,
    /// `context = Trait`: handlers take a context of that trait instead of `MmioCtx`. The device
    /// then gets inherent `mmio_read`/`mmio_write`/`mmio_access` (it is not a board device: the
    /// virtual GIC, whose host interface is its own).
    context: Option<syn::Path>,
}

enum Access {
    Storage,
    Handler(Expr),
}

struct Reg {
    field: Ident,
    offset: usize,
    offset_span: Span,
    /// Bytes of one element.
    elem: usize,
    /// Elements; `None` for a scalar register.
    count: Option<usize>,
    read: Access,
    write: Option<Access>,
    /// Bitmask of allowed access widths in bytes (bit set = width allowed).
    widths: u8,
}

impl Reg {
    fn bytes(&self) -> usize {
        self.elem * self.count.unwrap_or(1)
    }
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(input.ident.span(), "MmioDevice can only be derived for a struct"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(input.ident.span(), "MmioDevice needs a struct with named fields"));
    };
    let dev = device_attrs(input)?;
    let mut regs = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut push_err = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for f in &fields.named {
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("reg")) {
            match reg_attr(f, attr) {
                Ok(r) => regs.push(r),
                Err(e) => push_err(e),
            }
        }
    }
    check_map(&dev, &mut regs).into_iter().for_each(&mut push_err);
    if let Some(e) = errors {
        return Err(e);
    }
    Ok(generate(input, &dev, &regs))
}

fn device_attrs(input: &DeriveInput) -> syn::Result<DeviceAttrs> {
    let mut size = None;
    let mut compatible = Vec::new();
    let mut unmapped = Ident::new("Abort", Span::call_site());
    let mut context = None;
    let Some(attr) = input.attrs.iter().find(|a| a.path().is_ident("mmio")) else {
        return Err(syn::Error::new(
            input.ident.span(),
            "missing #[mmio(size = …)]: an MMIO device must say how many bytes it decodes",
        ));
    };
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("size") {
            let lit: LitInt = meta.value()?.parse()?;
            let v: usize = lit.base10_parse()?;
            if v == 0 {
                return Err(syn::Error::new(lit.span(), "device size must be non-zero"));
            }
            size = Some(v);
        } else if meta.path.is_ident("compatible") {
            let value = meta.value()?;
            if value.peek(syn::token::Bracket) {
                let content;
                syn::bracketed!(content in value);
                compatible.extend(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?);
            } else {
                compatible.push(value.parse()?);
            }
        } else if meta.path.is_ident("unmapped") {
            let id: Ident = meta.value()?.parse()?;
            if id != "RazWi" && id != "Abort" {
                return Err(syn::Error::new(id.span(), "unmapped must be `RazWi` or `Abort`"));
            }
            unmapped = id;
        } else if meta.path.is_ident("context") {
            context = Some(meta.value()?.parse()?);
        } else {
            return Err(
                meta.error("unknown #[mmio] key; expected `size`, `compatible`, `unmapped` or `context`")
            );
        }
        Ok(())
    })?;
    let size = size.ok_or_else(|| syn::Error::new(attr.span(), "#[mmio] needs `size = <bytes>`"))?;
    Ok(DeviceAttrs { size, compatible, unmapped, context })
}

/// Bytes of `u8`/`u16`/`u32`/`u64`, or `None`.
fn scalar_bytes(ty: &Type) -> Option<usize> {
    let Type::Path(p) = ty else { return None };
    let id = p.path.get_ident()?;
    Some(match id.to_string().as_str() {
        "u8" => 1,
        "u16" => 2,
        "u32" => 4,
        "u64" => 8,
        _ => return None,
    })
}

fn reg_attr(f: &syn::Field, attr: &syn::Attribute) -> syn::Result<Reg> {
    let field = f.ident.clone().expect("named field");
    let type_err =
        || syn::Error::new(f.ty.span(), "a #[reg] field must be u8, u16, u32, u64 or an array of them");
    let (elem, array_len) = match &f.ty {
        Type::Array(a) => {
            let n = match &a.len {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) => n.base10_parse::<usize>()?,
                other => {
                    return Err(syn::Error::new(other.span(), "array length must be an integer literal"))
                }
            };
            (scalar_bytes(&a.elem).ok_or_else(type_err)?, Some(n))
        }
        ty => (scalar_bytes(ty).ok_or_else(type_err)?, None),
    };
    let mut offset = None;
    let mut count: Option<LitInt> = None;
    let mut read = Access::Storage;
    let mut write = Some(Access::Storage);
    let mut read_only: Option<Span> = None;
    let mut write_handler: Option<Span> = None;
    let mut widths = elem as u8;
    attr.parse_nested_meta(|meta| {
        let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
        match key.as_str() {
            "offset" => {
                let lit: LitInt = meta.value()?.parse()?;
                offset = Some((lit.base10_parse::<usize>()?, lit.span()));
            }
            "count" => count = Some(meta.value()?.parse()?),
            "read" => read = Access::Handler(meta.value()?.parse()?),
            "write" => {
                write_handler = Some(meta.path.span());
                write = Some(Access::Handler(meta.value()?.parse()?));
            }
            "read_only" => read_only = Some(meta.path.span()),
            "widths" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let mut mask = 0u8;
                for lit in Punctuated::<LitInt, Token![,]>::parse_terminated(&content)? {
                    let bits: usize = lit.base10_parse()?;
                    if !matches!(bits, 8 | 16 | 32 | 64) || bits / 8 > elem {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("access width {bits} must be 8, 16, 32 or 64 and at most the register's {} bits", elem * 8),
                        ));
                    }
                    mask |= (bits / 8) as u8;
                }
                widths = mask;
            }
            _ => return Err(meta.error("unknown #[reg] key; expected offset, count, read, write, read_only or widths")),
        }
        Ok(())
    })?;
    let (offset, offset_span) =
        offset.ok_or_else(|| syn::Error::new(attr.span(), "#[reg] needs `offset = <bytes>`"))?;
    if let (Some(ro), Some(_)) = (read_only, write_handler) {
        return Err(syn::Error::new(ro, "a read_only register cannot have a write handler"));
    }
    if read_only.is_some() {
        write = None;
    }
    let count = match (count, array_len) {
        (Some(c), Some(n)) => {
            let c_val: usize = c.base10_parse()?;
            if c_val != n {
                return Err(syn::Error::new(
                    c.span(),
                    format!("count = {c_val} but the field is an array of {n}"),
                ));
            }
            Some(n)
        }
        (Some(c), None) => return Err(syn::Error::new(c.span(), "count needs an array field")),
        (None, n) => n,
    };
    if offset % elem != 0 {
        return Err(syn::Error::new(
            offset_span,
            format!("offset {offset:#x} is not aligned to the register's {elem}-byte width"),
        ));
    }
    Ok(Reg { field, offset, offset_span, elem, count, read, write, widths })
}

/// Bounds and overlaps; sorts `regs` by offset.
fn check_map(dev: &DeviceAttrs, regs: &mut [Reg]) -> Vec<syn::Error> {
    let mut errs = Vec::new();
    for r in regs.iter() {
        if r.offset + r.bytes() > dev.size {
            errs.push(syn::Error::new(
                r.offset_span,
                format!(
                    "register `{}` ({:#x}..{:#x}) lies outside the device's size {:#x}",
                    r.field,
                    r.offset,
                    r.offset + r.bytes(),
                    dev.size
                ),
            ));
        }
    }
    regs.sort_by_key(|r| r.offset);
    for w in regs.windows(2) {
        if w[0].offset + w[0].bytes() > w[1].offset {
            errs.push(syn::Error::new(
                w[1].offset_span,
                format!(
                    "register `{}` at {:#x} overlaps `{}` ({:#x}..{:#x})",
                    w[1].field,
                    w[1].offset,
                    w[0].field,
                    w[0].offset,
                    w[0].offset + w[0].bytes()
                ),
            ));
        }
    }
    errs
}

fn generate(input: &DeriveInput, dev: &DeviceAttrs, regs: &[Reg]) -> TokenStream {
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let size = dev.size;
    let compatible = &dev.compatible;
    let unmapped = &dev.unmapped;
    let p = quote!(::hv_mmio::__private);

    let infos = regs.iter().map(|r| {
        let name = r.field.to_string();
        let (off, w, n) = (r.offset, r.elem, r.count.unwrap_or(1));
        let kind = match (&r.read, &r.write) {
            (Access::Handler(_), _) | (_, Some(Access::Handler(_))) => quote!(Handler),
            (_, None) => quote!(ReadOnly),
            _ => quote!(Storage),
        };
        quote!(::hv_mmio::RegInfo { name: #name, offset: #off, width: #w, count: #n, kind: ::hv_mmio::RegKind::#kind })
    });

    // Dispatch on the register index at the finest register granularity, not on byte ranges:
    // dense small integers become a jump table instead of a compare tree.
    let gran = regs.iter().map(|r| r.elem).min().unwrap_or(1);
    let gran_shift = gran.trailing_zeros();
    let mut read_arms = Vec::new();
    let mut write_arms = Vec::new();
    for r in regs {
        let field = &r.field;
        let start = r.offset;
        let (first, last) = (r.offset / gran, (r.offset + r.bytes() - 1) / gran);
        let (elem, widths) = (r.elem, r.widths);
        let elem_ty = Ident::new(&format!("u{}", elem * 8), Span::call_site());
        let sp = r.offset_span;
        // `slot` is the storage place; `idx` is passed to handlers of array registers.
        let (locate, slot, idx_arg) = if r.count.is_some() {
            (
                quote!(let rel = offset - #start; let idx = rel / #elem; let shift = rel % #elem;),
                quote!(self.#field[idx]),
                quote!(idx,),
            )
        } else {
            (quote!(let shift = offset - #start;), quote!(self.#field), quote!())
        };
        let check = quote! {
            if !#p::width_allowed(#widths, width) || shift & (width.bytes() - 1) != 0 {
                return Err(::hv_mmio::MmioFault::BadWidth);
            }
        };
        let value = match &r.read {
            Access::Storage => quote!(#slot as u64),
            Access::Handler(h) => quote_spanned!(sp=> (#h)(self, ctx, #idx_arg) as u64),
        };
        read_arms.push(quote! {
            #first..=#last => { #locate #check Ok(#p::lane_read(#value, shift, width)) }
        });
        let store = match &r.write {
            None => {
                quote!(return #p::unmapped_write(Self::UNMAPPED, ::hv_mmio::MmioFault::ReadOnly);)
            }
            Some(Access::Storage) => quote!(#slot = merged;),
            Some(Access::Handler(h)) => quote_spanned!(sp=> (#h)(self, ctx, #idx_arg merged);),
        };
        write_arms.push(quote! {
            #first..=#last => {
                #locate #check
                let merged = #p::lane_merge(#slot as u64, shift, width, value) as #elem_ty;
                #store
                Ok(())
            }
        });
    }

    let bound = match &dev.context {
        Some(path) => quote!(#path),
        None => quote!(::hv_mmio::MmioCtx),
    };
    let consts = |vis: TokenStream| {
        quote! {
            #vis const SIZE: usize = #size;
            #vis const COMPATIBLE: &'static [&'static str] = &[#(#compatible),*];
            #vis const UNMAPPED: ::hv_mmio::Unmapped = ::hv_mmio::Unmapped::#unmapped;
            #vis const REGISTERS: &'static [::hv_mmio::RegInfo] = &[#(#infos),*];
        }
    };
    let methods = |vis: TokenStream| {
        quote! {
            #[inline(always)]
            #[allow(unused_variables, clippy::identity_op, clippy::unnecessary_cast)]
            #vis fn mmio_read<C: #bound>(
                &mut self, ctx: &mut C, offset: usize, width: ::hv_mmio::Width,
            ) -> Result<u64, ::hv_mmio::MmioFault> {
                match offset >> #gran_shift {
                    #(#read_arms)*
                    _ => #p::unmapped_read(Self::UNMAPPED),
                }
            }

            #[inline(always)]
            #[allow(unused_variables, unreachable_code, clippy::identity_op, clippy::unnecessary_cast)]
            #vis fn mmio_write<C: #bound>(
                &mut self, ctx: &mut C, offset: usize, width: ::hv_mmio::Width, value: u64,
            ) -> Result<(), ::hv_mmio::MmioFault> {
                match offset >> #gran_shift {
                    #(#write_arms)*
                    _ => #p::unmapped_write(Self::UNMAPPED, ::hv_mmio::MmioFault::Unmapped),
                }
            }
        }
    };
    if dev.context.is_some() {
        let (c, m) = (consts(quote!(pub)), methods(quote!(pub)));
        return quote! {
            impl #impl_g #name #ty_g #where_g {
                #c
                #m
                /// Perform `op`: reads return the value, writes return 0.
                #[inline(always)]
                pub fn mmio_access<C: #bound>(
                    &mut self, ctx: &mut C, offset: usize, width: ::hv_mmio::Width, op: ::hv_mmio::MmioOp,
                ) -> Result<u64, ::hv_mmio::MmioFault> {
                    match op {
                        ::hv_mmio::MmioOp::Read => self.mmio_read(ctx, offset, width),
                        ::hv_mmio::MmioOp::Write(v) => self.mmio_write(ctx, offset, width, v).map(|()| 0),
                    }
                }
            }
        };
    }
    let (c, m) = (consts(quote!()), methods(quote!()));
    quote! {
        impl #impl_g ::hv_mmio::MmioDevice for #name #ty_g #where_g {
            #c
            #m
        }
    }
}
