//! Proc macros for hv. `#[derive(MmioDevice)]` turns a struct of registers into an emulated device
//! whose offset/width dispatch is a `match` checked at compile time (see docs/adding-a-device.md).
use proc_macro::TokenStream;

mod mmio_device;

/// Derive `hv_mmio::MmioDevice` from `#[mmio(...)]` on the struct and `#[reg(...)]` on fields.
///
/// ```ignore
/// #[derive(MmioDevice)]
/// #[mmio(size = 0x1000, compatible = ["arm,pl011", "arm,primecell"], unmapped = RazWi)]
/// pub struct VirtPl011 {
///     #[reg(offset = 0x000, read = Self::rx, write = Self::tx, widths(8, 16, 32))] dr: u32,
///     #[reg(offset = 0x018, read_only)] fr: u32,
///     #[reg(offset = 0xFE0, read_only)] id: [u32; 8],
/// }
/// ```
#[proc_macro_derive(MmioDevice, attributes(mmio, reg))]
pub fn derive_mmio_device(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    mmio_device::expand(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}
