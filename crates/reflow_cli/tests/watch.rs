//! `reflow run --watch` end to end: the binary runs a graph whose plugin file is replaced on
//! disk mid-stream; every message is answered once, in order, by the old version up to some
//! message and by the new one after it, the state carried over. Every step waits for the
//! process's own output (its stdout lines, its stderr reports), never for time.

use super::support::{plugin, root};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// A hang guard for each line awaited (they come within milliseconds, plugins compiled).
const LINE_GUARD: Duration = Duration::from_secs(120);

/// Lines of one of the child's streams, read to the end on a thread of its own.
fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn next(rx: &Receiver<String>, child: &mut Child, what: &str) -> String {
    rx.recv_timeout(LINE_GUARD).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("reflow run printed no {what}")
    })
}

/// `(value, seen)` of one exported line of the scale plugins.
fn answer(line: &str) -> (i64, i64) {
    let json: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let data = &json["message"]["data"];
    (data["value"].as_i64().unwrap_or_else(|| panic!("{line}")), data["seen"].as_i64().unwrap_or_else(|| panic!("{line}")))
}

#[test]
fn a_plugin_replaced_on_disk_is_swapped_into_the_running_graph_between_calls() {
    let dir = tempfile::tempdir().unwrap();
    let scale = dir.path().join("scale.wasm");
    std::fs::copy(plugin("scale_double.wasm"), &scale).unwrap();
    // One number every 2 ms, practically endless: the run goes on until it is stopped.
    let graph = dir.path().join("watched.json");
    std::fs::write(
        &graph,
        r#"{"processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 100000000, "interval_ms": 2}}},
            "scale": {"component": "scale.wasm"}},
          "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "scale", "port": "in"}}],
          "outports": {"out": {"process": "scale", "port": "out"}}}"#,
    )
    .unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_reflow"))
        .arg("run")
        .arg(&graph)
        .args(["--watch", "--ephemeral"])
        .current_dir(root())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reflow starts");
    let out = lines(run.stdout.take().unwrap());
    let err = lines(run.stderr.take().unwrap());
    let watching = next(&err, &mut run, "watching line");
    assert_eq!(watching, "reflow: watching 1 plugin(s) for changes");

    let mut answers = Vec::new();
    while answers.len() < 20 {
        answers.push(answer(&next(&out, &mut run, "answer")));
    }
    // A build writes the new file elsewhere and moves it in; a broken one first (refused,
    // the doubler goes on), then the tripler.
    let replace = |bytes: &[u8]| {
        let staged = dir.path().join("scale.wasm.new");
        std::fs::write(&staged, bytes).unwrap();
        std::fs::rename(&staged, &scale).unwrap();
    };
    replace(b"not a wasm module");
    let refused = next(&err, &mut run, "refusal");
    assert!(refused.starts_with("error: ") && refused.contains("scale.wasm: refused, the running version stays"), "{refused}");
    let before_swap = answers.len();
    answers.push(answer(&next(&out, &mut run, "answer after the refusal")));
    replace(&std::fs::read(plugin("scale_triple.wasm")).unwrap());
    let swapped = next(&err, &mut run, "swap report");
    assert!(swapped.contains("scale.wasm changed: swapped into scale"), "{swapped}");
    // Answers until 20 triples came, then Ctrl-C: the source stops, what is in flight finishes.
    let mut triples = 0;
    while triples < 20 {
        let (value, seen) = answer(&next(&out, &mut run, "answer after the swap"));
        triples += usize::from(value == 3 * seen);
        answers.push((value, seen));
    }
    let interrupted = Command::new("kill").args(["-INT", &run.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let status = run.wait().unwrap();
    answers.extend(out.iter().map(|line| answer(&line)));
    let report: Vec<String> = err.iter().collect();
    assert!(status.success(), "{status}: {report:?}");

    // Every message once, in order, the calls counted across the swap (the state was kept):
    // the k-th answer says it is the k-th call, and answers k.
    let first_triple = answers.iter().position(|&(value, seen)| value == 3 * seen).unwrap();
    assert!(first_triple > before_swap, "the swap came after the refused version: {first_triple} <= {before_swap}");
    for (i, &(value, seen)) in answers.iter().enumerate() {
        let n = i as i64 + 1;
        let factor = if i < first_triple { 2 } else { 3 };
        assert_eq!((value, seen), (factor * n, n), "answer {n}: doubles up to answer {first_triple}, triples after, none lost or repeated");
    }
    let table = report.iter().find(|l| l.starts_with("scale ")).unwrap_or_else(|| panic!("{report:?}"));
    let calls: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(calls[1].parse::<usize>().unwrap(), answers.len(), "scale received every number once: {table}");
}
