//! Zig plugins. Zig changes between releases and the SDK is written for one, so the compiler
//! is pinned: `zig` on PATH when it is that version, else PyPI's `ziglang` package (which
//! ships the compiler; Debian 12 has no Zig) in a Python virtual environment of Reflow's own,
//! installed there on first use, the way `xtask` installs it for this repository.

use crate::BuildError;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ZIG_VERSION: &str = "0.17.0";

/// The pinned Zig compiler, as a command prefix (`zig`, or `python -m ziglang`).
#[derive(Debug, Clone)]
pub struct Zig {
    program: PathBuf,
    prefix: Vec<&'static str>,
}

impl Zig {
    /// Zig 0.17.0 on PATH, else in the virtual environment `venv`, installed there (python3's
    /// `venv` and `pip`, from PyPI) when it is not; an error names what is missing.
    pub fn find_or_install(venv: &Path) -> Result<Zig, BuildError> {
        let on_path = Zig { program: "zig".into(), prefix: vec![] };
        if on_path.version().as_deref() == Some(ZIG_VERSION) {
            return Ok(on_path);
        }
        let in_venv = Zig { program: venv.join("bin/python"), prefix: vec!["-m", "ziglang"] };
        if in_venv.version().as_deref() == Some(ZIG_VERSION) {
            return Ok(in_venv);
        }
        eprintln!("reflow: installing Zig {ZIG_VERSION} (PyPI ziglang) into {}", venv.display());
        let install = |why: String| BuildError::MissingTool {
            tool: format!("Zig {ZIG_VERSION}"),
            why,
            install: format!(
                "Put Zig {ZIG_VERSION} on PATH (https://ziglang.org/download), or install python3 with venv and pip \
                 (Debian: apt-get install python3-venv) so that it can be installed into {}",
                venv.display()
            ),
        };
        let step = |cmd: &mut Command, what: &str| match cmd.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(install(format!("`{what}` failed ({status})"))),
            Err(e) => Err(install(format!("cannot start {} to install it ({e})", what.split(' ').next().unwrap_or(what)))),
        };
        step(Command::new("python3").arg("-m").arg("venv").arg(venv), "python3 -m venv")?;
        step(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("ziglang=={ZIG_VERSION}")),
            &format!("pip install ziglang=={ZIG_VERSION}"),
        )?;
        match in_venv.version() {
            Some(v) if v == ZIG_VERSION => Ok(in_venv),
            other => Err(install(format!("the installed ziglang answers {other:?}"))),
        }
    }

    fn version(&self) -> Option<String> {
        let out = self.command().arg("version").output().ok().filter(|o| o.status.success())?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A `zig` command.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix);
        cmd
    }

    /// Builds the plugin whose root source is `source`, importing the SDK file `sdk` as the
    /// module `reflow`, for `wasm32-freestanding` (no libc, no WASI) into `out`.
    pub fn build_plugin(&self, source: &Path, sdk: &Path, out: &Path, release: bool) -> Command {
        let mut cmd = self.command();
        cmd.args(["build-exe", "-target", "wasm32-freestanding", "-fno-entry", "-rdynamic"])
            // ReleaseFast, stripped: std.json under ReleaseSmall cost the doubler about half
            // again per call (measured on V8 with one host for every SDK) for 27 KiB less.
            .args(if release { &["-O", "ReleaseFast", "-fstrip"][..] } else { &["-O", "Debug"][..] })
            .args(["--dep", "reflow"])
            .arg(format!("-Mroot={}", source.display()))
            .arg(format!("-Mreflow={}", sdk.display()))
            .arg(format!("-femit-bin={}", out.display()));
        cmd
    }
}

/// Where `reflow build` keeps the tools it installs: `$REFLOW_TOOLS`, else
/// `$XDG_CACHE_HOME/reflow`, else `~/.cache/reflow`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REFLOW_TOOLS").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("reflow")
}
