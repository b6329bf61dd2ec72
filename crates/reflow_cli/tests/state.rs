//! Resuming with `reflow run`, and the `reflow state` commands, on the real binary.

use crate::graphs::*;
use crate::support::{reflow, stderr, stdout};
use serde_json::json;

#[test]
fn a_counter_graph_run_twice_continues_counting() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(&dir.path().join("counter.json"), &counter_graph(5, false));
    let state = dir.path().join("state").display().to_string();
    let first = reflow_ok(&["run", &graph, "--state-dir", &state]);
    let second = reflow_ok(&["run", &graph, "--state-dir", &state]);
    assert_eq!(exported(&String::from_utf8_lossy(&first.stdout), "count"), [1, 2, 3, 4, 5]);
    assert_eq!(exported(&String::from_utf8_lossy(&second.stdout), "count"), [6, 7, 8, 9, 10]);
    assert_eq!(export(&graph, &state)["actors"], json!({"count": {"count": 10}}));
}

#[test]
fn the_default_state_directory_is_beside_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(&dir.path().join("counter.json"), &counter_graph(3, false));
    reflow_ok(&["run", &graph]);
    assert!(dir.path().join(".reflow/state/state.redb").exists());
    let second = reflow_ok(&["run", &graph]);
    assert_eq!(exported(&String::from_utf8_lossy(&second.stdout), "count"), [4, 5, 6]);
    let shown = reflow_ok(&["state", "show", &graph]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "count: {\"count\":6}\n");
}

#[test]
fn an_ephemeral_run_starts_afresh_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(&dir.path().join("counter.json"), &counter_graph(3, false));
    for _ in 0..2 {
        let output = reflow_ok(&["run", &graph, "--ephemeral"]);
        assert_eq!(exported(&String::from_utf8_lossy(&output.stdout), "count"), [1, 2, 3]);
    }
    assert!(!dir.path().join(".reflow").exists());
    let stderr = reflow_err(&["run", &graph, "--ephemeral", "--state-dir", "x"]);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn a_graph_of_built_ins_leaves_no_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let graph = json!({
        "processes": {"numbers": {"component": "reflow/Range", "metadata": {"config": {"end": 2}}}, "out": {"component": "core/Drop"}},
        "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "out", "port": "in"}}]
    });
    let graph = write_graph(&dir.path().join("plain.json"), &graph);
    reflow_ok(&["run", &graph]);
    assert!(!dir.path().join(".reflow").exists());
}

#[test]
fn two_graphs_sharing_a_state_directory_stay_separate() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    let small = write_graph(&dir.path().join("small.json"), &counter_graph(2, false));
    let big = write_graph(&dir.path().join("big.json"), &counter_graph(7, true));
    for _ in 0..2 {
        reflow_ok(&["run", &small, "--state-dir", &state]);
        reflow_ok(&["run", &big, "--state-dir", &state]);
    }
    assert_eq!(export(&small, &state)["actors"], json!({"count": {"count": 4}}));
    assert_eq!(export(&big, &state)["actors"], json!({"count": {"count": 14}, "probe": {"total": 56}}));
}

#[test]
fn export_clear_import_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    let graph = write_graph(&dir.path().join("g.json"), &counter_graph(4, true));
    reflow_ok(&["run", &graph, "--state-dir", &state]);
    let backup = dir.path().join("backup.json").display().to_string();
    reflow_ok(&["state", "export", &graph, "--state-dir", &state, "--output", &backup]);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
    assert_eq!(saved, json!({"format": "reflow-state", "version": 1, "graph": "g", "actors": {"count": {"count": 4}, "probe": {"total": 10}}}));

    reflow_ok(&["state", "clear", &graph, "--state-dir", &state, "--process", "probe"]);
    assert_eq!(export(&graph, &state)["actors"], json!({"count": {"count": 4}}));
    reflow_ok(&["state", "clear", &graph, "--state-dir", &state]);
    assert_eq!(export(&graph, &state)["actors"], json!({}));
    let fresh = reflow_ok(&["run", &graph, "--state-dir", &state]);
    assert_eq!(exported(&String::from_utf8_lossy(&fresh.stdout), "count"), [1, 2, 3, 4], "cleared state starts afresh");

    reflow_ok(&["state", "import", &graph, &backup, "--state-dir", &state]);
    assert_eq!(export(&graph, &state), saved);
    let resumed = reflow_ok(&["run", &graph, "--state-dir", &state]);
    assert_eq!(exported(&String::from_utf8_lossy(&resumed.stdout), "count"), [5, 6, 7, 8]);
}

#[test]
fn an_import_naming_a_process_without_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    let graph = write_graph(&dir.path().join("g.json"), &counter_graph(1, false));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"format": "reflow-state", "version": 1, "graph": "g", "actors": {"numbers": {}, "typo": {}}}"#).unwrap();
    let stderr = reflow_err(&["state", "import", &graph, &bad.display().to_string(), "--state-dir", &state]);
    assert!(stderr.contains("process \"numbers\" is the built-in \"reflow/Range\", which keeps no state"), "{stderr}");
    assert!(stderr.contains("process \"typo\" is not in"), "{stderr}");
    assert!(!dir.path().join("state").exists(), "nothing was created");
}

#[test]
fn a_state_over_the_cap_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    let graph = write_graph(&dir.path().join("g.json"), &counter_graph(10, false));
    let output = reflow_command().args(["run", &graph, "--state-dir", &state, "--max-state-bytes", "11"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("checkpoint not written, so the run stopped at its last checkpoint (`reflow run` resumes from there): graph \"g\", process \"count\": state of 12 bytes exceeds the limit of 11 bytes per actor"),
        "{stderr}"
    );
    // Printed as they were sent (at least once); the store never took the state over the cap.
    assert_eq!(exported(&String::from_utf8_lossy(&output.stdout), "count"), (1..=10).collect::<Vec<_>>());
    assert!(export(&graph, &state)["actors"]["count"]["count"].as_i64().is_none_or(|n| n <= 9));
}

#[test]
fn a_damaged_store_is_reported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(&dir.path().join("g.json"), &counter_graph(2, false));
    let file = dir.path().join(".reflow/state/state.redb");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"not a database").unwrap();
    for args in [vec!["run", &graph], vec!["state", "show", &graph], vec!["state", "clear", &graph]] {
        let stderr = reflow_err(&args);
        assert!(stderr.contains("state.redb: the state store is damaged or is not a Reflow state store"), "{stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), b"not a database");
    }
}

#[test]
fn show_and_export_of_a_graph_without_state() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(&dir.path().join("g.json"), &counter_graph(1, false));
    let shown = reflow_ok(&["state", "show", &graph]);
    assert!(shown.stdout.is_empty());
    assert!(String::from_utf8_lossy(&shown.stderr).contains("no state stored in"));
    assert_eq!(export(&graph, &dir.path().join("none").display().to_string())["actors"], json!({}));
    assert!(!dir.path().join(".reflow").exists() && !dir.path().join("none").exists());
}

#[test]
fn a_state_command_on_a_missing_graph_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.json").display().to_string();
    for command in ["show", "export", "clear"] {
        let stderr = reflow_err(&["state", command, &missing]);
        assert!(stderr.contains("typo.json: no such graph file"), "{stderr}");
    }
}

#[test]
fn only_the_commands_that_commit_state_take_a_size_cap() {
    for command in ["show", "export", "clear"] {
        let out = reflow(&["state", command, "examples/graphs/demo.json", "--max-state-bytes", "10"]);
        assert!(!out.status.success(), "state {command} accepted --max-state-bytes");
        assert!(stderr(&out).contains("--max-state-bytes"), "{}", stderr(&out));
    }
    let help = reflow(&["state", "import", "--help"]);
    assert!(stdout(&help).contains("--max-state-bytes"), "{}", stdout(&help));
}
