//! Finds the emulated device kinds: every `#[derive(MmioDevice)]` struct in devices/src.
//!
//! Reading the sources (with syn) instead of keeping a list is what makes "add a device" one
//! file plus one RON line: codegen learns the kind's size and DTB `compatible` from its
//! `#[mmio(...)]` attribute, and whether it can be a VM's console (it implements
//! `ConsoleDevice`, so console input can go to it).
use crate::model::DeviceKind;
use std::path::Path;
use syn::{punctuated::Punctuated, LitInt, LitStr, Token};

/// Scan `dir` for device kinds, sorted by name.
pub fn scan(dir: &Path) -> Result<Vec<DeviceKind>, String> {
    let mut kinds = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read device sources in {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    entries.sort();
    for path in entries {
        let src = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let module = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
        kinds.extend(scan_source(&src, &module).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    kinds.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(kinds)
}

/// The device kinds defined in one source file of module `module`.
pub fn scan_source(src: &str, module: &str) -> Result<Vec<DeviceKind>, String> {
    let file = syn::parse_file(src).map_err(|e| e.to_string())?;
    // `impl ConsoleDevice for X` anywhere in the file makes X a console.
    let consoles: Vec<String> =
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Impl(i) => {
                    let is_console = i.trait_.as_ref().is_some_and(|(_, p, _)| {
                        p.segments.last().is_some_and(|s| s.ident == "ConsoleDevice")
                    });
                    let syn::Type::Path(ty) = &*i.self_ty else { return None };
                    is_console.then(|| ty.path.segments.last().map(|s| s.ident.to_string())).flatten()
                }
                _ => None,
            })
            .collect();
    let mut out = Vec::new();
    for item in file.items {
        let syn::Item::Struct(s) = item else { continue };
        let derives_mmio = s.attrs.iter().any(|a| {
            a.path().is_ident("derive")
                && a.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated).is_ok_and(|ps| {
                    ps.iter().any(|p| p.segments.last().is_some_and(|s| s.ident == "MmioDevice"))
                })
        });
        if !derives_mmio {
            continue;
        }
        let mut size = None;
        let mut compatible = Vec::new();
        for a in s.attrs.iter().filter(|a| a.path().is_ident("mmio")) {
            a.parse_nested_meta(|meta| {
                if meta.path.is_ident("size") {
                    size = Some(meta.value()?.parse::<LitInt>()?.base10_parse::<u64>()?);
                } else if meta.path.is_ident("compatible") {
                    let v = meta.value()?;
                    if v.peek(syn::token::Bracket) {
                        let content;
                        syn::bracketed!(content in v);
                        let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                        compatible.extend(list.iter().map(LitStr::value));
                    } else {
                        compatible.push(v.parse::<LitStr>()?.value());
                    }
                } else {
                    let _ = meta.value().and_then(|v| v.parse::<syn::Expr>());
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        }
        let size = size.ok_or_else(|| format!("device `{}` has no #[mmio(size = …)]", s.ident))?;
        let name = s.ident.to_string();
        let console = consoles.contains(&name);
        out.push(DeviceKind { name, module: module.to_string(), size, compatible, console });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn finds_derived_structs() {
        let src = r#"
            #[derive(Default)] struct NotADevice;
            #[derive(hv_mmio::MmioDevice, Debug)]
            #[mmio(size = 0x1000, compatible = ["arm,pl011", "arm,primecell"], unmapped = RazWi)]
            pub struct VirtPl011 { #[reg(offset = 0)] dr: u32 }
        "#;
        let k = scan_source(src, "vpl011").unwrap();
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].name, "VirtPl011");
        assert_eq!(k[0].size, 0x1000);
        assert_eq!(k[0].compatible, ["arm,pl011", "arm,primecell"]);
    }
}
