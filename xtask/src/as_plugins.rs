//! The AssemblyScript SDK's plugins: the compiler (`assemblyscript`) and `@extism/as-pdk`
//! are pinned in `sdk/assemblyscript/package.json` and its lock file, installed with
//! `npm ci`. Each `.ts` file of the plugin folders is one plugin, built as `as_NAME.wasm`.

use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

const AS_PLUGIN_DIRS: [&str; 2] = ["examples/assemblyscript", "tests/plugins/assemblyscript"];
/// Every plugin is built with the SDK's abort handler, which reports where the plugin
/// aborted as the call's error (without it the module would import `env.abort`, which no
/// Extism host provides).
const ABORT_HANDLER: &str = "abort=sdk/assemblyscript/assembly/plugin/reflowAbort";

pub fn sdk_dir(root: &Path) -> PathBuf {
    root.join("sdk/assemblyscript")
}

/// The pinned compiler, installed when missing.
pub fn ensure_compiler(root: &Path) -> Result<()> {
    crate::npm::ci_unless_installed(&sdk_dir(root), "assemblyscript")
}

/// The `asc` command that compiles `entry` (run in the project root) into `out`.
pub fn asc_command(root: &Path, entry: &Path, out: &Path) -> Command {
    let sdk = sdk_dir(root);
    let mut cmd = Command::new("node");
    cmd.current_dir(root)
        .arg(sdk.join("node_modules/assemblyscript/bin/asc.js"))
        .arg(entry)
        // Where `@extism/as-pdk` is found from plugins outside the SDK's folder.
        .arg("--path")
        .arg(sdk.join("node_modules"))
        .args(["-O3", "--noAssert", "--use", ABORT_HANDLER, "--outFile"])
        .arg(out);
    cmd
}

pub fn build_all(root: &Path, out: &Path) -> Result<()> {
    let sources = crate::plugins::sources_in(root, &AS_PLUGIN_DIRS, &["ts"])?;
    if sources.is_empty() {
        return Ok(());
    }
    ensure_compiler(root)?;
    crate::plugins::build_each(&sources, out, "as", "AssemblyScript", |source, wasm| asc_command(root, source, wasm))
}
