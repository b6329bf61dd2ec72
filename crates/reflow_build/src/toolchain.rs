//! Which compiler targets wasm on this machine, and how to call it.
//!
//! Rust: a machine with `rustup target add wasm32-unknown-unknown` done builds the normal way.
//! Where rustup cannot download targets (our CI machines), Debian's `rustc-web` with the
//! standard library's source (`rust-web-src`) builds `std` for wasm with `-Zbuild-std`
//! (see the project's toolchain notes). Go: Go 1.24 or later (`//go:wasmexport`), with
//! `GOOS=wasip1 -buildmode=c-shared`; Debian 12's Go (1.19) is too old. C: [`clang`]; Zig:
//! [`zig`]; AssemblyScript: its npm packages ([`npm`]).

pub mod clang;
pub mod npm;
pub mod zig;

use crate::BuildError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian packages of the fallback route (`wasi-libc` for wasm32-wasip1 only).
pub const DEBIAN_PACKAGES: [&str; 5] = ["rustc-web", "cargo-web", "rust-web-src", "lld-22", "wasi-libc"];

/// How to invoke cargo for wasm targets.
#[derive(Debug, Clone)]
pub struct RustWasm {
    /// true: Debian's compiler with -Zbuild-std; false: rustup with the targets installed.
    build_std: bool,
}

impl RustWasm {
    /// The toolchain that builds all of `targets` here, or what to install.
    pub fn find(targets: &[&str]) -> Result<RustWasm, BuildError> {
        if rustup_has_targets(targets) {
            return Ok(RustWasm { build_std: false });
        }
        if debian_toolchain_present(targets) {
            return Ok(RustWasm { build_std: true });
        }
        let cargo_found = Command::new("cargo").arg("--version").output().is_ok_and(|o| o.status.success());
        Err(BuildError::MissingTool {
            tool: format!("a Rust compiler for {}", targets.join(" and ")),
            why: if cargo_found {
                "cargo is installed but rustup has not installed that target".into()
            } else {
                "cargo is not installed".into()
            },
            install: format!(
                "Install Rust from https://rustup.rs and run `rustup target add {}`, or on Debian \
                 `apt-get install {}`",
                targets.join(" "),
                DEBIAN_PACKAGES.join(" ")
            ),
        })
    }

    /// True when it is Debian's route (std built from source, slower on a first build).
    pub fn builds_std(&self) -> bool {
        self.build_std
    }

    /// `cargo build --target TARGET [--release]` for the package or workspace at `manifest`;
    /// `target_dir` `None` keeps cargo's own choice (`CARGO_TARGET_DIR` or `target/`).
    pub fn cargo_build(&self, manifest: &Path, target: &str, release: bool, target_dir: Option<&Path>) -> Command {
        let mut cmd;
        if self.build_std {
            cmd = Command::new("/usr/bin/cargo");
            cmd.env("RUSTC", "/usr/bin/rustc")
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "/usr/bin/rust-lld")
                .env("CARGO_TARGET_WASM32_WASIP1_LINKER", "/usr/bin/rust-lld");
            if target == "wasm32-wasip1" {
                // wasi-libc's libc.a lives here on Debian.
                cmd.env("RUSTFLAGS", "-L /usr/lib/wasm32-wasi");
            }
        } else {
            cmd = Command::new("cargo");
        }
        // rustup's environment (set when we run under `cargo`) must not leak into Debian's
        // cargo, or it would call back into rustup's toolchain.
        for var in ["RUSTUP_TOOLCHAIN", "RUSTUP_HOME_OVERRIDE", "CARGO", "RUSTC_WRAPPER", "CARGO_MANIFEST_DIR"] {
            cmd.env_remove(var);
        }
        cmd.arg("build").arg("--manifest-path").arg(manifest).args(["--target", target]);
        if release {
            cmd.arg("--release");
        }
        if let Some(dir) = target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        if self.build_std {
            cmd.arg("-Zbuild-std=std,panic_abort");
        }
        cmd
    }
}

fn rustup_has_targets(targets: &[&str]) -> bool {
    let Ok(out) = Command::new("rustup").args(["target", "list", "--installed"]).output() else {
        return false;
    };
    let installed = String::from_utf8_lossy(&out.stdout);
    targets.iter().all(|t| installed.lines().any(|l| l.trim() == *t))
}

fn debian_toolchain_present(targets: &[&str]) -> bool {
    let mut needed = vec!["/usr/bin/rustc", "/usr/bin/cargo", "/usr/bin/rust-lld", "/usr/lib/rustlib/src/rust/library"];
    if targets.contains(&"wasm32-wasip1") {
        needed.push("/usr/lib/wasm32-wasi/libc.a");
    }
    needed.iter().all(|p| Path::new(p).exists())
}

/// Installs Debian's toolchain with apt-get (root only). For CI machines, through `xtask`;
/// `reflow build` never installs anything.
pub fn install_debian_toolchain() -> Result<(), BuildError> {
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !is_root || !Path::new("/usr/bin/apt-get").exists() {
        return Err(BuildError::MissingTool {
            tool: "a wasm32 Rust toolchain".into(),
            why: "rustup has no wasm32 targets and apt-get cannot run as this user".into(),
            install: format!(
                "Run `rustup target add wasm32-unknown-unknown wasm32-wasip1`, or on Debian (as root) \
                 `apt-get install {}`",
                DEBIAN_PACKAGES.join(" ")
            ),
        });
    }
    crate::run(Command::new("apt-get").arg("update").arg("-qq"), "apt-get")?;
    crate::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(DEBIAN_PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get",
    )
}

/// The oldest Go with `//go:wasmexport`.
const GO_MIN: (u32, u32) = (1, 24);

/// A Go of at least 1.24: `go` on PATH, else Go's default install folder.
pub fn go() -> Result<PathBuf, BuildError> {
    let mut seen = Vec::new();
    for go in [PathBuf::from("go"), PathBuf::from("/usr/local/go/bin/go")] {
        if let Ok(out) = Command::new(&go).arg("env").arg("GOVERSION").output() {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && go_version_ok(&version) {
                return Ok(go);
            }
            seen.push(format!("{version} at {}", go.display()));
        }
    }
    Err(BuildError::MissingTool {
        tool: format!("Go {}.{} or later", GO_MIN.0, GO_MIN.1),
        why: if seen.is_empty() {
            "Go builds the plugin for GOOS=wasip1 and none is installed".into()
        } else {
            format!("only {} found (//go:wasmexport needs {}.{})", seen.join(", "), GO_MIN.0, GO_MIN.1)
        },
        install: "Install it from https://go.dev/dl (it goes to /usr/local/go, which is searched too)".into(),
    })
}

fn go_version_ok(version: &str) -> bool {
    let mut parts = version.trim_start_matches("go").split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= GO_MIN
}

/// `wasm-opt -O2` in place when binaryen is installed; a failure leaves the module as it was
/// (the optimisation is optional) and says so.
pub fn wasm_opt(wasm: &Path) {
    let Ok(version) = Command::new("wasm-opt").arg("--version").output() else { return };
    if !version.status.success() {
        return;
    }
    // The features Rust and Go emit by default; wasm-opt refuses a module using one it was not
    // told about.
    let status = Command::new("wasm-opt")
        .args(["-O2", "--enable-bulk-memory", "--enable-sign-ext", "--enable-nontrapping-float-to-int"])
        .args(["--enable-mutable-globals", "--enable-multivalue", "--enable-reference-types"])
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("warning: wasm-opt could not optimise {}; it is left as the compiler wrote it", wasm.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_compare_by_number() {
        assert!(go_version_ok("go1.24"));
        assert!(go_version_ok("go1.26.8"));
        assert!(go_version_ok("go2.0"));
        assert!(!go_version_ok("go1.19.8"));
        assert!(!go_version_ok("devel"));
    }
}
