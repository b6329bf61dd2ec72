//! The AssemblyScript SDK's plugins: the compiler (`assemblyscript`) and `@extism/as-pdk`
//! are pinned in `sdk/assemblyscript/package.json` and its lock file, installed with
//! `npm ci`. Each `.ts` file of the plugin folders is one plugin, built as `as_NAME.wasm`
//! with the flags `reflow build` uses ([`reflow_build::lang::assemblyscript::asc_command`]).

use crate::plugins::OnePerFile;
use anyhow::Result;
use reflow_build::lang::assemblyscript::asc_command;
use reflow_build::toolchain::npm;
use std::path::Path;

const PLUGINS: OnePerFile = OnePerFile {
    dirs: &["examples/assemblyscript", "tests/plugins/assemblyscript"],
    extensions: &["ts"],
    prefix: "as",
    language: "AssemblyScript",
};
/// The SDK's abort handler, named from the repository's root (where asc runs).
const ABORT_HANDLER: &str = "sdk/assemblyscript/assembly/plugin/reflowAbort";

pub fn build_all(root: &Path, out: &Path) -> Result<()> {
    let sdk = root.join("sdk/assemblyscript");
    PLUGINS.build_all(
        root,
        out,
        || Ok(npm::ci_unless_installed(&sdk, "assemblyscript")?),
        |(), source, wasm| {
            let mut cmd = asc_command(&sdk.join("node_modules"), source, ABORT_HANDLER, wasm, true);
            cmd.current_dir(root);
            cmd
        },
    )
}
