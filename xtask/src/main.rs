//! Project chores in Rust, run as `cargo xtask <task>`: build the example and fixture plugins,
//! run the demo, run every test. Nothing depends on this crate.
//!
//! Tasks:
//! - `build-plugins`: every Rust plugin (examples/rust, tests/plugins) for wasm32-unknown-unknown,
//!   the examples and the WASI fixtures (tests/plugins/wasi) also for wasm32-wasip1, and every
//!   Go plugin (examples/go/*, tests/plugins/go/*) for wasip1, every C/C++ plugin (examples/c,
//!   tests/plugins/c), AssemblyScript plugin (examples/assemblyscript,
//!   tests/plugins/assemblyscript) and Zig plugin (examples/zig, tests/plugins/zig), into
//!   `target/plugins/`. Installs the wasm toolchain it needs when missing (`toolchain.rs`, over `reflow_build`).
//! - `demo`: only what `examples/graphs/demo.json` needs (two plugins, one target, the CLI),
//!   with a line per step, then `reflow run examples/graphs/demo.json`.
//! - `test`: build-plugins, install the pinned npm packages (`fbp-protocol`, `fbp-spec`, the
//!   reference `.fbp` parser `fbp`) and the pinned `nats-server`, then the Rust
//!   workspace tests, the Go tests (SDK and plugins), and the FBP protocol's own suite
//!   (`fbp-test`) against `reflow serve` (needs Node.js; see `fbp_test.rs`), and our `fbp-spec`
//!   YAML suites against `reflow serve` (`fbp_spec.rs`).
//!   Before the Rust tests it installs what the inspector's browser test needs (`browser.rs`:
//!   Debian's Chromium, the pinned `puppeteer-core`).
//! - `fbp-test`, `fbp-spec`: only that step (with the npm install; plugins already built).
//! - `browser-deps`: only the browser test's tools (to run that test alone).
//! - `nats`: installs the pinned `nats-server` (`nats.rs`) that `test` installs before the
//!   Rust tests, and prints its path.
//! - `bench`: the benchmark suite under RUST_BACKTRACE=0 and =1, written to docs/performance.md.

mod apt;
mod as_plugins;
mod bench;
mod browser;
mod c_plugins;
mod demo;
mod fbp_spec;
mod fbp_test;
mod nats;
mod plugins;
mod tidy;
mod toolchain;
mod zig_plugins;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("build-plugins") => plugins::build_all(&root),
        Some("demo") => demo::demo(&root),
        Some("test") => {
            // Before any long build: without Node.js the protocol tests cannot run.
            fbp_test::check_node()?;
            plugins::build_all(&root)?;
            // reflow_protocol's tests read the protocol's JSON schemas from this package.
            fbp_test::install(&root)?;
            browser::install(&root)?;
            // The NATS backend's and the cluster's tests start this server (reflow_test_nats).
            nats::install(&root)?;
            let mut cmd = cargo();
            cmd.args(["test", "--workspace"]).args(&args[1..]);
            run(cmd.current_dir(&root))?;
            plugins::test_go(&root)?;
            // The SDK's crate-level example compiles (reflow_wasm is outside the workspace).
            let mut doc = cargo();
            doc.args(["test", "--doc", "--manifest-path", "crates/reflow_wasm/Cargo.toml", "--target-dir", "target/sdk-doc"]);
            run(doc.current_dir(&root))?;
            fbp_test::run_suite(&root)?;
            fbp_spec::run_suites(&root)
        }
        Some("fbp-test") => {
            fbp_test::check_node()?;
            fbp_test::install(&root)?;
            fbp_test::run_suite(&root)
        }
        Some("browser-deps") => browser::install(&root),
        Some("fbp-spec") => {
            fbp_test::check_node()?;
            fbp_test::install(&root)?;
            fbp_spec::run_suites(&root)
        }
        Some("bench") => bench::bench(&root),
        Some("nats") => nats::install(&root).map(|binary| println!("{}", binary.display())),
        _ => bail!("usage: cargo xtask <build-plugins | demo | test [cargo test args] | fbp-test | fbp-spec | browser-deps | bench | nats>"),
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the project root").to_path_buf()
}

/// The cargo that runs us (rustup's), for host builds.
fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs `cmd`, failing with the command line if it does not succeed.
fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("command failed ({status}): {cmd:?}");
    }
    Ok(())
}
