//! Links the `probtrack` binary with packed relative relocations (`DT_RELR`) where the C library it
//! is built against can load them (glibc 2.36 and later) and the linker is known to write them.
//!
//! A position-independent executable holds one relocation entry of 24 bytes for every pointer in
//! its static data that the loader must adjust; ours has about 30,000 (a 723 KB table in a release
//! build, 3 MB in a debug one), and the loader reads them all at every start. Packed, the table is
//! 13 KB, and every process has about 0.7 MiB less resident (3.2 MiB for a debug build); the
//! instructions are the same within 0.3% (`docs/performance.md`, *Packed relocations*).
//!
//! A binary linked so asks the loader for `GLIBC_ABI_DT_RELR` and will not start under an older
//! glibc, so the flag is given only for a native build (the host is the target) on x86_64 Linux
//! (where Rust links with its own lld, which writes the table; GNU ld elsewhere may ignore the
//! flag) whose glibc is new enough, as `getconf GNU_LIBC_VERSION` tells. `PROBTRACK_NO_RELR=1`
//! leaves it out. The decision is passed to the crate's tests as `PROBTRACK_RELR`: `packed`, or
//! why not.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PROBTRACK_NO_RELR");
    let decision = decide();
    if decision == "packed" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rustc-env=PROBTRACK_RELR={decision}");
}

/// `packed`, or why the relocations are left as they are.
fn decide() -> String {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("PROBTRACK_NO_RELR") == "1" {
        return "PROBTRACK_NO_RELR=1".into();
    }
    if var("HOST") != var("TARGET") {
        return "a cross build".into();
    }
    let target = [
        var("CARGO_CFG_TARGET_ARCH"),
        var("CARGO_CFG_TARGET_OS"),
        var("CARGO_CFG_TARGET_ENV"),
    ];
    if target != ["x86_64", "linux", "gnu"] {
        return format!("not x86_64 Linux with glibc: {}", target.join(" "));
    }
    match glibc_version() {
        Some(version) if version >= (2, 36) => "packed".into(),
        Some((major, minor)) => format!("glibc {major}.{minor}, older than 2.36"),
        None => "no glibc version from getconf".into(),
    }
}

/// This machine's glibc version (`getconf` prints `glibc 2.36`).
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().strip_prefix("glibc ")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
