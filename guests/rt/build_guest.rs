// Shared by every guest's build.rs (include!d): link at $HV_GUEST_BASE, the VM's RAM base.
fn main() {
    println!("cargo:rerun-if-env-changed=HV_GUEST_BASE");
    println!("cargo:rerun-if-changed=../rt/link.ld.in");
    println!("cargo:rerun-if-changed=../rt/build_guest.rs");
    let base = std::env::var("HV_GUEST_BASE").unwrap_or_else(|_| "0x40000000".into());
    let tmpl = include_str!("link.ld.in");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("link.ld");
    std::fs::write(&out, tmpl.replace("@BASE@", &base)).unwrap();
    println!("cargo:rustc-link-arg=-T{}", out.display());
    // Segments aligned to 4 KiB, not lld's AArch64 default of 64 KiB: with 64 KiB, a base that is
    // only 4 KiB aligned leaves room below it in its 64 KiB page, and lld loads the ELF headers
    // there, so the image would start below the VM's RAM.
    println!("cargo:rustc-link-arg=-zmax-page-size=4096");
}
