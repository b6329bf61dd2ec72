use crate::support::*;
use std::process::Command;

fn reflow_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_fbp_graph_runs_with_a_plugin_named_without_wasm() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin("doubler.wasm"), dir.path().join("doubler.wasm")).unwrap();
    std::fs::write(dir.path().join("g.fbp"), "21 -> INPUT Double(doubler) OUTPUT -> IN Show(core/Output)\n").unwrap();
    let out = reflow_in(dir.path(), &["validate", "g.fbp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = reflow_in(dir.path(), &["run", "--ephemeral", "g.fbp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "42\n");
}

#[test]
fn convert_round_trips_between_fbp_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let fbp = "# @name twice\nINPORT=Double.INPUT:N\nDouble(doubler:x=10,y=20) OUTPUT -> IN[0] Show(core/Output)\n'5' -> INPUT Double\n";
    std::fs::write(dir.path().join("a.fbp"), fbp).unwrap();
    let out = reflow_in(dir.path(), &["convert", "a.fbp", "-o", "a.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("a.json")).unwrap()).unwrap();
    assert_eq!(json["processes"]["Double"]["component"], "doubler.wasm", "resolved as `reflow run` would");
    assert_eq!(json["processes"]["Double"]["metadata"], serde_json::json!({"x": 10, "y": 20}));
    assert_eq!(json["inports"]["n"], serde_json::json!({"process": "Double", "port": "input"}));
    assert_eq!(json["properties"]["name"], "twice");

    let out = reflow_in(dir.path(), &["convert", "a.json", "--to", "fbp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let back = stdout(&out);
    assert!(back.contains("Double(doubler:x=10,y=20)"), "{back}");
    std::fs::write(dir.path().join("b.fbp"), &back).unwrap();
    let out = reflow_in(dir.path(), &["convert", "b.fbp", "-o", "b.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("b.json")).unwrap(), std::fs::read_to_string(dir.path().join("a.json")).unwrap());
}

#[test]
fn a_fbp_syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.fbp"), "A(core/Repeat) OUT -> IN B(core/Output)\nB OUT => IN C\n").unwrap();
    let out = reflow_in(dir.path(), &["validate", "bad.fbp"]);
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("error: bad.fbp:2:7: expected"), "{}", stderr(&out));
    let out = reflow_in(dir.path(), &["convert", "bad.fbp"]);
    assert!(stderr(&out).contains("bad.fbp:2:7:"), "{}", stderr(&out));
}
