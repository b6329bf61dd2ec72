//! The C SDK's plugins: clang for wasm32-wasi ([`reflow_build::toolchain::clang`]; Debian's
//! clang 14, installed when missing). Each `.c` or `.cpp` file of the plugin folders is one
//! plugin, linked with the SDK's `sdk/c/src/reflow.c`, built as `c_NAME.wasm`.

use crate::plugins::OnePerFile;
use crate::run;
use anyhow::Result;
use reflow_build::toolchain::clang::{Clang, DEBIAN_PACKAGES};
use std::path::Path;

const PLUGINS: OnePerFile =
    OnePerFile { dirs: &["examples/c", "tests/plugins/c"], extensions: &["c", "cpp"], prefix: "c", language: "C/C++" };

/// clang for wasm32, installed once (as root, with apt-get) when any of its parts is missing.
fn ensure_clang() -> Result<Clang> {
    if let Ok(clang) = Clang::find() {
        return Ok(clang);
    }
    crate::apt::install(&DEBIAN_PACKAGES, "the C SDK (clang for wasm32-wasi)")?;
    Ok(Clang::find()?)
}

pub fn build_all(root: &Path, out: &Path) -> Result<()> {
    let include = root.join("sdk/c/include");
    let sdk_object = root.join("target/c/reflow.o");
    PLUGINS.build_all(
        root,
        out,
        || {
            let clang = ensure_clang()?;
            std::fs::create_dir_all(root.join("target/c"))?;
            // The SDK is C even when the plugin is C++: compile it once, as C.
            let sdk = root.join("sdk/c/src/reflow.c");
            run(clang.command(false, true).arg("-I").arg(&include).arg("-c").arg(sdk).arg("-o").arg(&sdk_object))?;
            Ok(clang)
        },
        |clang, source, wasm| {
            let mut cmd = clang.command(source.extension().is_some_and(|e| e == "cpp"), true);
            cmd.arg("-I").arg(&include).args(Clang::PLUGIN_LINK_ARGS).arg(source).arg(&sdk_object).arg("-o").arg(wasm);
            cmd
        },
    )
}
