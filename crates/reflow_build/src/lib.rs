//! Building Reflow plugins as a user does, from a project folder of their own: which compiler
//! targets wasm32 on this machine and how to call it ([`toolchain`]), what a new project of
//! each language holds and how it is built ([`lang`]). The `reflow` CLI (`reflow new`,
//! `reflow build`) and the project's `xtask` both use it, so there is one place that knows
//! the toolchain tricks.
//!
//! No system package is installed here: a missing compiler is a [`BuildError::MissingTool`]
//! that says how to install it (`xtask` installs Debian's packages itself on CI machines, with
//! [`toolchain::install_debian_toolchain`]). What a project pins is fetched the way its
//! language fetches dependencies: crates by cargo, Go modules by go, the AssemblyScript
//! compiler by `npm ci` into the project, and the pinned Zig (PyPI's `ziglang`, into
//! [`toolchain::zig::tools_dir`]).

mod exec;
pub mod lang;
pub mod toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use lang::{create, find_language, language_of, Language, NewOptions, LANGUAGES};

/// Why a project could not be created or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A tool the build needs is not installed; `install` says how to get it.
    #[error("{tool} not found: {why}. {install}")]
    MissingTool { tool: String, why: String, install: String },

    #[error("{}: not a plugin project (no {} here)", dir.display(), markers)]
    NotAProject { dir: PathBuf, markers: String },

    #[error("unknown language {name:?} (known: {known})")]
    UnknownLanguage { name: String, known: String },

    #[error("{}: already exists", path.display())]
    Exists { path: PathBuf },

    #[error("{name:?} is not a usable project name ({reason})")]
    BadName { name: String, reason: String },

    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// The compiler ran and failed. `output` is what it said when [`BuildOptions::capture`]
    /// was set (otherwise that went to the terminal, and `output` is empty).
    #[error("the build failed ({status}): {command}")]
    Failed { command: String, status: String, output: String },

    /// The compiler was still running at [`BuildOptions::timeout`]; it and everything it
    /// started were killed.
    #[error("the build took longer than {limit:?} and was stopped: {command}")]
    TimedOut { command: String, limit: Duration },

    /// A project file does not pin a package its build needs.
    #[error("{}: does not pin {package}", file.display())]
    NoPin { file: PathBuf, package: String },

    #[error("{}: {why}", path.display())]
    BadFile { path: PathBuf, why: String },

    /// The compiler succeeded but did not say where the `.wasm` went.
    #[error("the build produced no .wasm file ({detail})")]
    NoOutput { detail: String },
}

impl BuildError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
        move |source| BuildError::Io { path: path.to_path_buf(), source }
    }
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Optimised (the default of `reflow build`); false: a debug build, faster to compile.
    pub release: bool,
    /// Run `wasm-opt` on the result when it is installed (skipped silently when it is not:
    /// it only makes the module smaller and faster).
    pub wasm_opt: bool,
    /// Keep the compiler's output for [`BuildError::Failed`] instead of letting it reach the
    /// terminal (for a caller that shows it elsewhere: an FBP editor).
    pub capture: bool,
    /// Stop the compiler (and all it started) when it runs longer; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Where Rust's build artifacts go; `None`: cargo's own choice (`CARGO_TARGET_DIR` or the
    /// project's `target/`). Sharing one between projects spares rebuilding their dependencies.
    pub target_dir: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { release: true, wasm_opt: true, capture: false, timeout: None, target_dir: None }
    }
}

/// Builds the plugin project in `dir` (its language told by its files) and returns the path
/// of the `.wasm` it produced.
pub fn build(dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let language = language_of(dir)?;
    let wasm = (language.build)(dir, options)?;
    if options.wasm_opt {
        toolchain::wasm_opt(&wasm);
    }
    Ok(wasm)
}

/// Runs `cmd`, its output going to the terminal (stdout too goes to our stderr: `reflow
/// build`'s own stdout is the module's path alone); a failure names the command.
fn run(cmd: &mut Command, tool: &str) -> Result<(), BuildError> {
    run_with(cmd, tool, &BuildOptions::default())
}

/// Runs a compiler as `options` say (output captured or not, time limit).
fn run_with(cmd: &mut Command, tool: &str, options: &BuildOptions) -> Result<(), BuildError> {
    exec::run(cmd, tool, options, false).map(drop)
}
