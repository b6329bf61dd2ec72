//! `reflow run` killed with SIGKILL in the middle of a run, restarted, killed again, and
//! finally run to its end: the checks are the guarantee `docs/state.md` states.
//!
//! The graph feeds 1, 2, 3, ... to a counter (state `{count}`, returned) and to the state
//! probe (state `{total}`, written with `__set_state` during the call), both exported. A run
//! prints each exported message as one line when it is sent, so the lines a killed run
//! printed are exactly what its consumer saw.

use crate::graphs::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

/// Lines of exported `count` and `total` messages, in the order printed.
#[derive(Default, Debug)]
struct Seen {
    counts: Vec<i64>,
    totals: Vec<i64>,
}

impl Seen {
    fn add(&mut self, line: &str) {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("half a line was printed? {line:?}: {e}"));
        let n = line["message"]["data"].as_i64().unwrap();
        match line["port"].as_str().unwrap() {
            "count" => self.counts.push(n),
            "total" => self.totals.push(n),
            other => panic!("unexpected port {other}"),
        }
    }
}

fn run_command(graph: &str, state: &str) -> std::process::Command {
    let mut command = reflow_command();
    command.args(["run", graph, "--state-dir", state, "--checkpoint-interval", "10ms"]);
    command
}

/// Starts `reflow run`, reads until `kill_after` counts were printed, SIGKILLs it, and
/// collects everything it printed before it died.
fn killed_run(graph: &str, state: &str, kill_after: usize) -> Seen {
    let mut child = run_command(graph, state).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Seen::default();
    let mut line = String::new();
    while seen.counts.len() < kill_after {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the run ended before it could be killed: {seen:?}");
        seen.add(line.trim_end());
    }
    // While it runs, the store is locked against another process.
    let stderr = reflow_err(&["state", "show", graph, "--state-dir", state]);
    assert!(stderr.contains("in use by another process"), "{stderr}");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    for line in reader.lines() {
        seen.add(&line.unwrap());
    }
    seen
}

fn committed(graph: &str, state: &str) -> (i64, i64) {
    let actors = &export(graph, state)["actors"];
    (actors["count"]["count"].as_i64().unwrap_or(0), actors["probe"]["total"].as_i64().unwrap_or(0))
}

fn triangle(n: i64) -> i64 {
    n * (n + 1) / 2
}

/// Checks one run's messages of one actor, which resumed from the checkpointed state
/// `before`: one message per step from the step after `before` on, each the state of its
/// step (`step(k)` for the k-th step since the start), with no gap; the checkpoint written
/// during the run (`after`) is a state some printed step had. Returns the last step printed.
fn check_run(what: &str, seen: &[i64], before: i64, after: i64, step: impl Fn(i64) -> i64) -> i64 {
    let first = (1..).find(|&k| step(k) > before).unwrap();
    for (j, value) in seen.iter().enumerate() {
        assert_eq!(*value, step(first + j as i64), "{what}: message {j} of the run resumed from {before}: {seen:?}");
    }
    let last = first + seen.len() as i64 - 1;
    assert!(after == before || (first..=last).any(|k| step(k) == after), "{what}: checkpointed {after}, which no printed step had (printed from {before} on)");
    last
}

#[test]
fn a_run_killed_with_sigkill_resumes_from_its_last_checkpoint_and_ends_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    // Long enough that a SIGKILL after at most 1,500 printed counts lands before the run
    // could finish (with 20,000, a fast executor sometimes finished it first).
    let n = 200_000;
    let graph = write_graph(&dir.path().join("long.json"), &counter_graph(n, true));

    let (mut count, mut total) = (0, 0);
    let mut every_count: Vec<i64> = Vec::new();
    for kill_after in [400, 1500, 70, 900] {
        let seen = killed_run(&graph, &state, kill_after);
        let (count_after, total_after) = committed(&graph, &state);
        check_run("count", &seen.counts, count, count_after, |k| k);
        check_run("total", &seen.totals, total, total_after, triangle);
        let shown = reflow_ok(&["state", "show", &graph, "--state-dir", &state]);
        assert!(String::from_utf8_lossy(&shown.stdout).contains("unfinished run: last checkpoint"), "state show says a run is unfinished");
        every_count.extend(&seen.counts);
        (count, total) = (count_after, total_after);
    }

    let output = reflow_ok(&["run", &graph, "--state-dir", &state]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("resuming the unfinished run") && stderr.contains("s ago"), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (counts, totals) = (exported(&stdout, "count"), exported(&stdout, "total"));
    check_run("count", &counts, count, n, |k| k);
    check_run("total", &totals, total, triangle(n), triangle);
    assert_eq!(counts.last(), Some(&n));
    // Exactly-once state: the uninterrupted run's answer, however often the run was killed.
    assert_eq!(committed(&graph, &state), (n, triangle(n)));
    every_count.extend(&counts);

    // At least once on stdout: every count was printed; a count printed twice was after a
    // killed run's last checkpoint, done again by the resumed run.
    let mut distinct = every_count.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct, (1..=n).collect::<Vec<_>>(), "every count was printed");

    // The finished run left nothing to resume: the next run is a new one, on top of the state.
    let shown = reflow_ok(&["state", "show", &graph, "--state-dir", &state]);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("unfinished"));
}
