//! The NATS server the cluster tests and benchmarks run against (`docs/cluster.md`), built
//! from the Go module proxy into `target/tools/nats/nats-server`, once.
//!
//! Why not Debian's `nats-server`: it is 2.9.10, and async-nats 0.51 (what reflow_state's NATS
//! backend and reflow_cluster speak) assumes servers 2.10 to 2.14 features; the KV backend's
//! whole-graph replacement is an atomic batch publish, which needs 2.12 or later. `go install`
//! of the pinned module builds a current server in about 30 s with the Go that the Go plugins
//! already need.

use crate::toolchain::go_command;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned server: the module path and version `go install` builds.
pub const MODULE: &str = "github.com/nats-io/nats-server/v2";
pub const VERSION: &str = "v2.15.2";

/// Where the server is installed; `reflow_test_nats` looks here too.
pub fn binary(root: &Path) -> PathBuf {
    root.join("target/tools/nats/nats-server")
}

/// Installs the pinned server unless the one there already reports the pinned version.
pub fn install(root: &Path) -> Result<PathBuf> {
    let binary = binary(root);
    if installed_version(&binary).as_deref() == Some(VERSION) {
        return Ok(binary);
    }
    let dir = binary.parent().expect("the binary path has a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!("xtask: building nats-server {VERSION} with go install into {}", dir.display());
    crate::run(
        Command::new(go_command()?)
            .args(["install", &format!("{MODULE}@{VERSION}")])
            .env("GOBIN", dir)
            // The module's own go.mod decides its dependencies, whatever the caller's folder holds.
            .env("GO111MODULE", "on")
            .current_dir(dir),
    )?;
    match installed_version(&binary) {
        Some(version) if version == VERSION => Ok(binary),
        other => bail!("{}: after go install, the server reports version {other:?}, not {VERSION}", binary.display()),
    }
}

/// `nats-server --version` prints `nats-server: v2.15.2`.
fn installed_version(binary: &Path) -> Option<String> {
    let output = Command::new(binary).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().last().map(str::to_string)
}
