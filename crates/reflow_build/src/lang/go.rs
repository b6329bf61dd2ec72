//! Go plugin projects: a `main` package on the Go SDK, built with
//! `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` (a WASI reactor module).

use super::{graph, project_wasm, readme, Language, NewOptions};
use crate::toolchain;
use crate::{BuildError, BuildOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const LANGUAGE: Language = Language { name: "go", marker: "go.mod", source: "main.go", files, build };

const SDK_MODULE: &str = "github.com/darmie/reflow/reflow_wasm_go";
const PDK: &str = "github.com/extism/go-pdk v1.1.3";
/// go.sum lines of the SDK's one dependency, so `go build` needs no `go mod tidy` first.
const PDK_SUM: &str = "github.com/extism/go-pdk v1.1.3 h1:hfViMPWrqjN6u67cIYRALZTZLk/enSPpNKa+rZ9X2SQ=\n\
                       github.com/extism/go-pdk v1.1.3/go.mod h1:Gz+LIU/YCKnKXhgge8yo5Yu1F/lbv7KtKFkiCSzW/P4=\n";

fn files(options: &NewOptions) -> Vec<(PathBuf, String)> {
    let replace = match &options.sdk_path {
        Some(checkout) => {
            let sdk = if checkout.join("go.mod").is_file() { checkout.clone() } else { checkout.join("sdk/go") };
            format!("\nreplace {SDK_MODULE} => {}\n", sdk.display())
        }
        None => String::new(),
    };
    let go_mod = format!(
        "module example.com/{name}\n\ngo 1.24\n\nrequire {SDK_MODULE} v0.0.0\n\nrequire {PDK} // indirect\n{replace}",
        name = options.name
    );
    let main_go = format!(
        r#"// Command {name} is a Reflow plugin: it doubles each Integer on `input` and sends it
// on `output`. `reflow build` compiles it with GOOS=wasip1 -buildmode=c-shared.
package main

import (
	"errors"

	reflow "{SDK_MODULE}/sdk"
)

func double(ctx reflow.ActorContext) (reflow.ActorResult, error) {{
	outputs := map[string]interface{{}}{{}}
	if msg, ok := ctx.Payload["input"]; ok {{
		n, ok := msg.AsInteger()
		if !ok {{
			return reflow.ActorResult{{}}, errors.New("input must be an Integer")
		}}
		outputs["output"] = reflow.NewIntegerMessage(n * 2)
	}}
	// No State: the actor's state stays as it is.
	return reflow.ActorResult{{Outputs: outputs}}, nil
}}

func metadata() reflow.PluginMetadata {{
	return reflow.PluginMetadata{{
		Component:   "{component}",
		Description: "Doubles each Integer",
		Inports:     []reflow.PortDefinition{{reflow.NewRequiredPort("input", "A number to double", "Integer")}},
		Outports:    []reflow.PortDefinition{{reflow.NewOptionalPort("output", "The number, doubled", "Integer")}},
	}}
}}

func init() {{
	reflow.RegisterPlugin(metadata(), double)
}}

//go:wasmexport get_metadata
func get_metadata() int32 {{
	return reflow.GetMetadata()
}}

//go:wasmexport process
func process() int32 {{
	return reflow.Process()
}}

// main is not run: -buildmode=c-shared makes a reactor module whose _initialize export runs
// init. It must exist and stay empty.
func main() {{}}
"#,
        name = options.name,
        component = options.component(),
    );
    let main_test_go = r#"//go:build !wasip1

package main

// Runs natively (`go test`): the SDK talks to a reflow.TestHost instead of the wasm host.

import (
	"encoding/json"
	"testing"

	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func TestDoubles(t *testing.T) {
	host := &reflow.TestHost{}
	defer reflow.UseTestHost(host)()
	host.Input = []byte(`{"payload": {"input": {"type": "Integer", "data": 21}}, "config": {}, "state": {}}`)
	if rc := reflow.Process(); rc != 0 {
		t.Fatalf("process failed (%d): %s", rc, host.Error)
	}
	var result struct {
		Outputs map[string]struct {
			Type string
			Data int64
		}
	}
	if err := json.Unmarshal(host.Output, &result); err != nil {
		t.Fatal(err)
	}
	if got := result.Outputs["output"]; got.Type != "Integer" || got.Data != 42 {
		t.Fatalf("output = %+v, want Integer 42", got)
	}
}
"#;
    vec![
        ("go.mod".into(), go_mod),
        ("go.sum".into(), PDK_SUM.into()),
        ("main.go".into(), main_go),
        ("main_test.go".into(), main_test_go.into()),
        (".gitignore".into(), "*.wasm\n/.reflow\n".into()),
        ("README.md".into(), readme(options, "Go", "main.go")),
        ("graph.fbp".into(), graph(options)),
    ]
}

fn build(dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let out = project_wasm(dir);
    crate::run_with(&mut build_command(&toolchain::go()?, dir, &out, options.release), "go", options)?;
    Ok(out)
}

/// `go build` of the Go plugin module in `dir` into `out` (this repository's Go plugins too).
pub fn build_command(go: &Path, dir: &Path, out: &Path, release: bool) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(dir).env("GOOS", "wasip1").env("GOARCH", "wasm");
    cmd.args(["build", "-buildmode=c-shared", "-trimpath"]);
    if release {
        // Without the symbol table and DWARF: a module a fraction of the size.
        cmd.arg("-ldflags=-s -w");
    }
    cmd.arg("-o").arg(out).arg(".");
    cmd
}
