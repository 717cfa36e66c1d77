//! The layout rules of hv's source, checked: the core names no ISA (AArch64 and GIC names live
//! under `arch/aarch64/`, riscv64 names under `arch/riscv64/`), and no two files import each
//! other, directly or around a circle. Imports are read from `use` items and `crate::`/`super::`
//! paths, resolved to the file that defines the module they name.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("hv/src is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module path of a file (`arch/aarch64/vgic` for `arch/aarch64/vgic/mod.rs`; "" for lib.rs).
fn module_of(rel: &Path) -> String {
    let s = rel.with_extension("").to_string_lossy().replace('\\', "/");
    let s = s.strip_suffix("/mod").unwrap_or(&s).to_string();
    if s == "lib" || s == "main" {
        String::new()
    } else {
        s
    }
}

/// Code without comments and without the `#[cfg(test)] mod tests` block at the end of a file.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The longest module prefix of `path` (`crate::…` or `super::…`, seen from `from`) that is a file.
fn resolve(files: &BTreeMap<String, PathBuf>, from: &str, path: &str) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = match *segs.first()? {
        "crate" => vec![],
        "super" => {
            let mut b: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
            b.pop();
            b
        }
        _ => return None,
    };
    segs.remove(0);
    while segs.first() == Some(&"super") {
        base.pop();
        segs.remove(0);
    }
    let mut best = None;
    for i in 0..=segs.len() {
        let m = base.iter().chain(&segs[..i]).copied().collect::<Vec<_>>().join("/");
        if files.contains_key(&m) {
            best = Some(m);
        }
    }
    best
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `crate::a::b` / `super::a` path in `code`, with `use` groups expanded one level.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 6)].iter().collect();
        let starts = (rest.starts_with("crate:") || rest.starts_with("super:"))
            && (i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':');
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && (is_ident(bytes[j]) || bytes[j] == ':') {
            j += 1;
        }
        let head: String = bytes[i..j].iter().collect::<String>().trim_end_matches(':').to_string();
        if j < bytes.len() && bytes[j] == '{' {
            let end = bytes[j..].iter().position(|&c| c == '}').map_or(bytes.len(), |k| j + k);
            let group: String = bytes[j + 1..end].iter().collect();
            for item in group.split(',') {
                let first = item.trim().split("::").next().unwrap_or("").split(' ').next().unwrap_or("");
                if first.is_empty() || first == "self" {
                    out.push(head.clone());
                } else {
                    out.push(format!("{head}::{first}"));
                }
            }
            i = end;
        } else {
            out.push(head);
            i = j;
        }
    }
    out
}

#[test]
fn no_file_imports_itself_through_others() {
    let root = src_root();
    let mut all = Vec::new();
    sources(&root, &mut all);
    let files: BTreeMap<String, PathBuf> =
        all.iter().map(|p| (module_of(p.strip_prefix(&root).expect("under src")), p.clone())).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, p) in &files {
        let text = code(&std::fs::read_to_string(p).expect("readable"));
        let to = edges.entry(m.clone()).or_default();
        for path in paths(&text) {
            if let Some(t) = resolve(&files, m, &path).filter(|t| t != m) {
                to.insert(t);
            }
        }
    }
    // Any cycle shows up as a back edge of a depth-first search.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.into(), 1);
        stack.push(m.into());
        for t in edges.get(m).into_iter().flatten() {
            match state.get(t.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == t).expect("on the stack");
                    let mut c = stack[at..].to_vec();
                    c.push(t.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(t, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.into(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in edges.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(m, &edges, &mut state, &mut Vec::new()) {
                panic!("files import each other in a circle: {}", c.join(" -> "));
            }
        }
    }
}

/// Files outside `dir` under hv/src whose code (tests and comments included) names any of `names`.
fn naming_outside(dir: &str, names: &[&str]) -> Vec<String> {
    let root = src_root();
    let mut all = Vec::new();
    sources(&root, &mut all);
    let mut bad = Vec::new();
    for p in all {
        let rel = p.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/");
        if rel.starts_with(dir) {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("readable");
        for n in names {
            if text.contains(n) {
                bad.push(format!("{rel} names {n}"));
            }
        }
    }
    bad
}

#[test]
fn aarch64_names_stay_under_arch_aarch64() {
    let bad = naming_outside("arch/aarch64/", &["ESR_EL2", "HCR_EL2", "VTTBR", "ICH_", "GICD_", "Psci"]);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn riscv64_names_stay_under_arch_riscv64() {
    let bad = naming_outside("arch/riscv64/", &["hgatp", "hstatus", "Sbi", "Plic"]);
    assert!(bad.is_empty(), "{bad:#?}");
}
