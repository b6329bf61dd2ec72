//! `reflow worker`, `reflow run --nats` and `reflow cluster status` as a user runs them:
//! three worker processes on a real nats-server (`cargo xtask nats`), a graph run on them to
//! the single-process answer, a worker SIGKILLed in the middle of a run and its part taken
//! over with nothing lost or applied twice, and the errors of bad input.

use crate::graphs::*;
use reflow_state::{ActorKey, NatsStore, StateStore, StoreOptions};
use reflow_test_nats::NatsServer;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A hang guard, not a synchronisation: a child that never reports what it is waited for.
const HANG_GUARD: Duration = Duration::from_secs(120);

const N: i64 = 20_000;

/// numbers (1..=N) -> six doublers -> counter -> sink, the sink pinned to w3. Placed on three
/// workers: numbers, d1, d2 on w1; d3, d4, d5 on w2; d6, count and the sink on w3.
fn pipeline() -> Value {
    let mut processes = serde_json::Map::new();
    processes.insert("numbers".into(), json!({"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": N}}}));
    let mut connections = Vec::new();
    let mut previous = ("numbers".to_string(), "out");
    for i in 1..=6 {
        let stage = format!("d{i}");
        processes.insert(stage.clone(), json!({"component": plugin("doubler.wasm")}));
        connections.push(json!({"src": {"process": previous.0, "port": previous.1}, "tgt": {"process": stage, "port": "input"}}));
        previous = (stage, "output");
    }
    processes.insert("count".into(), json!({"component": plugin("counter.wasm")}));
    connections.push(json!({"src": {"process": previous.0, "port": previous.1}, "tgt": {"process": "count", "port": "increment"}}));
    processes.insert("sink".into(), json!({"component": "reflow/WriteJsonLines", "metadata": {"worker": "w3", "config": {"path": "sink.jsonl"}}}));
    connections.push(json!({"src": {"process": "count", "port": "count"}, "tgt": {"process": "sink", "port": "in"}}));
    json!({"caseSensitive": true, "processes": processes, "connections": connections})
}

/// A worker process; SIGKILLed when dropped (a test that fails leaves none behind).
struct Worker {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn start(url: &str, name: &str) -> Worker {
        let mut child = reflow_command()
            .args(["worker", "--nats", url, "--name", name, "--lease-ttl", "2s", "--checkpoint-interval", "20ms"])
            .env("RUST_LOG", "warn,extism=off,reflow_network::scheduler::checkpoint=debug,reflow_cluster=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = stderr_lines(&mut child);
        let worker = Worker { child, lines };
        worker.wait_for("joined the cluster", 1);
        worker
    }

    /// Waits for the `nth` stderr line containing `pattern`.
    fn wait_for(&self, pattern: &str, nth: usize) {
        let mut seen = 0;
        while seen < nth {
            match self.lines.recv_timeout(HANG_GUARD) {
                Ok(line) if line.contains(pattern) => seen += 1,
                Ok(_) => {}
                Err(e) => panic!("no {pattern:?} from the worker ({e:?}; hang guard {HANG_GUARD:?})"),
            }
        }
    }

    /// Everything it printed so far.
    fn printed(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The single-process answer: the counter's final state and the sink file.
fn reference(dir: &Path) -> (Value, Vec<u8>) {
    let graph = write_graph(&dir.join("pipeline.json"), &pipeline());
    let state = dir.join("state").display().to_string();
    reflow_ok(&["run", &graph, "--state-dir", &state]);
    (export(&graph, &state)["actors"]["count"].clone(), std::fs::read(dir.join("sink.jsonl")).unwrap())
}

/// The counter's state as the cluster left it (its part is `pipeline@w3`, docs/cluster.md).
/// The single-process answer (counter state, sink file), and the cluster run's folder with
/// the same graph in it.
fn set_up(dir: &Path) -> (Value, Vec<u8>, std::path::PathBuf, String) {
    let (want_count, want_sink) = reference(dir);
    let cluster = dir.join("cluster");
    std::fs::create_dir(&cluster).unwrap();
    let graph = write_graph(&cluster.join("pipeline.json"), &pipeline());
    (want_count, want_sink, cluster, graph)
}

fn cluster_count(url: &str) -> Value {
    let store = NatsStore::connect(url, "reflow_state", StoreOptions::default()).unwrap();
    Value::Object(store.load(&ActorKey::new("pipeline@w3", "count")).unwrap().expect("the counter's state").state)
}

fn submit(graph: &str, url: &str) -> Child {
    reflow_command().args(["run", graph, "--nats", url]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finished(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "reflow run --nats failed:\n{stderr}");
    stderr
}

#[test]
fn three_workers_run_a_graph_to_the_single_process_answer_and_status_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let (want_count, want_sink, cluster, graph) = set_up(dir.path());
    let server = NatsServer::start();
    let url = server.url();
    let _workers: Vec<Worker> = ["w1", "w2", "w3"].iter().map(|w| Worker::start(&url, w)).collect();

    let status = reflow_ok(&["cluster", "status", "--nats", &url]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.starts_with("workers: 3\n") && status.contains("  w2 (reflow "), "{status}");

    let stderr = finished(submit(&graph, &url));
    assert!(stderr.contains("ran on 3 worker(s): w1, w2, w3"), "{stderr}");
    assert_eq!(cluster_count(&url), want_count);
    assert!(std::fs::read(cluster.join("sink.jsonl")).unwrap() == want_sink, "the sink file differs from the single-process run's");
}

#[test]
fn a_worker_killed_mid_run_is_taken_over_and_the_answer_is_the_uninterrupted_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (want_count, want_sink, cluster, graph) = set_up(dir.path());
    let server = NatsServer::start();
    let url = server.url();
    let w1 = Worker::start(&url, "w1");
    let mut w2 = Worker::start(&url, "w2");
    let w3 = Worker::start(&url, "w3");

    let run = submit(&graph, &url);
    // w2 (three stages between an incoming and an outgoing edge) has written a few
    // checkpoints of its part: it is in the middle of the run. SIGKILL.
    w2.wait_for("checkpoint: written", 5);
    w2.child.kill().unwrap();
    w2.child.wait().unwrap();
    let stderr = finished(run);
    assert!(stderr.contains("ran on 3 worker(s)"), "{stderr}");

    let said: Vec<String> = w1.printed().into_iter().chain(w3.printed()).collect();
    assert!(said.iter().any(|l| l.contains("worker \"w2\" left the cluster: taking over its part")), "nobody took w2's part over:\n{}", said.join("\n"));
    assert!(said.iter().any(|l| l.contains("resuming part \"w2\" from its checkpoint")), "w2's part started afresh:\n{}", said.join("\n"));
    assert_eq!(cluster_count(&url), want_count, "nothing lost or applied twice");
    assert!(std::fs::read(cluster.join("sink.jsonl")).unwrap() == want_sink, "the sink file differs from the uninterrupted run's");
}

#[test]
fn bad_input_is_a_clear_error() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = format!("nats://127.0.0.1:{port}");
    let error = reflow_err(&["worker", "--nats", &nowhere, "--name", "w1"]);
    assert!(error.starts_with(&format!("error: {nowhere}: cannot connect to NATS")), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(&dir.path().join("g.json"), &pipeline());
    let error = reflow_err(&["run", &graph, "--nats", &nowhere]);
    assert!(error.starts_with(&format!("error: {nowhere}: cannot connect to NATS")), "{error}");

    let server = NatsServer::start();
    let url = server.url();
    // No worker: nowhere to place the graph.
    let error = reflow_err(&["run", &graph, "--nats", &url]);
    assert!(error.contains("no live worker to place process \"numbers\" on"), "{error}");
    let _w1 = Worker::start(&url, "w1");
    // A broken graph file is named, and nothing is submitted.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"processes\": ").unwrap();
    let error = reflow_err(&["run", &broken.display().to_string(), "--nats", &url]);
    assert!(error.starts_with("error: ") && error.contains("broken.json"), "{error}");
    // A pin to a worker that is not there.
    let error = reflow_err(&["run", &graph, "--nats", &url]);
    assert!(error.contains("process \"sink\" is pinned to worker \"w3\" (metadata.worker), which is not live; live: [\"w1\"]"), "{error}");
    // A worker name already taken.
    let error = reflow_err(&["worker", "--nats", &url, "--name", "w1"]);
    assert!(error.contains("a live worker already has this name"), "{error}");
}
