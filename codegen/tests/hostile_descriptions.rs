//! An attacker of the validator: every number and string a shipped description holds, replaced
//! by values at the edges (zero, all ones, just past the address spaces, NUL bytes, names the
//! device tree cannot carry). Codegen must never panic (tests run with overflow checks on) and
//! must never fail without saying where: every rejection is located in the .ron.
mod common;

use std::path::Path;

static WHERE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Values substituted for each number: the edges of u32, u64, and of the 39- and 40-bit spaces.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "0xFFFF_FFFF",
    "0xFFFF_FFFF_FFFF_FFFF",
    "0xFFFF_FFFF_FFFF_F000",
    "0x80_0000_0000",
    "0x7F_FFFF_F000",
    "0xFF_FFFF_F000",
    "0x4000_1000",
];

/// Values substituted for each string.
const STRINGS: &[&str] = &["", "a\\u{0}b", "hole@c000000", "x/y", "Ünï", "a b"];

/// The byte ranges of number literals and string contents in `src`, comments left out.
fn literals(src: &str) -> Vec<(usize, usize, bool)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            let s = i + 1;
            i = s;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            out.push((s, i, false));
            i += 1;
        } else if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((s, i, true));
        } else {
            i += 1;
        }
    }
    out
}

/// Attack `machine`; returns the cases tried, and what went wrong.
fn attack(machine: &str, failures: &mut Vec<String>) -> usize {
    let src = std::fs::read_to_string(common::root().join(machine)).unwrap();
    let dir = std::env::temp_dir().join(format!("hv-hostile-desc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases = 0;
    for (s, e, number) in literals(&src) {
        let values = if number { NUMBERS } else { STRINGS };
        for v in values {
            let mutated = format!("{}{v}{}", &src[..s], &src[e..]);
            // One path for every case, so codegen's output directory is reused, not multiplied.
            let path = dir.join("case.ron");
            std::fs::write(&path, &mutated).unwrap();
            let ron = path.display().to_string();
            let what = format!("{machine} with `{}` replaced by `{v}`", &src[s..e]);
            let result = std::panic::catch_unwind(|| common::generate(&ron));
            match result {
                Err(e) => {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let at = WHERE.lock().unwrap().clone();
                    failures.push(format!("codegen panicked on {what}: {msg} at {at}"));
                }
                Ok(Err(f))
                    if f.diags.iter().any(|d| d.main.pos.is_none()) || f.rendered.contains("internal:") =>
                {
                    failures.push(format!("{what}: a rejection without a location:\n{}", f.rendered));
                }
                Ok(_) => {}
            }
            cases += 1;
        }
    }
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    let out = format!(
        "hv-codegen-test-{}-{}",
        std::process::id(),
        dir.join("case.ron").display().to_string().replace('/', "_")
    );
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(out));
    cases
}

#[test]
fn edge_values_never_panic_and_every_rejection_is_located() {
    // Panics are collected with where they happened, not printed one by one.
    std::panic::set_hook(Box::new(|info| {
        *WHERE.lock().unwrap() = info.location().map(|l| l.to_string()).unwrap_or_default();
    }));
    let (mut cases, mut failures) = (0, Vec::new());
    for m in [
        "machines/qemu-virt.ron",
        "machines/qemu-virt-gicv2.ron",
        "machines/qemu-virt-linux.ron",
        "codegen/tests/ok/two_vms.ron",
    ] {
        cases += attack(m, &mut failures);
    }
    let _ = std::panic::take_hook();
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(cases > 300, "only {cases} cases");
}
