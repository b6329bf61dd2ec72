//! `reflow run` killed with SIGKILL in the middle of long runs, restarted, killed again, and
//! finally run to its end: the checks are the guarantee `docs/state.md` states.
//!
//! The graph feeds 1, 2, 3, ... to a counter (state `{count}`, returned) and to the state
//! probe (state `{total}`, written with `__set_state` during the call), both exported. A run
//! prints each exported message as one line as it is released, so the lines a killed run
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

/// Starts `reflow run`, reads until `kill_after` counts were printed, SIGKILLs it, and
/// collects everything it printed before it died.
fn killed_run(graph: &str, state: &str, kill_after: usize) -> Seen {
    let mut child = reflow_command()
        .args(["run", graph, "--state-dir", state])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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

/// Checks one run's messages of one actor against the store before (`before`) and after
/// (`after`) it: the last committed step's message first if there was one (redelivery), then
/// one message per step, each the state that step committed (`step(before, j)` for the j-th
/// step, from 1). Returns how many steps were seen.
fn check_run(what: &str, seen: &[i64], before: i64, after: i64, step: impl Fn(i64, i64) -> i64, finished: bool) -> i64 {
    let mut fresh = seen;
    if before != 0 {
        assert_eq!(seen.first(), Some(&before), "{what}: the last committed step's message is delivered again first");
        fresh = &seen[1..];
    }
    for (j, value) in fresh.iter().enumerate() {
        assert_eq!(*value, step(before, j as i64 + 1), "{what}: step {} of {seen:?}", j + 1);
    }
    let steps = fresh.len() as i64;
    // Every message seen was committed, and at most one more step was committed but not seen
    // (the process died between the commit and the message's release).
    let seen_state = step(before, steps);
    if finished {
        assert_eq!(after, seen_state, "{what}: a finished run committed exactly what it released");
    } else {
        assert!(
            after == seen_state || after == step(before, steps + 1),
            "{what}: committed {after}, last seen {seen_state}: a state update was lost or half-applied"
        );
    }
    steps
}

#[test]
fn a_run_killed_with_sigkill_resumes_from_its_last_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").display().to_string();
    let path = dir.path().join("long.json");
    let graph = write_graph(&path, &counter_graph(1_000_000, true));

    let (mut count, mut total) = (0, 0);
    let mut every_count = Vec::new();
    let mut redelivered = Vec::new();
    for kill_after in [40, 150, 7, 90] {
        let seen = killed_run(&graph, &state, kill_after);
        let (count_after, total_after) = committed(&graph, &state);
        check_run("count", &seen.counts, count, count_after, |before, j| before + j, false);
        check_run("total", &seen.totals, total, total_after, |before, j| before + triangle(j), false);
        if count != 0 {
            redelivered.push(count);
        }
        every_count.extend(&seen.counts);
        (count, total) = (count_after, total_after);
    }

    // The same graph (same file, so the same state), now short enough to finish.
    write_graph(&path, &counter_graph(30, true));
    let output = reflow_ok(&["run", &graph, "--state-dir", &state]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (counts, totals) = (exported(&stdout, "count"), exported(&stdout, "total"));
    let (count_after, total_after) = committed(&graph, &state);
    assert_eq!(check_run("count", &counts, count, count_after, |before, j| before + j, true), 30);
    assert_eq!(check_run("total", &totals, total, total_after, |before, j| before + triangle(j), true), 30);
    redelivered.push(count);
    every_count.extend(&counts);

    // Across all runs a consumer saw every count from 1 to the last, and saw one twice only if
    // it was the last committed step of a killed run, delivered again at the restart.
    let last = count_after;
    let mut sorted = every_count.clone();
    sorted.sort();
    let mut distinct = sorted.clone();
    distinct.dedup();
    assert_eq!(distinct, (1..=last).collect::<Vec<_>>(), "every committed count was seen");
    let mut twice: Vec<i64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    twice.dedup();
    assert!(twice.iter().all(|n| redelivered.contains(n)), "seen twice: {twice:?}, redelivered: {redelivered:?}");

    // The finished run settled its pending messages: nothing to deliver again.
    let shown = reflow_ok(&["state", "show", &graph, "--state-dir", &state]);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("deliver again"));
}
