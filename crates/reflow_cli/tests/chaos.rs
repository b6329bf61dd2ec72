//! The chaos test of docs/state.md's guarantee: a graph with a built-in source of 10,000
//! numbers, a 3-stage WASM pipeline, the counter, the state probe, a feedback loop and a
//! `WriteJsonLines` file sink, SIGKILLed at seeded random moments and restarted each time,
//! then run to its end. Its final state must be an uninterrupted run's, actor for actor, and
//! its sink file byte-identical.
//!
//! Kill moments are of three kinds, chosen by the seed: a random delay after the start (not a
//! synchronisation: any moment is a valid kill point), the moment the child reports on
//! stderr that it starts writing its n-th checkpoint (a kill during a checkpoint's write), and
//! the moment it reports resuming an unfinished run (a kill during recovery).
//! `REFLOW_CHAOS_KILLS` sets the number of kills (default 10; the run is 100) and
//! `REFLOW_CHAOS_SEED` the seed (default: from the clock); both are printed.

use crate::graphs::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A hang guard, not a synchronisation: a child that never reports what it is waited for.
const HANG_GUARD: Duration = Duration::from_secs(120);

const N: i64 = 10_000;

/// splitmix64: a seeded sequence, so that a failing seed can be run again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn chaos_graph() -> Value {
    let p = |name: &str| json!({"component": plugin(name)});
    let edge = |from: &str, out: &str, to: &str, inport: &str| json!({"src": {"process": from, "port": out}, "tgt": {"process": to, "port": inport}});
    json!({
        "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": N}}},
            "d1": p("doubler.wasm"), "d2": p("doubler.wasm"), "d3": p("doubler.wasm"),
            "count": p("counter.wasm"),
            "probe": p("state_probe.wasm"),
            "loop": p("countdown.wasm"),
            "sink": {"component": "reflow/WriteJsonLines", "metadata": {"config": {"path": "sink.jsonl"}}}
        },
        "connections": [
            edge("numbers", "out", "d1", "input"), edge("d1", "output", "d2", "input"), edge("d2", "output", "d3", "input"),
            edge("d3", "output", "sink", "in"), edge("d3", "output", "count", "increment"), edge("d3", "output", "probe", "add"),
            edge("numbers", "out", "loop", "in"), edge("loop", "again", "loop", "in"), edge("loop", "tick", "count", "increment")
        ]
    })
}

/// `reflow run` of the graph in `dir` (checkpointed every `interval`), with stderr piped.
fn start(dir: &Path, interval: &str) -> Child {
    reflow_command()
        .args(["run", "chaos.json", "--state-dir", "state", "--checkpoint-interval", interval])
        .current_dir(dir)
        .env("RUST_LOG", "warn,extism=off,reflow_network::scheduler::checkpoint=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a stderr line containing `pattern` (the `nth` one); false if the child ended first.
fn wait_for(lines: &mpsc::Receiver<String>, pattern: &str, nth: u64) -> bool {
    let mut seen = 0;
    loop {
        match lines.recv_timeout(HANG_GUARD) {
            Ok(line) if line.contains(pattern) => {
                seen += 1;
                if seen >= nth {
                    return true;
                }
            }
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("hang guard: no {pattern:?} in {HANG_GUARD:?}"),
        }
    }
}

/// SIGKILLs `child`; true if it had ended by itself first, its run finished.
fn kill(mut child: Child) -> bool {
    let _ = child.kill(); // SIGKILL; the child may have ended already
    child.wait().unwrap().success()
}

/// Whether the run in `dir` finished, as its store says: a run killed after its last
/// checkpoint but before it exited has finished too, and another run would be a new one on
/// top of it. A store holding actor states and no unfinished run is a finished run's (a run
/// killed before its first checkpoint leaves the store as the round began: empty).
fn finished_in_store(dir: &Path) -> bool {
    let graph = dir.join("chaos.json").display().to_string();
    let state = dir.join("state").display().to_string();
    let shown = reflow_ok(&["state", "show", &graph, "--state-dir", &state]);
    let unfinished = String::from_utf8_lossy(&shown.stdout).contains("unfinished run");
    !unfinished && export(&graph, &state)["actors"].as_object().is_some_and(|actors| !actors.is_empty())
}

/// The final state and sink of the graph in `dir`.
fn outcome(dir: &Path) -> (Value, Vec<u8>) {
    let graph = dir.join("chaos.json").display().to_string();
    let state = dir.join("state").display().to_string();
    let shown = reflow_ok(&["state", "show", &graph, "--state-dir", &state]);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("unfinished run"), "the last run finished");
    (export(&graph, &state)["actors"].clone(), std::fs::read(dir.join("sink.jsonl")).unwrap())
}

fn setup(name: &str, root: &Path) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    write_graph(&dir.join("chaos.json"), &chaos_graph());
    dir
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")))
}

#[test]
fn a_graph_killed_at_random_moments_ends_exactly_as_an_uninterrupted_run() {
    let kills = env_number("REFLOW_CHAOS_KILLS").unwrap_or(10) as u32;
    let seed = env_number("REFLOW_CHAOS_SEED").unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    eprintln!("chaos: {kills} kills, seed {seed} (REFLOW_CHAOS_SEED={seed} runs it again)");
    let root = tempfile::tempdir().unwrap();

    let reference = setup("reference", root.path());
    let began = std::time::Instant::now();
    let status = start(&reference, "1s").wait().unwrap();
    assert!(status.success());
    // Only the scale of the random delays: any moment of a run is a valid kill point.
    let run_ms = began.elapsed().as_millis().max(1) as u64;
    let (want_state, want_sink) = outcome(&reference);
    let ticks: i64 = (1..=N).map(|n| n % 4 + 1).sum();
    assert_eq!(want_state["count"]["count"], json!(N + ticks), "the reference run is the graph's answer");
    assert_eq!(want_state["probe"]["total"], json!(8 * N * (N + 1) / 2));
    assert_eq!(want_sink.iter().filter(|&&b| b == b'\n').count(), N as usize);

    // Rounds: kill and restart until a run finishes, compare with the reference, start the
    // graph over (`reflow state clear`, sink removed), until `kills` kills were made.
    let chaos = setup("chaos", root.path());
    let mut rng = Rng(seed);
    let (mut during_write, mut during_recovery, mut killed, mut rounds) = (0, 0, 0, 0);
    while killed < kills {
        rounds += 1;
        let mut finished = false;
        while killed < kills && !finished {
            let mut child = start(&chaos, "5ms");
            let stderr = stderr_lines(&mut child);
            match rng.below(3) {
                0 => std::thread::sleep(Duration::from_millis(rng.below(run_ms / 2 + 1))),
                1 => during_write += u32::from(wait_for(&stderr, "checkpoint: writing", 1 + rng.below(20))),
                _ => during_recovery += u32::from(wait_for(&stderr, "resuming the unfinished run", 1)),
            }
            // A run that ended by itself is done: another would be a new run on top of it.
            let exited = kill(child);
            killed += u32::from(!exited);
            finished = exited || finished_in_store(&chaos);
        }
        if !finished {
            let status = start(&chaos, "5ms").wait().unwrap();
            assert!(status.success(), "the last run finishes");
        }
        let (state, sink) = outcome(&chaos);
        assert_eq!(state, want_state, "seed {seed}, round {rounds}: every actor's final state is the uninterrupted run's");
        assert!(sink == want_sink, "seed {seed}, round {rounds}: the sink file is byte-identical to the uninterrupted run's ({} vs {} bytes)", sink.len(), want_sink.len());
        let graph = chaos.join("chaos.json").display().to_string();
        reflow_ok(&["state", "clear", &graph, "--state-dir", &chaos.join("state").display().to_string()]);
        std::fs::remove_file(chaos.join("sink.jsonl")).unwrap();
    }
    eprintln!("chaos: {killed} kills over {rounds} round(s), {during_write} at a checkpoint's write, {during_recovery} during recovery");
}

#[test]
fn a_store_truncated_as_by_a_power_loss_is_refused_or_recovers_a_whole_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let reference = setup("reference", root.path());
    assert!(start(&reference, "1s").wait().unwrap().success());
    let (want_state, want_sink) = outcome(&reference);

    let chaos = setup("chaos", root.path());
    let mut child = start(&chaos, "5ms");
    let stderr = stderr_lines(&mut child);
    assert!(wait_for(&stderr, "checkpoint: written", 20), "the run checkpoints");
    kill(child);
    let store = chaos.join("state").join("state.redb");
    let length = std::fs::metadata(&store).unwrap().len();
    let saved = std::fs::read(&store).unwrap();
    let graph = chaos.join("chaos.json").display().to_string();
    let state = chaos.join("state").display().to_string();
    for cut in [length / 2, length - 1, 4096.min(length - 1)] {
        std::fs::write(&store, &saved[..cut as usize]).unwrap();
        let output = reflow_command().args(["run", &graph, "--state-dir", &state]).current_dir(&chaos).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            // Recovered: from a whole checkpoint, so the answer is the uninterrupted one.
            assert_eq!(outcome(&chaos), (want_state.clone(), want_sink.clone()), "cut at {cut} of {length} bytes");
        } else {
            assert!(stderr.contains("the state store is damaged") && stderr.contains("left untouched"), "cut at {cut}: {stderr}");
            assert_eq!(std::fs::read(&store).unwrap(), &saved[..cut as usize], "a refused store is not rewritten");
        }
    }
    // The whole file back: the run resumes and ends as the uninterrupted one.
    std::fs::write(&store, &saved).unwrap();
    assert!(reflow_command().args(["run", &graph, "--state-dir", &state]).current_dir(&chaos).status().unwrap().success());
    assert_eq!(outcome(&chaos), (want_state, want_sink));
}
