//! Building every plugin the examples and tests use, into `target/plugins/`.

use crate::toolchain::{go_command, WasmToolchain};
use crate::run;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Cargo workspaces of Rust plugins, built for wasm32-unknown-unknown.
const RUST_PLUGIN_WORKSPACES: [&str; 2] = ["examples/rust", "tests/plugins"];
/// Built for wasm32-wasip1 (as `NAME.wasip1.wasm`): the examples, to prove WASI plugins load,
/// and the fixtures that need WASI (a file system the sandbox refuses or grants).
const WASIP1_WORKSPACES: [&str; 2] = ["examples/rust", "tests/plugins/wasi"];
/// Each folder below holds one Go plugin (a `go.mod`), built as `go_FOLDER.wasm`.
const GO_PLUGIN_DIRS: [&str; 2] = ["examples/go", "tests/plugins/go"];

pub fn plugins_dir(root: &Path) -> PathBuf {
    root.join("target").join("plugins")
}

pub fn build_all(root: &Path) -> Result<()> {
    let out = plugins_dir(root);
    std::fs::create_dir_all(&out)?;
    let toolchain = WasmToolchain::find(&["wasm32-unknown-unknown", "wasm32-wasip1"])?;
    let target_dir = root.join("target").join("wasm");
    for workspace in RUST_PLUGIN_WORKSPACES {
        let manifest = root.join(workspace).join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        eprintln!("xtask: building Rust plugins in {workspace}");
        run(&mut toolchain.cargo_build(&manifest, "wasm32-unknown-unknown", &target_dir))?;
    }
    copy_wasm(&target_dir.join("wasm32-unknown-unknown/release"), &out, "")?;

    for workspace in WASIP1_WORKSPACES {
        eprintln!("xtask: building Rust plugins in {workspace} for wasm32-wasip1");
        run(&mut toolchain.cargo_build(&root.join(workspace).join("Cargo.toml"), "wasm32-wasip1", &target_dir))?;
    }
    copy_wasm(&target_dir.join("wasm32-wasip1/release"), &out, ".wasip1")?;

    for parent in GO_PLUGIN_DIRS {
        for dir in subdirs_with(&root.join(parent), "go.mod")? {
            build_go_plugin(&dir, &out)?;
        }
    }
    crate::c_plugins::build_all(root, &out)?;
    crate::as_plugins::build_all(root, &out)?;
    crate::zig_plugins::build_all(root, &out)?;
    eprintln!("xtask: plugins are in {}", out.display());
    Ok(())
}

/// Copies each `NAME.wasm` of a cargo output folder to `out/NAME{suffix}.wasm`.
pub(crate) fn copy_wasm(from: &Path, out: &Path, suffix: &str) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let stem = path.file_stem().unwrap().to_string_lossy();
            std::fs::copy(&path, out.join(format!("{stem}{suffix}.wasm")))?;
        }
    }
    Ok(())
}

/// Plugins laid out one per source file (the C, AssemblyScript and Zig layouts): each file
/// of `dirs` ending in one of `extensions` is built into `out/{prefix}_{stem}.wasm`.
pub struct OnePerFile {
    pub dirs: &'static [&'static str],
    pub extensions: &'static [&'static str],
    pub prefix: &'static str,
    pub language: &'static str,
}

impl OnePerFile {
    /// Builds each source with the command `compile(toolchain, source, wasm)` makes, where the
    /// toolchain comes from `setup` (which installs it), run only when there are sources.
    pub fn build_all<T>(
        &self,
        root: &Path,
        out: &Path,
        setup: impl FnOnce() -> Result<T>,
        compile: impl Fn(&T, &Path, &Path) -> Command,
    ) -> Result<()> {
        let sources = self.sources(root)?;
        if sources.is_empty() {
            return Ok(());
        }
        let toolchain = setup()?;
        for source in &sources {
            let stem = source.file_stem().unwrap().to_string_lossy();
            eprintln!("xtask: building {} plugin {}", self.language, source.display());
            run(&mut compile(&toolchain, source, &out.join(format!("{}_{stem}.wasm", self.prefix))))?;
        }
        Ok(())
    }

    fn sources(&self, root: &Path) -> Result<Vec<PathBuf>> {
        let mut sources = Vec::new();
        for dir in self.dirs {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for entry in entries {
                let path = entry.with_context(|| format!("reading {dir}"))?.path();
                if path.extension().is_some_and(|e| self.extensions.iter().any(|x| e == *x)) {
                    sources.push(path);
                }
            }
        }
        sources.sort();
        Ok(sources)
    }
}

fn subdirs_with(parent: &Path, marker: &str) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(parent) else { return Ok(Vec::new()) };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(marker).exists())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn build_go_plugin(dir: &Path, out: &Path) -> Result<()> {
    let name = dir.file_name().unwrap().to_string_lossy();
    eprintln!("xtask: building Go plugin {}", dir.display());
    // As `reflow build` builds it (release: no symbol table), so the bench's sizes are a user's.
    run(&mut reflow_build::lang::go::build_command(&go_command()?, dir, &out.join(format!("go_{name}.wasm")), true))
}

/// `go test` of the SDK and of every Go plugin that has tests (they run natively).
pub fn test_go(root: &Path) -> Result<()> {
    let go = go_command()?;
    let mut modules = vec![root.join("sdk/go")];
    for parent in GO_PLUGIN_DIRS {
        modules.extend(subdirs_with(&root.join(parent), "go.mod")?);
    }
    for module in modules {
        eprintln!("xtask: go test and wasip1 go vet in {}", module.display());
        run(Command::new(&go).current_dir(&module).args(["test", "./..."]))?;
        // What the plugin build compiles must vet too: a test file without a build
        // constraint that names the native-only TestHost breaks `GOOS=wasip1 go vet`.
        run(Command::new(&go).current_dir(&module).args(["vet", "./..."]).env("GOOS", "wasip1").env("GOARCH", "wasm"))?;
    }
    Ok(())
}
