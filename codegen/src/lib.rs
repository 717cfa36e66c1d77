//! codegen: a machine description (.ron) in, every static artifact the hypervisor needs out.
//!
//! parse (raw) -> validate (model, all diagnostics with positions) -> emit (Rust with quote +
//! prettyplease, linker script, DTBs, report). hv's build script and the `hvgen` CLI both call
//! [`generate`]; nothing here panics on user input, and nothing is found out at boot instead.
pub mod devices;
pub mod diag;
pub mod emit;
pub mod guests;
pub mod images;
pub mod initramfs;
pub mod layout;
pub mod model;
pub mod qemu;
pub mod raw;
pub mod size;
pub mod spans;
pub mod tables;
pub mod validate;

use diag::{Diagnostic, Diags};
use images::ImageSource;
use std::path::{Path, PathBuf};

/// Everything `generate` needs to know about where things are.
pub struct Request<'a> {
    /// The .ron path as the user named it (shown in messages), resolved against `root`.
    pub ron: String,
    /// Workspace root.
    pub root: PathBuf,
    /// devices/src: where emulated device kinds are found.
    pub devices_dir: PathBuf,
    /// Where flattened images and DTBs are written.
    pub out_dir: PathBuf,
    pub images: &'a mut dyn ImageSource,
}

/// The generated artifacts.
pub struct Generated {
    pub machine: model::Machine,
    pub tables: tables::Built,
    /// `machine.rs` for hv to `include!`.
    pub rust: String,
    pub linker: String,
    pub report: String,
    /// (VM name, DTB bytes, DTS text)
    pub dtbs: Vec<(String, Vec<u8>, String)>,
}

/// Diagnostics rendered against the source, and the raw list for tests.
#[derive(Debug)]
pub struct Failure {
    pub rendered: String,
    pub diags: Vec<Diagnostic>,
}

impl Request<'_> {
    pub fn ron_path(&self) -> PathBuf {
        self.root.join(&self.ron)
    }
}

fn fail(file: &str, src: &str, diags: Vec<Diagnostic>) -> Failure {
    Failure { rendered: diag::render(file, src, &diags), diags }
}

/// Parse, validate and emit. Writes flattened images and DTBs into `out_dir`.
pub fn generate(req: &mut Request) -> Result<Generated, Failure> {
    let file = req.ron.clone();
    let src = std::fs::read_to_string(req.ron_path()).map_err(|e| {
        fail(&file, "", vec![Diagnostic::error(format!("cannot read the machine description: {e}"), None)])
    })?;
    // Optional fields are written bare (`irq: Spi(1)`), not as `Some(Spi(1))`.
    let opts = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let raw: raw::Machine = opts.from_str(&src).map_err(|e| {
        let mut pos = spans::Pos { line: e.span.start.line.max(1), col: e.span.start.col.max(1) };
        if e.code == ron::Error::TrailingCharacters {
            pos = spans::next_token(&src, pos);
        }
        fail(&file, &src, vec![Diagnostic::error(e.code.to_string(), Some(pos))])
    })?;
    let index = spans::SpanIndex::build(&src);
    let mut d = Diags::new(&index);
    let kinds =
        devices::scan(&req.devices_dir).map_err(|e| fail(&file, &src, vec![Diagnostic::error(e, None)]))?;
    let _ = std::fs::create_dir_all(&req.out_dir);
    let machine = validate::validate(&mut d, &file, &raw, &kinds, req.images);
    let Some(machine) = machine else {
        return Err(fail(&file, &src, d.list));
    };
    let internal = |e: String| fail(&file, &src, vec![Diagnostic::error(format!("internal: {e}"), None)]);
    let built = tables::build(&machine.board, &machine.vms, machine.tables_pa.0).map_err(internal)?;
    let mut dtbs = Vec::new();
    for v in machine.vms.iter().filter(|v| v.dtb.is_some()) {
        let t = emit::dtb::tree(&machine.board, v, &machine.channels, &machine.vms);
        let bytes = emit::dtb::to_dtb(&t).map_err(internal)?;
        let reserve = v.dtb.as_ref().map_or(0, |x| x.reserve);
        if bytes.len() as u64 > reserve {
            let mut d = Diags::new(&index);
            d.err(
                &format!("vms.{}.dtb.bootargs", v.id.0),
                format!(
                    "the device tree of VM `{}` is {} bytes, over its {reserve:#x}-byte reserve (shorten its bootargs?)",
                    v.name,
                    bytes.len()
                ),
            );
            return Err(fail(&file, &src, d.list));
        }
        let path = emit::machine::dtb_path(&req.out_dir, v);
        std::fs::write(&path, &bytes).map_err(|e| internal(format!("{}: {e}", path.display())))?;
        dtbs.push((v.name.clone(), bytes, emit::dtb::to_dts(&t)));
    }
    let report = emit::report::emit(&machine, built.arena.tables.len());
    let tokens = {
        let m = emit::machine::emit(&machine, &built, &req.out_dir);
        let r = emit::routing::emit(&machine, &built);
        let g = emit::regs::emit(&machine);
        quote::quote!(#m #r #g
            /// The memory map and routes, as `hvgen report` prints them.
            pub const REPORT: &str = #report;
        )
    };
    let rust = emit::rust_file(&machine.source, tokens).map_err(internal)?;
    let linker = emit::linker::emit(&machine);
    Ok(Generated { machine, tables: built, rust, linker, report, dtbs })
}

/// Write the artifacts hv's build consumes into `out_dir`.
pub fn write(g: &Generated, out_dir: &Path) -> std::io::Result<()> {
    std::fs::write(out_dir.join("machine.rs"), &g.rust)?;
    std::fs::write(out_dir.join("link.ld"), &g.linker)?;
    std::fs::write(out_dir.join("report.txt"), &g.report)?;
    for (name, _, dts) in &g.dtbs {
        std::fs::write(out_dir.join(format!("{name}.dts")), dts)?;
    }
    Ok(())
}
