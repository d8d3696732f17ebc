//! Links the `probtrack` binary with packed relative relocations (`DT_RELR`) where the C library it
//! is built against can load them (glibc 2.36 and later).
//!
//! A position-independent executable holds one relocation entry of 24 bytes for every pointer in
//! its data that the loader must adjust; ours has about 30,000 (a 723 KB table in a release build,
//! 3 MB in a debug one), and the loader reads them all at every start. Packed, the table is a few
//! KB, and every command's resident memory is about 1.4 MiB smaller (1.5 MiB for a `parse` of the
//! gcc logs, 5.7 MiB for a debug build); the instructions are the same within 0.3%
//! (`docs/performance.md`, *Packed relocations*).
//!
//! A binary linked so asks the loader for `GLIBC_ABI_DT_RELR` and will not start under an older
//! glibc, so the flag is given only for a native build (the host is the target) whose glibc is new
//! enough, as `getconf GNU_LIBC_VERSION` tells; `PROBTRACK_NO_RELR=1` leaves it out.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PROBTRACK_NO_RELR");
    if std::env::var("PROBTRACK_NO_RELR").as_deref() == Ok("1") {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    let glibc_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if native && glibc_linux && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this machine's glibc is at least `major.minor` (`getconf` prints `glibc 2.36`).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
