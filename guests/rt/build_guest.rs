// Shared by every guest's build.rs (include!d): link at $HV_GUEST_BASE, the VM's RAM base.
fn main() {
    println!("cargo:rerun-if-env-changed=HV_GUEST_BASE");
    println!("cargo:rerun-if-changed=../rt/link.ld.in");
    let base = std::env::var("HV_GUEST_BASE").unwrap_or_else(|_| "0x40000000".into());
    let tmpl = include_str!("link.ld.in");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("link.ld");
    std::fs::write(&out, tmpl.replace("@BASE@", &base)).unwrap();
    println!("cargo:rustc-link-arg=-T{}", out.display());
}
