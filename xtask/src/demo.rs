//! `cargo xtask demo`: builds only what `examples/graphs/demo.json` runs (the doubler and
//! counter plugins, for wasm32-unknown-unknown only, and the `reflow` binary), saying what it
//! sets up and why, step by step, then runs the graph. `build-plugins` builds every plugin
//! for every target, which the demo does not need.

use crate::plugins::{copy_wasm, plugins_dir};
use crate::toolchain::WasmToolchain;
use crate::{cargo, run};
use anyhow::Result;
use std::path::Path;
use std::time::Instant;

/// The plugins demo.json names, from the `examples/rust` workspace.
const DEMO_PLUGINS: [&str; 2] = ["doubler", "counter"];
const TARGET: &str = "wasm32-unknown-unknown";

pub fn demo(root: &Path) -> Result<()> {
    let started = Instant::now();
    let step = |n: u32, what: &str| eprintln!("xtask demo [{n}/3] {what} ({:.0?} so far)", started.elapsed());

    step(1, "finding a Rust compiler for wasm32 (rustup's target, else Debian's rustc-web, installed if missing)");
    let toolchain = WasmToolchain::find(&[TARGET])?;

    step(2, "building the demo's two plugins, doubler and counter, for wasm32 (a first build on Debian's route also compiles Rust's std for wasm)");
    let mut cmd = toolchain.cargo_build(&root.join("examples/rust/Cargo.toml"), TARGET, &root.join("target/wasm"));
    for package in DEMO_PLUGINS {
        cmd.args(["-p", package]);
    }
    run(&mut cmd)?;
    let out = plugins_dir(root);
    std::fs::create_dir_all(&out)?;
    copy_wasm(&root.join("target/wasm").join(TARGET).join("release"), &out, "")?;

    step(3, "building the `reflow` command (the first build compiles wasmtime: the longest step) and running examples/graphs/demo.json");
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", "reflow_cli", "--", "run", "--ephemeral", "examples/graphs/demo.json"]);
    run(cmd.current_dir(root))?;
    eprintln!("xtask demo: done in {:.0?}", started.elapsed());
    Ok(())
}
