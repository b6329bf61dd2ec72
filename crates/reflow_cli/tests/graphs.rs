//! Graph files over the built plugins for the state tests, the `reflow` command as a child
//! process, and the exported messages `reflow run` prints (one JSON line each).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output};
use std::sync::mpsc;

pub fn reflow_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reflow"));
    command.env("RUST_BACKTRACE", "0").env_remove("RUST_LOG");
    command
}

/// Runs `reflow ARGS`; panics with its stderr unless the exit status is `success`.
pub fn reflow_ok(args: &[&str]) -> Output {
    let output = reflow_command().args(args).output().unwrap();
    assert!(output.status.success(), "reflow {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Runs `reflow ARGS` expecting failure; returns its stderr.
pub fn reflow_err(args: &[&str]) -> String {
    let output = reflow_command().args(args).output().unwrap();
    assert!(!output.status.success(), "reflow {args:?} succeeded:\n{}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr).unwrap()
}

pub fn plugin(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins").join(name);
    assert!(path.exists(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
    path.canonicalize().unwrap().display().to_string()
}

/// Range `1..=n` into a counter's `increment` (and a state probe's `add` if `probe`), with
/// `count` (and `total`) exported.
pub fn counter_graph(n: i64, probe: bool) -> Value {
    let mut graph = json!({
        "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": n}}},
            "count": {"component": plugin("counter.wasm")}
        },
        "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "count", "port": "increment"}}],
        "outports": {"count": {"process": "count", "port": "count"}}
    });
    if probe {
        graph["processes"]["probe"] = json!({"component": plugin("state_probe.wasm")});
        graph["connections"].as_array_mut().unwrap().push(
            json!({"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "probe", "port": "add"}}),
        );
        graph["outports"]["total"] = json!({"process": "probe", "port": "total"});
    }
    graph
}

pub fn write_graph(path: &Path, graph: &Value) -> String {
    std::fs::write(path, graph.to_string()).unwrap();
    path.display().to_string()
}

/// The integers printed for exported port `port`, in order, from `reflow run`'s stdout.
pub fn exported(stdout: &str, port: &str) -> Vec<i64> {
    stdout
        .lines()
        .filter_map(|line| {
            let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"));
            (line["port"] == port).then(|| line["message"]["data"].as_i64().unwrap())
        })
        .collect()
}

/// `reflow state export` of `graph`, parsed.
pub fn export(graph: &str, state_dir: &str) -> Value {
    let output = reflow_ok(&["state", "export", graph, "--state-dir", state_dir]);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Lines of a child's piped stderr, as they come, on a channel (closed when the child exits).
pub fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}
