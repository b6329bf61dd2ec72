//! C and C++ plugins: clang for wasm32-wasi, with wasi-libc (`malloc`, `string.h`, `printf`)
//! and compiler-rt's builtins for wasm32. Debian 12's clang 14 is what we build and test
//! with; any clang that has those three pieces works.

use crate::BuildError;
use std::path::PathBuf;
use std::process::Command;

/// The Debian packages that give clang for wasm32-wasi (the last one: without it wasm-ld
/// cannot find `libclang_rt.builtins-wasm32.a`).
pub const DEBIAN_PACKAGES: [&str; 4] = ["clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32"];

const TARGET: &str = "--target=wasm32-wasi";

/// A clang that links wasm32-wasi modules here.
#[derive(Debug, Clone)]
pub struct Clang {
    clang: PathBuf,
}

impl Clang {
    /// `clang` on PATH, asked for each piece a wasm32-wasi link needs; an error names the
    /// pieces that are missing.
    pub fn find() -> Result<Clang, BuildError> {
        let clang = PathBuf::from("clang");
        let Some(version) = ask(&clang, &["--version"]) else {
            return Err(missing("clang is not installed"));
        };
        // clang answers `-print-file-name=X` with the bare name when it cannot find X.
        let mut absent = Vec::new();
        for (piece, file) in [
            ("wasm-ld (lld)", "-print-prog-name=wasm-ld"),
            ("wasi-libc's libc.a", "-print-file-name=libc.a"),
            ("compiler-rt's builtins for wasm32", "-print-libgcc-file-name"),
        ] {
            let found = ask(&clang, &[TARGET, file]).map(PathBuf::from);
            if !found.is_some_and(|p| p.is_absolute() && p.exists()) {
                absent.push(piece);
            }
        }
        if !absent.is_empty() {
            let first_line = version.lines().next().unwrap_or_default().to_string();
            return Err(missing(&format!("{first_line} cannot link for wasm32-wasi without {}", absent.join(", "))));
        }
        Ok(Clang { clang })
    }

    /// The compile-and-link command for wasm32-wasi (`cxx`: C++ with clang++, no C++
    /// library, since the SDK needs none and Debian has none for wasm32). Warnings are errors.
    pub fn command(&self, cxx: bool, release: bool) -> Command {
        let program = if cxx { self.clang.with_file_name("clang++") } else { self.clang.clone() };
        let mut cmd = Command::new(program);
        cmd.args([TARGET, if release { "-O2" } else { "-O0" }, "-Wall", "-Wextra", "-Werror"]);
        if cxx {
            cmd.args(["-std=c++17", "-fno-exceptions", "-nostdlib++"]);
        } else {
            cmd.arg("-std=c11");
        }
        cmd
    }

    /// What makes a linked module a plugin: a reactor (`_initialize`, run once by the host,
    /// instead of `main`), without debug names (the plugin's size is part of what the bench
    /// reports).
    pub const PLUGIN_LINK_ARGS: [&'static str; 2] = ["-mexec-model=reactor", "-Wl,--strip-all"];
}

fn ask(clang: &PathBuf, args: &[&str]) -> Option<String> {
    let out = Command::new(clang).args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn missing(why: &str) -> BuildError {
    BuildError::MissingTool {
        tool: "clang for wasm32-wasi".into(),
        why: why.into(),
        install: format!("On Debian: apt-get install {}", DEBIAN_PACKAGES.join(" ")),
    }
}
