use crate::support::*;
use serde_json::json;

#[test]
fn call_on_the_doubler_prints_42() {
    let out = reflow(&["call", &plugin("doubler.wasm"), "--payload", r#"{"input":{"type":"Integer","data":21}}"#]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The exact text a user sees, key order included.
    assert_eq!(stdout(&out).trim(), r#"{"outputs":{"output":{"type":"Integer","data":42}},"state":{},"sent":[]}"#);
}

#[test]
fn both_engines_give_the_same_answer_at_the_command_line() {
    for engine in ["wasmtime", "extism"] {
        let out = reflow(&["call", &plugin("counter.wasm"), "--engine", engine, "--payload", r#"{"increment":null}"#, "--state", r#"{"count":9}"#]);
        assert!(out.status.success(), "{engine}: {}", stderr(&out));
        assert_eq!(json_stdout(&out)["outputs"]["count"], json!({"type": "Integer", "data": 10}), "{engine}");
    }
    let out = reflow(&["call", &plugin("counter.wasm"), "--engine", "v8"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown engine"), "{}", stderr(&out));
}

#[test]
fn call_on_the_go_counter_continues_from_the_given_state() {
    let out = reflow(&[
        "call",
        &plugin("go_counter.wasm"),
        "--payload",
        r#"{"operation":{"type":"String","data":"increment"}}"#,
        "--state",
        r#"{"count":41}"#,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result = json_stdout(&out);
    assert_eq!(result["outputs"]["value"], json!({"type": "Integer", "data": 42}));
    assert_eq!(result["state"], json!({"count": 42}));
    // Undeclared ports are listed and warned about, never fatal.
    let sent_ports: Vec<&str> = result["sent"].as_array().unwrap().iter().map(|s| s["port"].as_str().unwrap()).collect();
    assert_eq!(sent_ports, vec!["count", "status"]);
    assert!(stderr(&out).contains(r#"outport "status", which its metadata does not declare"#), "{}", stderr(&out));
}

#[test]
fn inspect_prints_the_metadata_with_port_type() {
    let out = reflow(&["inspect", &plugin("counter.wasm")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = json_stdout(&out);
    assert_eq!(meta["component"], "Counter");
    assert_eq!(meta["inports"][0]["port_type"], "Flow");
    assert_eq!(meta["config_schema"]["properties"]["initial_value"]["default"], 0);
}

#[test]
fn failures_are_one_line_on_stderr_with_a_nonzero_exit() {
    let cases: [(&[&str], &str); 4] = [
        (&["call", "no/such.wasm"], "cannot read plugin no/such.wasm"),
        (&["call", &plugin("no_process.wasm")], "missing export `process`"),
        (&["call", &plugin("doubler.wasm"), "--payload", "{not json"], "--payload is not valid JSON"),
        (&["call", &plugin("failing.wasm"), "--payload", r#"{"fail":"nope"}"#], "actor Failing: plugin call failed: nope"),
    ];
    for (args, expected) in cases {
        let out = reflow(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.contains(expected), "{args:?}: {err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn a_closed_stdout_ends_the_command_quietly_instead_of_panicking() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(["inspect", &plugin("counter.wasm")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is printed
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101), "panicked: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
