//! `reflow run --record`, `reflow trace show|export`, `reflow replay`: what a user sees and
//! the exit codes, on the demo graph.

use crate::support::{plugin, reflow, stderr, stdout};

/// Records the demo graph into `dir/demo.trace`.
fn record_demo(dir: &std::path::Path) -> String {
    let file = dir.join("demo.trace").display().to_string();
    let out = reflow(&["run", "examples/graphs/demo.json", "--ephemeral", "--record", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("records ({} bytes) in {file}", std::fs::metadata(&file).unwrap().len())), "{}", stderr(&out));
    file
}

#[test]
fn replaying_the_demo_counter_finds_no_difference_and_a_counter_by_two_differs_at_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let file = record_demo(dir.path());

    let same = reflow(&["replay", &file, "--process", "count"]);
    assert!(same.status.success(), "{}{}", stdout(&same), stderr(&same));
    assert!(stdout(&same).contains("count: 5 calls replayed on") && stdout(&same).contains("identical"), "{}", stdout(&same));

    let by_two = reflow(&["replay", &file, "--process", "count", "--plugin", &plugin("count_by_two.wasm")]);
    assert_eq!(by_two.status.code(), Some(1), "{}", stdout(&by_two));
    let text = stdout(&by_two);
    assert!(text.contains("count: 5 of 5 calls differ"), "{text}");
    for call in 1..=5 {
        assert!(text.contains(&format!("call {call} (seq ")), "call {call} is reported: {text}");
        assert!(text.contains(&format!("state/count: recorded {}, replayed {}", 100 + call, 101 + call)), "{text}");
    }
    assert!(stderr(&by_two).contains("error: replay differs from the recording: count (5 of 5 calls)"), "{}", stderr(&by_two));

    let all = reflow(&["replay", &file]);
    assert!(all.status.success(), "{}", stdout(&all));
    assert!(stdout(&all).contains("double: 5 calls") && stdout(&all).contains("count: 5 calls"), "{}", stdout(&all));
}

#[test]
fn trace_show_filters_by_process_and_edge_and_export_writes_a_flowtrace() {
    let dir = tempfile::tempdir().unwrap();
    let file = record_demo(dir.path());
    let show = reflow(&["trace", "show", &file, "--process", "count"]);
    assert!(show.status.success(), "{}", stderr(&show));
    let text = stdout(&show);
    assert_eq!(text.matches(" call count: ").count(), 5, "{text}");
    assert_eq!(text.matches(" edge double.output -> count.increment: ").count(), 5, "{text}");
    assert!(!text.contains("call double") && !text.contains("-> print.in"), "{text}");

    let edge = reflow(&["trace", "show", &file, "--edge", "numbers.out->double.input"]);
    let text = stdout(&edge);
    assert_eq!(text.lines().filter(|l| l.contains(" edge ")).count(), 5, "{text}");
    assert!(text.lines().filter(|l| l.contains(" edge ")).all(|l| l.contains("numbers.out -> double.input")), "{text}");

    let export = reflow(&["trace", "export", &file, "--flowtrace"]);
    assert!(export.status.success(), "{}", stderr(&export));
    let trace: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(trace["header"]["main"], "demo");
    assert!(trace["header"]["graphs"]["demo"]["processes"]["count"].is_object());
    let events = trace["events"].as_array().unwrap();
    assert_eq!(events.len(), 15);
    let first = &events[0];
    assert_eq!((first["protocol"].as_str(), first["command"].as_str()), (Some("network"), Some("data")));
    assert_eq!(first["payload"]["id"], "numbers() OUT -> INPUT double()");
    assert_eq!(first["payload"]["data"], 1);
}

#[test]
fn a_cut_or_damaged_recording_is_an_error_naming_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let file = record_demo(dir.path());
    let full = std::fs::read(&file).unwrap();
    std::fs::write(&file, &full[..full.len() - 3]).unwrap();
    for command in [vec!["replay", &file], vec!["trace", "show", &file]] {
        let out = reflow(&command);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let err = stderr(&out);
        assert!(err.contains("truncated at byte offset ") && !err.contains("panicked"), "{err}");
    }
    let mut damaged = full.clone();
    damaged[40] ^= 0xff;
    std::fs::write(&file, &damaged).unwrap();
    let out = reflow(&["replay", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("corrupted record at byte offset 9"), "{}", stderr(&out));
}
