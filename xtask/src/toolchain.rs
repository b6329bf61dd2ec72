//! Finding (or installing) a compiler that targets wasm32.
//!
//! A user's machine with `rustup target add wasm32-unknown-unknown` done builds plugins the
//! normal way. Our CI machines cannot download rustup targets, so the fallback is Debian's
//! `rustc-web` with the standard library's source (`rust-web-src`), building `std` for wasm
//! with `-Zbuild-std` (see the project's toolchain notes). That fallback is installed with
//! apt-get when missing and we are root.

use anyhow::Result;
use std::path::Path;
use std::process::Command;

/// How to invoke cargo for one wasm target.
pub struct WasmToolchain {
    /// true: Debian's compiler with -Zbuild-std; false: rustup with the target installed.
    build_std: bool,
}

const DEBIAN_PACKAGES: [&str; 5] = ["rustc-web", "cargo-web", "rust-web-src", "lld-22", "wasi-libc"];

impl WasmToolchain {
    pub fn find(targets: &[&str]) -> Result<WasmToolchain> {
        if rustup_has_targets(targets) {
            return Ok(WasmToolchain { build_std: false });
        }
        if !debian_toolchain_present() {
            install_debian_toolchain()?;
        }
        Ok(WasmToolchain { build_std: true })
    }

    /// A `cargo build --release --target TARGET` command for the workspace at `manifest`.
    pub fn cargo_build(&self, manifest: &Path, target: &str, target_dir: &Path) -> Command {
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
        // rustup's environment (set when xtask runs under `cargo`) must not leak into Debian's
        // cargo, or it would call back into rustup's toolchain.
        for var in ["RUSTUP_TOOLCHAIN", "RUSTUP_HOME_OVERRIDE", "CARGO", "RUSTC_WRAPPER", "CARGO_MANIFEST_DIR"] {
            cmd.env_remove(var);
        }
        cmd.arg("build").arg("--release").arg("--manifest-path").arg(manifest);
        cmd.args(["--target", target]).arg("--target-dir").arg(target_dir);
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

fn debian_toolchain_present() -> bool {
    ["/usr/bin/rustc", "/usr/bin/cargo", "/usr/bin/rust-lld", "/usr/lib/wasm32-wasi/libc.a"]
        .iter()
        .all(|p| Path::new(p).exists())
        && Path::new("/usr/lib/rustlib/src/rust/library").exists()
}

fn install_debian_toolchain() -> Result<()> {
    crate::apt::install(&DEBIAN_PACKAGES, "a wasm32 Rust toolchain (or `rustup target add wasm32-unknown-unknown wasm32-wasip1`)")
}
