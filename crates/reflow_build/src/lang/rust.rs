//! Rust plugin projects: a cdylib crate depending on `reflow_wasm`, built for
//! wasm32-unknown-unknown by the toolchain [`RustWasm::find`] picks.

use super::{graph, place, readme, Language, NewOptions};
use crate::toolchain::RustWasm;
use crate::{BuildError, BuildOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const LANGUAGE: Language = Language { name: "rust", marker: "Cargo.toml", source: "src/lib.rs", files, build };

const TARGET: &str = "wasm32-unknown-unknown";

/// The SDK version a new project asks crates.io for.
const SDK_VERSION: &str = "0.1";

fn files(options: &NewOptions) -> Vec<(PathBuf, String)> {
    let sdk = match &options.sdk_path {
        Some(checkout) => {
            // A checkout of the repository, or the crate's own folder.
            let crate_dir =
                if checkout.join("src/lib.rs").is_file() { checkout.clone() } else { checkout.join("crates/reflow_wasm") };
            format!("{{ path = {:?} }}", crate_dir.display().to_string())
        }
        None => format!("{SDK_VERSION:?}"),
    };
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

# A plugin is a WebAssembly library; `reflow build` compiles it for wasm32.
[lib]
crate-type = ["cdylib"]

[dependencies]
reflow_wasm = {sdk}

[profile.release]
opt-level = 3
lto = true
codegen-units = 1
# A panic aborts the call (the host reports it and keeps the state from before).
panic = "abort"
strip = true

# A workspace of its own, so that it builds wherever its folder is.
[workspace]
"#,
        name = options.name,
    );
    let lib_rs = format!(
        r#"//! {component}: doubles each Integer on `input` and sends it on `output`.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {{
    PluginMetadata {{
        component: "{component}".to_string(),
        description: "Doubles each Integer".to_string(),
        inports: vec![port_def!("input", "A number to double", "Integer", required)],
        outports: vec![port_def!("output", "The number, doubled", "Integer")],
        config_schema: None,
    }}
}}

fn process(context: ActorContext) -> Result<ActorResult, String> {{
    let mut outputs = HashMap::new();
    match context.payload.get("input") {{
        Some(Message::Integer(n)) => {{
            let doubled = n.checked_mul(2).ok_or_else(|| format!("{{n}} doubled does not fit in an Integer"))?;
            outputs.insert("output".to_string(), Message::Integer(doubled));
        }}
        Some(other) => return Err(format!("input must be an Integer, got {{}}", other.type_name())),
        None => {{}}
    }}
    // No `state`: the actor's state stays as it is.
    Ok(ActorResult {{ outputs, state: None }})
}}

actor_plugin!(metadata: metadata(), process: process);
"#,
        component = options.component(),
    );
    vec![
        ("Cargo.toml".into(), cargo_toml),
        ("src/lib.rs".into(), lib_rs),
        (".gitignore".into(), "/target\n/Cargo.lock\n*.wasm\n/.reflow\n".into()),
        ("README.md".into(), readme(options, "Rust", "src/lib.rs")),
        ("graph.fbp".into(), graph(options)),
    ]
}

fn build(dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let toolchain = RustWasm::find(&[TARGET])?;
    if toolchain.builds_std() {
        eprintln!("reflow build: no rustup wasm32 target here; using Debian's rustc-web and building std for wasm (slow the first time)");
    }
    let mut cmd = toolchain.cargo_build(&dir.join("Cargo.toml"), TARGET, options.release, options.target_dir.as_deref());
    // The artifacts' paths, from cargo itself, wherever the target folder is; the
    // diagnostics, rendered as usual, go to stderr.
    cmd.arg("--message-format=json-render-diagnostics");
    let output = crate::exec::run(&mut cmd, "cargo", options, true).map_err(|e| match e {
        BuildError::MissingTool { tool, why, .. } => BuildError::MissingTool { tool, why, install: "Install Rust from https://rustup.rs".into() },
        other => other,
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let built = wasm_artifact(&stdout)
        .ok_or_else(|| BuildError::NoOutput { detail: "cargo reported no cdylib .wasm; is crate-type \"cdylib\" set?".into() })?;
    let file = built.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    place(&built, dir, &file)
}

/// The last `.wasm` among cargo's `compiler-artifact` messages.
fn wasm_artifact(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .filter(|f| f.extension().is_some_and(|e| e == "wasm"))
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasm_is_found_among_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","filenames":["/t/libserde.rlib"]}
not json
{"reason":"compiler-artifact","filenames":["/t/wasm32-unknown-unknown/release/my_plugin.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(wasm_artifact(messages), Some(PathBuf::from("/t/wasm32-unknown-unknown/release/my_plugin.wasm")));
        assert_eq!(wasm_artifact(r#"{"reason":"build-finished"}"#), None);
    }
}
