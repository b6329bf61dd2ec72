//! The wasm toolchains, from `reflow_build` (which `reflow build` uses too, so the
//! toolchain knowledge lives in one place). xtask adds one thing: on a machine without a
//! wasm32 Rust target it installs Debian's toolchain (as root, with apt-get), because CI
//! machines cannot download rustup targets.

use anyhow::Result;
use reflow_build::toolchain::{install_debian_toolchain, RustWasm, DEBIAN_PACKAGES};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to invoke cargo for one wasm target (always a release build into `target_dir`).
pub struct WasmToolchain(RustWasm);

impl WasmToolchain {
    pub fn find(targets: &[&str]) -> Result<WasmToolchain> {
        if let Ok(toolchain) = RustWasm::find(targets) {
            return Ok(WasmToolchain(toolchain));
        }
        eprintln!(
            "xtask: no wasm32 Rust target here; installing Debian's toolchain ({}) to build std for wasm",
            DEBIAN_PACKAGES.join(" ")
        );
        install_debian_toolchain()?;
        Ok(WasmToolchain(RustWasm::find(targets)?))
    }

    /// A `cargo build --release --target TARGET` command for the workspace at `manifest`.
    pub fn cargo_build(&self, manifest: &Path, target: &str, target_dir: &Path) -> Command {
        self.0.cargo_build(manifest, target, true, Some(target_dir))
    }
}

/// A Go of at least 1.24 (for `//go:wasmexport`), or an error saying how to get one.
pub fn go_command() -> Result<PathBuf> {
    Ok(reflow_build::toolchain::go()?)
}
