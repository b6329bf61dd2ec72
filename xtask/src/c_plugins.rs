//! The C SDK's plugins: Debian's clang 14 for wasm32-wasi (wasi-libc gives malloc and
//! printf), installed when missing. Each `.c` or `.cpp` file of the plugin folders is one
//! plugin, linked with the SDK's `sdk/c/src/reflow.c`, built as `c_NAME.wasm`.

use crate::run;
use anyhow::Result;
use std::path::Path;
use std::process::Command;

/// Folders whose `.c` / `.cpp` files are plugins.
const C_PLUGIN_DIRS: [&str; 2] = ["examples/c", "tests/plugins/c"];
const PACKAGES: [&str; 4] = ["clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32"];
/// What those packages put where the build looks (the last one: without it wasm-ld cannot
/// find `libclang_rt.builtins-wasm32.a`).
const INSTALLED: [&str; 4] = [
    "/usr/bin/clang",
    "/usr/bin/wasm-ld",
    "/usr/lib/wasm32-wasi/libc.a",
    "/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a",
];

/// Installs clang for wasm32 once (as root, with apt-get) when any of its parts is missing.
pub fn ensure_clang() -> Result<()> {
    if INSTALLED.iter().all(|p| Path::new(p).exists()) {
        return Ok(());
    }
    crate::apt::install(&PACKAGES, "the C SDK (clang for wasm32-wasi)")
}

/// The clang command for C (`cxx`: C++) sources, for wasm32-wasi.
pub fn clang_command(root: &Path, cxx: bool) -> Command {
    let mut cmd = Command::new(if cxx { "/usr/bin/clang++" } else { "/usr/bin/clang" });
    cmd.args(["--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(root.join("sdk/c/include"));
    if cxx {
        // The SDK needs no C++ library (and Debian has none for wasm32): only the compiler.
        cmd.args(["-std=c++17", "-fno-exceptions", "-nostdlib++"]);
    } else {
        cmd.arg("-std=c11");
    }
    cmd
}

pub fn build_all(root: &Path, out: &Path) -> Result<()> {
    let sources = crate::plugins::sources_in(root, &C_PLUGIN_DIRS, &["c", "cpp"])?;
    if sources.is_empty() {
        return Ok(());
    }
    ensure_clang()?;
    let objects = root.join("target/c");
    std::fs::create_dir_all(&objects)?;
    // The SDK is C even when the plugin is C++: compile it once, as C.
    let sdk_object = objects.join("reflow.o");
    run(clang_command(root, false).arg("-c").arg(root.join("sdk/c/src/reflow.c")).arg("-o").arg(&sdk_object))?;
    crate::plugins::build_each(&sources, out, "c", "C/C++", |source, wasm| {
        let mut cmd = clang_command(root, source.extension().is_some_and(|e| e == "cpp"));
        // A reactor: `_initialize` (run once by the host) instead of `main`. No debug names:
        // the plugin's size is part of what the bench reports.
        cmd.args(["-mexec-model=reactor", "-Wl,--strip-all"]).arg(source).arg(&sdk_object).arg("-o").arg(wasm);
        cmd
    })
}
