use crate::support::*;
use serde_json::{json, Value};
use std::path::Path;

fn write_graph(dir: &Path, name: &str, graph: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(graph).unwrap()).unwrap();
    path.display().to_string()
}

fn scratch(test: &str) -> std::path::PathBuf {
    let dir = root().join("target/test-graphs").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_demo_graph_prints_the_expected_values() {
    // --ephemeral: the counts below are those of a first run (docs/state.md).
    let out = reflow(&["run", "examples/graphs/demo.json", "--ephemeral"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let printed: Vec<&str> = text.lines().filter(|l| !l.starts_with('{')).collect();
    assert_eq!(printed, vec!["2", "4", "6", "8", "10"]);
    let counts: Vec<Value> = text.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let want: Vec<Value> = (101..=105).map(|n| json!({"port": "count", "message": {"type": "Integer", "data": n}})).collect();
    assert_eq!(counts, want);
    let summary = stderr(&out);
    assert!(summary.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["double", "5", "5", "5", "0", "0", "0"]), "{summary}");
}

#[test]
fn the_demo_graph_prints_the_same_on_either_engine() {
    // Per output, in order: the order between the two branches (printed values, exported
    // counts) is the workers' race, on either engine; within each it is the graph's.
    let run = |engine: &str| {
        let out = reflow(&["run", "examples/graphs/demo.json", "--ephemeral", "--engine", engine]);
        assert!(out.status.success(), "{engine}: {}", stderr(&out));
        let text = stdout(&out);
        let (exported, printed): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with('{'));
        (printed.join("\n"), exported.join("\n"))
    };
    assert_eq!(run("extism"), run("wasmtime"));
    let out = reflow(&["run", "examples/graphs/demo.json", "--ephemeral", "--engine", "nope"]);
    assert!(!out.status.success() && stderr(&out).contains("nope"), "{}", stderr(&out));
}

#[test]
fn every_validation_error_is_one_line_naming_file_process_and_port() {
    let dir = scratch("validation");
    let doubler = plugin("doubler.wasm");
    let graph = json!({
        "processes": {
            "a": {"component": doubler},
            "b": {"component": "core/Nope"},
            "c": {"component": "missing.wasm"},
            "d": {"component": doubler}
        },
        "connections": [
            {"src": {"process": "a", "port": "outptu"}, "tgt": {"process": "d", "port": "input"}}
        ]
    });
    let file = write_graph(&dir, "broken.json", &graph);
    for command in ["validate", "run"] {
        let out = reflow(&[command, &file]);
        assert!(!out.status.success());
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(lines.iter().all(|l| l.starts_with("error: ") && l.contains("broken.json")), "{err}");
        for needle in [r#"process "a": outport "outptu""#, r#"process "a": required inport "input""#, r#""core/Nope""#, "missing.wasm"] {
            assert!(err.contains(needle), "{needle} not in:\n{err}");
        }
    }
}

#[test]
fn a_broken_graph_file_names_the_line() {
    let dir = scratch("broken-json");
    let path = dir.join("bad.json");
    std::fs::write(&path, "{\n  \"processes\": {,\n}").unwrap();
    let out = reflow(&["run", &path.display().to_string()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.json:2:"), "file:line:column expected: {err}");
}

#[test]
fn a_run_with_a_failing_actor_finishes_the_others_and_exits_nonzero() {
    let dir = scratch("failing-run");
    let graph = json!({
        "processes": {
            "src": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 3}}},
            "double": {"component": plugin("doubler.wasm")},
            "bad": {"component": plugin("failing.wasm")}
        },
        "connections": [
            {"src": {"process": "src", "port": "out"}, "tgt": {"process": "double", "port": "input"}},
            {"data": "boom", "tgt": {"process": "bad", "port": "fail"}}
        ],
        "outports": {"out": {"process": "double", "port": "output"}}
    });
    let out = reflow(&["run", &write_graph(&dir, "g.json", &graph)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 3, "every healthy message is delivered");
    assert!(stderr(&out).contains("error: actor bad: boom"), "{}", stderr(&out));
}

#[test]
fn failed_calls_exit_1_even_when_stderr_is_full() {
    let dir = scratch("full-stderr");
    let graph = json!({
        "processes": {"bad": {"component": plugin("failing.wasm")}},
        "connections": [{"data": "boom", "tgt": {"process": "bad", "port": "fail"}}]
    });
    let graph = write_graph(&dir, "g.json", &graph);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full exists on Linux");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(["run", &graph, "--ephemeral"])
        .current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed call is a failed run, whatever stderr is");
}

#[test]
fn a_queue_capacity_out_of_range_is_refused_with_the_range() {
    for bad in ["0", "18446744073709551615", "1000000000000"] {
        let out = reflow(&["run", "examples/graphs/demo.json", "--ephemeral", "--queue-capacity", bad]);
        assert_eq!(out.status.code(), Some(2), "--queue-capacity {bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("--queue-capacity"), "{}", stderr(&out));
        assert!(stderr(&out).contains("1..=1048576") || stderr(&out).contains("1048576"), "{}", stderr(&out));
    }
    let out = reflow(&["run", "examples/graphs/demo.json", "--ephemeral", "--queue-capacity", "1", "--workers", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_cyclic_graph_is_valid() {
    // A cycle fed by an IIP is legal (a run ends by quiescence; this one would circulate for
    // ever, so it is only validated).
    let dir = scratch("cycle");
    let graph = json!({
        "processes": {
            "a": {"component": "core/Repeat"},
            "b": {"component": "core/Drop"}
        },
        "connections": [
            {"data": 5, "tgt": {"process": "a", "port": "in"}},
            {"src": {"process": "a", "port": "out"}, "tgt": {"process": "b", "port": "in"}},
            {"src": {"process": "a", "port": "out"}, "tgt": {"process": "a", "port": "in"}}
        ]
    });
    let graph = write_graph(&dir, "g.json", &graph);
    let out = reflow(&["validate", &graph]);
    assert_eq!(out.status.code(), Some(0), "cycles are valid: {}", stderr(&out));
}

#[test]
fn validate_answers_on_stdout() {
    let out = reflow(&["validate", "examples/graphs/demo.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("demo.json: valid ("), "stdout: {}", stdout(&out));
    assert!(stderr(&out).is_empty(), "stderr: {}", stderr(&out));
}

#[test]
fn run_help_says_where_state_persists() {
    let out = reflow(&["run", "--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(".reflow/state/"), "{}", stdout(&out));
}

/// The file built-ins and `reflow/Print` in one graph: each line of a JSON-lines file read as a
/// message (tagged, or a plain value mapped by its kind), invalid lines skipped and reported
/// with their line numbers, every message written to a file and printed, tagged, in order.
#[test]
fn json_lines_are_read_written_and_printed_in_order() {
    let dir = scratch("json-lines");
    let input = "{\"type\":\"Integer\",\"data\":1}\n2\n\nnot json\n\"three\"\n{\"type\":\"Integer\",\"data\":\"four\"}\n";
    std::fs::write(dir.join("in.jsonl"), input).unwrap();
    let _ = std::fs::remove_file(dir.join("out.jsonl"));
    let graph = json!({
        "processes": {
            "read": {"component": "reflow/ReadJsonLines", "metadata": {"config": {"path": "in.jsonl"}}},
            "write": {"component": "reflow/WriteJsonLines", "metadata": {"config": {"path": "out.jsonl"}}},
            "print": {"component": "reflow/Print"}
        },
        "connections": [
            {"src": {"process": "read", "port": "out"}, "tgt": {"process": "write", "port": "in"}},
            {"src": {"process": "read", "port": "out"}, "tgt": {"process": "print", "port": "in"}}
        ]
    });
    let file = write_graph(&dir, "lines.json", &graph);
    let out = reflow(&["run", &file, "--ephemeral"]);
    let want = [json!({"type": "Integer", "data": 1}), json!({"type": "Integer", "data": 2}), json!({"type": "String", "data": "three"})];
    let written: Vec<Value> = std::fs::read_to_string(dir.join("out.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(written, want, "{}", stderr(&out));
    let printed: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(printed, want, "{}", stderr(&out));
    let errors = stderr(&out);
    assert!(errors.contains("skipped 2 invalid lines, the first: ") && errors.contains("in.jsonl:4: "), "{errors}");
    assert!(!out.status.success(), "a run with a failed actor fails: {errors}");
}
