//! `component:source` (setsource) with `--allow-build`: Rust code from the client is built by
//! reflow_build, listed, and swapped into the running actors of a graph that uses it, state
//! kept; a compiler error comes back with the file and line; hostile names are refused; two
//! setsources of one component at once both end, as one of them.
//!
//! The builds use this checkout's SDK and the repository's wasm target folder (as
//! `crates/reflow_cli/tests/new_build.rs` does), so only the plugin itself is compiled.

use crate::support::*;
use reflow_protocol::{BuildConfig, RuntimeConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A hang guard for one build's answer (a first build may compile the SDK), not a timing claim.
const BUILD_WAIT: Duration = Duration::from_secs(900);

fn build_config() -> BuildConfig {
    let root = workspace_root().canonicalize().unwrap();
    BuildConfig { sdk_path: Some(root.clone()), target_dir: Some(root.join("target/wasm")), timeout: BUILD_WAIT }
}

fn server(test: &str, build: Option<BuildConfig>) -> (Client, PathBuf) {
    let dir = components_dir(test, &[]);
    let addr = start_server(RuntimeConfig { components: Some(dir.clone()), build, ..RuntimeConfig::default() });
    (Client::connect(addr), dir)
}

/// A counting plugin: each Integer on `input` adds one to `count` (its state) and sends
/// `BASE + count` on `output`.
fn tally(base: i64) -> String {
    format!(
        r#"use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {{
    PluginMetadata {{
        component: "Tally".to_string(),
        description: "Counts its inputs".to_string(),
        inports: vec![port_def!("input", "Anything", "Integer", required)],
        outports: vec![port_def!("output", "{base} + the count", "Integer")],
        config_schema: None,
    }}
}}

fn process(context: ActorContext) -> Result<ActorResult, String> {{
    let count = context.state.get("count").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    let mut outputs = HashMap::new();
    outputs.insert("output".to_string(), Message::Integer({base} + count));
    Ok(ActorResult {{ outputs, state: Some(serde_json::json!({{"count": count}})) }})
}}

actor_plugin!(metadata: metadata(), process: process);
"#
    )
}

/// The answer to a setsource: `component:component`'s payload, or `component:error`'s message.
fn answer(c: &mut Client) -> Result<Value, String> {
    let deadline = Instant::now() + BUILD_WAIT;
    while Instant::now() < deadline {
        if let Some(message) = c.try_recv(Duration::from_millis(500)) {
            match (message["protocol"].as_str(), message["command"].as_str()) {
                (Some("component"), Some("component")) => return Ok(message["payload"].clone()),
                (Some("component"), Some("error")) => return Err(message["payload"]["message"].as_str().unwrap_or_default().to_string()),
                _ => {}
            }
        }
    }
    panic!("no answer to component:source within {BUILD_WAIT:?}");
}

fn set_source(c: &mut Client, name: &str, code: &str) -> Result<Value, String> {
    c.send("component", "source", json!({"name": name, "language": "rust", "code": code}));
    answer(c)
}

/// `g`: IN -> t(COMPONENT) -> OUT, exported both ways, started.
fn start_graph(c: &mut Client, component: &str) {
    c.request("graph", "clear", json!({"id": "g"}), "clear");
    c.request("graph", "addnode", json!({"id": "t", "component": component, "graph": "g"}), "addnode");
    c.request("graph", "addinport", json!({"public": "in", "node": "t", "port": "input", "graph": "g"}), "addinport");
    c.expect("runtime", "ports");
    c.request("graph", "addoutport", json!({"public": "out", "node": "t", "port": "output", "graph": "g"}), "addoutport");
    c.expect("runtime", "ports");
    c.request("network", "start", json!({"graph": "g"}), "started");
}

/// Sends `value` into `g`'s `in`; what comes out of `out`. The output may overtake the
/// `packetsent` (the network runs on its own threads): both are awaited, in either order.
fn through(c: &mut Client, value: i64) -> Value {
    c.send("runtime", "packet", json!({"graph": "g", "port": "in", "event": "data", "payload": value}));
    let (mut sent, mut out) = (false, None);
    while !sent || out.is_none() {
        let message = c.recv();
        match (message["protocol"].as_str(), message["command"].as_str()) {
            (Some("runtime"), Some("packetsent")) => sent = true,
            (Some("runtime"), Some("packet")) => out = Some(message["payload"]["payload"].clone()),
            _ => {}
        }
    }
    out.unwrap()
}

#[test]
fn built_code_is_listed_and_swapped_into_the_running_graph_keeping_its_state() {
    let (mut c, dir) = server("setsource-swap", Some(build_config()));
    let runtime = c.request("runtime", "getruntime", json!({}), "runtime");
    assert!(runtime["capabilities"].as_array().unwrap().contains(&json!("component:setsource")), "{runtime:#}");

    let component = set_source(&mut c, "tally", &tally(0)).unwrap_or_else(|e| panic!("the first version does not build: {e}"));
    assert_eq!(component["name"], "tally");
    assert_eq!(component["inPorts"][0]["id"], "input");
    assert!(dir.join("tally.wasm").is_file(), "installed into the components folder");
    // Listed as any plugin of the folder is.
    c.send("component", "list", json!({}));
    let mut listed = Vec::new();
    loop {
        let message = c.recv();
        if message["command"] == "componentsready" {
            break;
        }
        listed.push(message["payload"]["name"].clone());
    }
    assert!(listed.contains(&json!("tally")), "{listed:?}");

    start_graph(&mut c, "tally");
    assert_eq!(through(&mut c, 7), 1);
    assert_eq!(through(&mut c, 7), 2);

    // The new version: its component message comes once the running actor will take it.
    set_source(&mut c, "tally", &tally(1000)).unwrap_or_else(|e| panic!("the second version does not build: {e}"));
    assert_eq!(through(&mut c, 7), 1003, "the new code runs, with the count it had");
    let source = c.request("component", "getsource", json!({"name": "tally"}), "source");
    assert_eq!((source["language"].as_str(), source["code"].as_str()), (Some("rust"), Some(tally(1000).as_str())));

    // A compile error: the compiler's message, naming the file and line; nothing changes.
    let broken = tally(5).replace("let count = ", "let count: String = ");
    let line = broken.lines().position(|l| l.contains("let count: String")).unwrap() + 1;
    let error = set_source(&mut c, "tally", &broken).expect_err("code that does not compile was accepted");
    assert!(error.contains("error[E0308]") && error.contains(&format!("src/lib.rs:{line}:")), "the compiler's message with the place: {error}");
    assert!(!error.contains("Compiling "), "cargo's progress lines are left out: {error}");
    assert_eq!(through(&mut c, 7), 1004, "the running version stays");
    let source = c.request("component", "getsource", json!({"name": "tally"}), "source");
    assert_eq!(source["code"].as_str(), Some(tally(1000).as_str()), "getsource shows the code that was built last");

    // A version without the `output` port the graph connects: built and listed, but the
    // running graph keeps the old one, and says so.
    let portless = tally(9).replace(r#"port_def!("output""#, r#"port_def!("result""#).replace(r#""output".to_string()"#, r#""result".to_string()"#);
    set_source(&mut c, "tally", &portless).unwrap_or_else(|e| panic!("the portless version does not build: {e}"));
    let refused = c.expect("component", "error");
    assert!(refused["message"].as_str().unwrap().contains("graph g keeps the version before"), "{refused:#}");
    assert_eq!(through(&mut c, 7), 1005);
    c.request("network", "stop", json!({"graph": "g"}), "stopped");
}

/// A Go plugin (the SDK of `sdk/go`) that triples each Integer.
const GO_TRIPLER: &str = r#"package main

import (
	"errors"

	reflow "github.com/darmie/reflow/reflow_wasm_go/sdk"
)

func triple(ctx reflow.ActorContext) (reflow.ActorResult, error) {
	outputs := map[string]interface{}{}
	if msg, ok := ctx.Payload["input"]; ok {
		n, ok := msg.AsInteger()
		if !ok {
			return reflow.ActorResult{}, errors.New("input must be an Integer")
		}
		outputs["output"] = reflow.NewIntegerMessage(n * 3)
	}
	return reflow.ActorResult{Outputs: outputs}, nil
}

func metadata() reflow.PluginMetadata {
	return reflow.PluginMetadata{
		Component:   "GoTripler",
		Description: "Triples each Integer",
		Inports:     []reflow.PortDefinition{reflow.NewRequiredPort("input", "A number", "Integer")},
		Outports:    []reflow.PortDefinition{reflow.NewOptionalPort("output", "It, tripled", "Integer")},
	}
}

func init() {
	reflow.RegisterPlugin(metadata(), triple)
}

//go:wasmexport get_metadata
func get_metadata() int32 {
	return reflow.GetMetadata()
}

//go:wasmexport process
func process() int32 {
	return reflow.Process()
}

func main() {}
"#;

#[test]
fn go_code_is_built_too_and_its_compiler_errors_name_the_line() {
    let (mut c, _dir) = server("setsource-go", Some(build_config()));
    let broken = GO_TRIPLER.replace("n * 3", "n * three");
    let line = broken.lines().position(|l| l.contains("n * three")).unwrap() + 1;
    c.send("component", "source", json!({"name": "triple", "library": "go", "language": "go", "code": broken}));
    let error = answer(&mut c).expect_err("Go code that does not compile was accepted");
    assert!(error.contains(&format!("main.go:{line}:")) && error.contains("undefined: three"), "{error}");

    c.send("component", "source", json!({"name": "triple", "library": "go", "language": "go", "code": GO_TRIPLER}));
    let component = answer(&mut c).unwrap_or_else(|e| panic!("the Go plugin does not build: {e}"));
    assert_eq!(component["name"], "go/triple");
    start_graph(&mut c, "go/triple");
    assert_eq!(through(&mut c, 7), 21);
    c.request("network", "stop", json!({"graph": "g"}), "stopped");
    let source = c.request("component", "getsource", json!({"name": "go/triple"}), "source");
    assert_eq!((source["library"].as_str(), source["name"].as_str(), source["language"].as_str()), (Some("go"), Some("triple"), Some("go")));
    assert_eq!(source["code"].as_str(), Some(GO_TRIPLER));
}

#[test]
fn without_the_grant_nothing_is_built() {
    let (mut c, dir) = server("setsource-refused", None);
    let runtime = c.request("runtime", "getruntime", json!({}), "runtime");
    assert!(!runtime["capabilities"].as_array().unwrap().contains(&json!("component:setsource")), "{runtime:#}");
    let error = set_source(&mut c, "tally", &tally(0)).expect_err("built without --allow-build");
    assert!(error.contains("--allow-build"), "{error}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written into {}", dir.display());
}

#[test]
fn hostile_names_and_other_languages_are_refused_before_anything_is_written() {
    let (mut c, dir) = server("setsource-names", Some(build_config()));
    let outside = dir.parent().unwrap().join(format!("x-{}", std::process::id()));
    for payload in [
        json!({"name": "../x", "language": "rust", "code": tally(0)}),
        json!({"name": format!("../../{}", outside.file_name().unwrap().to_string_lossy()), "language": "rust", "code": tally(0)}),
        json!({"name": "x", "library": "..", "language": "rust", "code": tally(0)}),
        json!({"name": "/tmp/x", "language": "rust", "code": tally(0)}),
        json!({"name": "Repeat", "library": "core", "language": "rust", "code": tally(0)}),
        json!({"name": "x", "language": "cobol", "code": "DISPLAY 'HI'."}),
        json!({"name": "x", "language": "rust"}),
    ] {
        c.send("component", "source", payload.clone());
        let error = answer(&mut c).expect_err(&format!("{payload} was accepted"));
        assert!(!error.is_empty(), "{payload}");
    }
    assert!(!outside.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written into {}", dir.display());
}

#[test]
fn a_build_past_its_time_limit_is_stopped_and_changes_nothing() {
    let limited = BuildConfig { timeout: Duration::from_millis(1), ..build_config() };
    let (mut c, dir) = server("setsource-timeout", Some(limited));
    let error = set_source(&mut c, "slow", &tally(0)).expect_err("a build cannot end within 1 ms");
    assert!(error.contains("took longer than 1ms and was stopped"), "{error}");
    assert!(!dir.join("slow.wasm").exists());
    assert!(!dir.join(".reflow/build/slow").exists(), "the new project is removed again");
}

#[test]
fn two_setsources_of_one_component_at_once_both_end_as_one_of_them() {
    let dir = components_dir("setsource-race", &[]);
    let addr = start_server(RuntimeConfig { components: Some(dir.clone()), build: Some(build_config()), ..RuntimeConfig::default() });
    let (mut a, mut b) = (Client::connect(addr), Client::connect(addr));
    a.send("component", "source", json!({"name": "race", "language": "rust", "code": tally(100)}));
    b.send("component", "source", json!({"name": "race", "language": "rust", "code": tally(200)}));
    answer(&mut a).unwrap_or_else(|e| panic!("a: {e}"));
    answer(&mut b).unwrap_or_else(|e| panic!("b: {e}"));
    // The source and the plugin agree: whichever was built last is both.
    let source = a.request("component", "getsource", json!({"name": "race"}), "source");
    let base = if source["code"] == json!(tally(100)) { 100 } else { 200 };
    assert_eq!(source["code"], json!(tally(base)));
    start_graph(&mut a, "race");
    assert_eq!(through(&mut a, 1), base + 1);
    a.request("network", "stop", json!({"graph": "g"}), "stopped");
    assert!(!dir.join(".race.wasm.part").exists(), "no half-written file is left");
}
