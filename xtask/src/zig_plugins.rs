//! The Zig SDK's plugins. Debian 12 has no Zig; PyPI's `ziglang` package ships the compiler,
//! so it is installed, pinned, into a Python virtual environment of the project's own
//! (`target/tools/zig`), once. Each `.zig` file of the plugin folders is one plugin, built
//! for `wasm32-freestanding` as `zig_NAME.wasm`.

use crate::run;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ZIG_VERSION: &str = "0.17.0";
const ZIG_PLUGIN_DIRS: [&str; 2] = ["examples/zig", "tests/plugins/zig"];

fn venv_dir(root: &Path) -> PathBuf {
    root.join("target/tools/zig")
}

/// `python -m ziglang` in the project's venv: the pinned compiler.
pub fn zig_command(root: &Path) -> Command {
    let mut cmd = Command::new(venv_dir(root).join("bin/python"));
    cmd.args(["-m", "ziglang"]);
    cmd
}

/// Creates the venv and installs the pinned `ziglang` unless that version answers already.
pub fn ensure_zig(root: &Path) -> Result<()> {
    let answers = zig_command(root).arg("version").output().ok().filter(|o| o.status.success());
    if answers.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == ZIG_VERSION) {
        return Ok(());
    }
    let venv = venv_dir(root);
    eprintln!("xtask: installing Zig {ZIG_VERSION} (PyPI ziglang) into {}", venv.display());
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv)).context("python3 -m venv (Debian: apt-get install python3-venv)")?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("ziglang=={ZIG_VERSION}")))
}

/// The command that builds `source` (importing the SDK as the module `reflow`) into `out`.
pub fn build_command(root: &Path, source: &Path, out: &Path) -> Command {
    let mut cmd = zig_command(root);
    cmd.current_dir(root)
        .args(["build-exe", "-target", "wasm32-freestanding", "-fno-entry", "-rdynamic", "-O", "ReleaseSmall"])
        .arg("--dep")
        .arg("reflow")
        .arg(format!("-Mroot={}", source.display()))
        .arg(format!("-Mreflow={}", root.join("sdk/zig/src/reflow.zig").display()))
        .arg(format!("-femit-bin={}", out.display()))
        // Zig's cache, inside the project's target folder rather than the user's home.
        .env("ZIG_GLOBAL_CACHE_DIR", root.join("target/tools/zig-cache"))
        .env("ZIG_LOCAL_CACHE_DIR", root.join("target/tools/zig-cache"));
    cmd
}

pub fn build_all(root: &Path, out: &Path) -> Result<()> {
    let sources = crate::plugins::sources_in(root, &ZIG_PLUGIN_DIRS, &["zig"])?;
    if sources.is_empty() {
        return Ok(());
    }
    ensure_zig(root)?;
    crate::plugins::build_each(&sources, out, "zig", "Zig", |source, wasm| build_command(root, source, wasm))
}
