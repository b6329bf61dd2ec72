//! AssemblyScript plugin projects: `assembly/index.ts` on the AssemblyScript SDK (a copy the
//! project carries in `reflow/`), compiled by the `assemblyscript` compiler that the
//! project's package.json and lock file pin, with `@extism/as-pdk`; `reflow build` installs
//! them into the project's `node_modules` with `npm ci` when they are not there.

use super::{graph, project_wasm, readme, Language, NewOptions};
use crate::toolchain::npm;
use crate::{BuildError, BuildOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const LANGUAGE: Language = Language { name: "assemblyscript", marker: "assembly/index.ts", source: "assembly/index.ts", files, build };

/// The SDK's files (`reflow/NAME`), as this `reflow` was built with them.
const SDK: [(&str, &str); 6] = [
    ("index.ts", include_str!("../../../../sdk/assemblyscript/assembly/index.ts")),
    ("context.ts", include_str!("../../../../sdk/assemblyscript/assembly/context.ts")),
    ("host.ts", include_str!("../../../../sdk/assemblyscript/assembly/host.ts")),
    ("json.ts", include_str!("../../../../sdk/assemblyscript/assembly/json.ts")),
    ("message.ts", include_str!("../../../../sdk/assemblyscript/assembly/message.ts")),
    ("plugin.ts", include_str!("../../../../sdk/assemblyscript/assembly/plugin.ts")),
];
/// The SDK's package.json and lock file: the compiler and PDK versions a project pins.
const SDK_PACKAGE: &str = include_str!("../../../../sdk/assemblyscript/package.json");
const SDK_LOCK: &str = include_str!("../../../../sdk/assemblyscript/package-lock.json");

/// The compiler flags of every AssemblyScript plugin (this repository's too). `--use abort=`
/// names the SDK's abort handler, `abort_handler`, which reports where the plugin aborted as
/// the call's error; without it the module would import `env.abort`, which no Extism host
/// provides.
pub fn asc_command(node_modules: &Path, entry: &Path, abort_handler: &str, out: &Path, release: bool) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(node_modules.join("assemblyscript/bin/asc.js"))
        .arg(entry)
        // Where `@extism/as-pdk` is found from sources outside node_modules' folder.
        .arg("--path")
        .arg(node_modules);
    if release {
        cmd.args(["-O3", "--noAssert"]);
    } else {
        cmd.arg("--debug");
    }
    cmd.arg("--use")
        .arg(format!("abort={abort_handler}"))
        .arg("--outFile")
        .arg(out);
    cmd
}

fn files(options: &NewOptions) -> Vec<(PathBuf, String)> {
    let index_ts = format!(
        r#"// {component}: doubles each Integer on `input` and sends it on `output`.
import {{
  ActorContext, ActorResult, Message, MessageType, PluginMetadata, port, exportMetadata, exportProcess,
}} from "../reflow/index";

function metadata(): PluginMetadata {{
  const m = new PluginMetadata();
  m.component = "{component}";
  m.description = "Doubles each Integer";
  m.inports = [port("input", "A number to double", "Integer", true)];
  m.outports = [port("output", "The number, doubled", "Integer")];
  return m;
}}

function double(ctx: ActorContext): ActorResult {{
  const result = new ActorResult();
  const input = ctx.input("input");
  if (input === null) return result;
  if (input.type != MessageType.Integer) return ActorResult.fail("input must be an Integer");
  const n = input.asInteger();
  if (n > i64.MAX_VALUE / 2 || n < i64.MIN_VALUE / 2) return ActorResult.fail(n.toString() + " doubled does not fit in an Integer");
  result.output("output", Message.integer(n * 2));
  // No state set: the actor's state stays as it is.
  return result;
}}

export function get_metadata(): i32 {{
  return exportMetadata(metadata());
}}

export function process(): i32 {{
  return exportProcess(double);
}}
"#,
        component = options.component(),
    );
    let mut files: Vec<(PathBuf, String)> = vec![
        ("assembly/index.ts".into(), index_ts),
        ("package.json".into(), package_json(&options.name, SDK_PACKAGE)),
        ("package-lock.json".into(), package_json(&options.name, SDK_LOCK)),
        (".gitignore".into(), "*.wasm\n/.reflow\n/node_modules\n".into()),
        ("README.md".into(), readme(options, "AssemblyScript", "assembly/index.ts")),
        ("graph.fbp".into(), graph(options)),
    ];
    files.extend(SDK.iter().map(|(name, text)| (Path::new("reflow").join(name), text.to_string())));
    files
}

/// The SDK's package.json or lock file as the project's own: its name, version 0.1.0, the
/// same pinned dependencies.
fn package_json(name: &str, sdk: &str) -> String {
    let mut package: Value = serde_json::from_str(sdk).expect("the SDK's package files are JSON (checked by a test)");
    let own = |p: &mut Value| {
        if let Some(p) = p.as_object_mut() {
            p.insert("name".into(), json!(name));
            p.insert("version".into(), json!("0.1.0"));
            for gone in ["description", "main", "types", "license"] {
                p.remove(gone);
            }
        }
    };
    own(&mut package);
    if let Some(root) = package.pointer_mut("/packages/") {
        own(root);
    }
    serde_json::to_string_pretty(&package).expect("JSON values serialize") + "\n"
}

fn build(dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    npm::ci_unless_installed(dir, "assemblyscript")?;
    let out = project_wasm(dir);
    let mut cmd = asc_command(
        &dir.join("node_modules"),
        Path::new("assembly/index.ts"),
        "reflow/plugin/reflowAbort",
        &out,
        options.release,
    );
    cmd.current_dir(dir);
    crate::run_with(&mut cmd, "node", options).map_err(|e| match e {
        BuildError::MissingTool { tool, why, .. } => {
            BuildError::MissingTool { tool, why, install: "Install Node.js (Debian: apt-get install nodejs npm)".into() }
        }
        other => other,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_pins_what_the_sdk_pins() {
        let package: Value = serde_json::from_str(&package_json("word-count", SDK_PACKAGE)).unwrap();
        let sdk: Value = serde_json::from_str(SDK_PACKAGE).unwrap();
        assert_eq!(package["name"], "word-count");
        assert_eq!(package["dependencies"], sdk["dependencies"]);
        let lock: Value = serde_json::from_str(&package_json("word-count", SDK_LOCK)).unwrap();
        assert_eq!(lock["name"], "word-count");
        assert_eq!(lock["packages"][""]["name"], "word-count");
        assert_eq!(lock["packages"][""]["dependencies"], sdk["dependencies"]);
        assert!(lock["packages"]["node_modules/assemblyscript"]["integrity"].is_string());
    }
}
