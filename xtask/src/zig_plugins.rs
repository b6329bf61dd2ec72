//! The Zig SDK's plugins, built with the pinned Zig ([`reflow_build::toolchain::zig`]),
//! installed, when missing, into a Python virtual environment of the project's own
//! (`target/tools/zig`). Each `.zig` file of the plugin folders is one plugin, built for
//! `wasm32-freestanding` as `zig_NAME.wasm`.

use crate::plugins::OnePerFile;
use anyhow::Result;
use reflow_build::toolchain::zig::Zig;
use std::path::Path;

const PLUGINS: OnePerFile =
    OnePerFile { dirs: &["examples/zig", "tests/plugins/zig"], extensions: &["zig"], prefix: "zig", language: "Zig" };

pub fn build_all(root: &Path, out: &Path) -> Result<()> {
    let sdk = root.join("sdk/zig/src/reflow.zig");
    let cache = root.join("target/tools/zig-cache");
    PLUGINS.build_all(
        root,
        out,
        || Ok(Zig::find_or_install(&root.join("target/tools/zig"))?),
        |zig, source, wasm| {
            let mut cmd = zig.build_plugin(source, &sdk, wasm, true);
            // Zig's cache, inside the project's target folder rather than the user's home.
            cmd.current_dir(root).env("ZIG_GLOBAL_CACHE_DIR", &cache).env("ZIG_LOCAL_CACHE_DIR", &cache);
            cmd
        },
    )
}
