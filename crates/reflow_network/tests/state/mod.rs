//! Plugin actors with a state store: runs of real graphs over the built example and fixture
//! plugins (`cargo xtask build-plugins`), against both store backends.

use reflow_abi::Message;
use reflow_network::{ActorFailure, Network, Observer, RunOptions, RunReport, StateBinding};
use reflow_script::Limits;
use reflow_state::{ActorKey, ActorRecord, DbStore, MemoryStore, Pending, StateStore, StoreOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn plugin(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins").join(name);
    assert!(path.exists(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
    path.canonicalize().unwrap().display().to_string()
}

/// Writes `graph` (FBP JSON) to `dir/name.json`; `COUNTER` and `PROBE` stand for the plugins.
fn graph_file(dir: &Path, name: &str, graph: Value) -> PathBuf {
    let text = graph.to_string().replace("COUNTER", &plugin("counter.wasm")).replace("PROBE", &plugin("state_probe.wasm"));
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Range 1..=n into a counter's `increment`, its `count` exported.
fn counter_graph(n: i64) -> Value {
    json!({
        "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": n}}},
            "count": {"component": "COUNTER"}
        },
        "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "count", "port": "increment"}}],
        "outports": {"count": {"process": "count", "port": "count"}}
    })
}

type Check = Box<dyn Fn(&str, &Message) + Send + Sync>;

/// Records exported messages; `check` runs on each as it arrives (the sending actor is
/// blocked meanwhile, so the check sees the store exactly as it was when the message left).
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, Value)>>,
    check: Option<Check>,
}

impl Observer for Recorder {
    fn exported(&self, port: &str, message: &Message) {
        if let Some(check) = &self.check {
            check(port, message);
        }
        self.seen.lock().unwrap().push((port.to_string(), message.to_json()["data"].clone()));
    }
    fn failed(&self, _: &ActorFailure) {}
}

fn run(file: &Path, state: Option<StateBinding>, recorder: Arc<Recorder>) -> (Vec<(String, Value)>, RunReport) {
    let mut network = Network::load(file, Limits::default()).unwrap();
    if let Some(binding) = state {
        network = network.with_state(binding);
    }
    let report = network.run(&RunOptions::default(), recorder.clone()).unwrap();
    let seen = std::mem::take(&mut *recorder.seen.lock().unwrap());
    (seen, report)
}

fn binding(store: &Arc<dyn StateStore>, graph: &str) -> Option<StateBinding> {
    Some(StateBinding { store: store.clone(), graph_id: graph.to_string() })
}

fn counts(seen: &[(String, Value)]) -> Vec<i64> {
    seen.iter().map(|(_, v)| v.as_i64().unwrap()).collect()
}

fn stored(store: &dyn StateStore, graph: &str, process: &str) -> Option<ActorRecord> {
    store.load(&ActorKey::new(graph, process)).unwrap()
}

#[test]
fn a_counter_run_twice_continues_counting_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "counter", counter_graph(5));
    let memory: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let (first, _) = run(&file, binding(&memory, "counter"), Arc::default());
    let (second, _) = run(&file, binding(&memory, "counter"), Arc::default());
    assert_eq!(counts(&first), [1, 2, 3, 4, 5]);
    assert_eq!(counts(&second), [6, 7, 8, 9, 10]);

    // The database: closed and reopened between the runs, as separate processes would.
    let state_dir = dir.path().join("state");
    for expected in [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]] {
        let store: Arc<dyn StateStore> = Arc::new(DbStore::open_or_create(&state_dir, StoreOptions::default()).unwrap());
        let (seen, _) = run(&file, binding(&store, "counter"), Arc::default());
        assert_eq!(counts(&seen), expected);
        let record = stored(&*store, "counter", "count").unwrap();
        assert_eq!(record.state, *json!({"count": expected[4]}).as_object().unwrap());
        assert!(record.pending.is_empty(), "a finished run settles its pending messages");
    }
}

#[test]
fn without_a_store_every_run_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "counter", counter_graph(3));
    for _ in 0..2 {
        assert_eq!(counts(&run(&file, None, Arc::default()).0), [1, 2, 3]);
    }
}

#[test]
fn state_is_committed_before_a_message_leaves_the_actor() {
    let dir = tempfile::tempdir().unwrap();
    // The probe's `progress` is sent with __send_output during the call and its `total` returned;
    // its state is written with __set_state only.
    let file = graph_file(
        dir.path(),
        "both",
        json!({
            "processes": {
                "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 20}}},
                "count": {"component": "COUNTER"},
                "probe": {"component": "PROBE"}
            },
            "connections": [
                {"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "count", "port": "increment"}},
                {"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "probe", "port": "add"}}
            ],
            "outports": {
                "count": {"process": "count", "port": "count"},
                "progress": {"process": "probe", "port": "progress"},
                "total": {"process": "probe", "port": "total"}
            }
        }),
    );
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let checked = Arc::new(Mutex::new(0));
    let recorder = {
        let (store, checked) = (store.clone(), checked.clone());
        Recorder {
            seen: Mutex::default(),
            check: Some(Box::new(move |port, message| {
                let state = |process: &str, key: &str| stored(&*store, "both", process).unwrap().state[key].as_i64().unwrap();
                match (port, message) {
                    ("count", Message::Integer(n)) => assert_eq!(state("count", "count"), *n),
                    ("total", Message::Integer(n)) => assert_eq!(state("probe", "total"), *n),
                    // "adding k" is sent before the call returns: the total already includes k.
                    ("progress", Message::String(text)) => {
                        let k: i64 = text.trim_start_matches("adding ").parse().unwrap();
                        assert_eq!(state("probe", "total"), k * (k + 1) / 2, "{text}");
                    }
                    other => panic!("unexpected {other:?}"),
                }
                *checked.lock().unwrap() += 1;
            })),
        }
    };
    let (seen, report) = run(&file, binding(&store, "both"), Arc::new(recorder));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(seen.len(), 60);
    assert_eq!(*checked.lock().unwrap(), 60);
    assert_eq!(stored(&*store, "both", "probe").unwrap().state, *json!({"total": 210}).as_object().unwrap());
}

#[test]
fn a_failed_call_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // add 5, then a trap after a __set_state write, then add 2.
    let file = graph_file(
        dir.path(),
        "trap",
        json!({
            "processes": {"probe": {"component": "PROBE"}},
            "connections": [
                {"data": 5, "tgt": {"process": "probe", "port": "add"}},
                {"data": true, "tgt": {"process": "probe", "port": "trap"}},
                {"data": 2, "tgt": {"process": "probe", "port": "add"}}
            ],
            "outports": {"total": {"process": "probe", "port": "total"}}
        }),
    );
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let (seen, report) = run(&file, binding(&store, "trap"), Arc::default());
    assert_eq!(counts(&seen), [5, 7]);
    assert_eq!(report.failures.len(), 1);
    let record = stored(&*store, "trap", "probe").unwrap();
    assert_eq!(record.state, *json!({"total": 7}).as_object().unwrap(), "the trapped call's write was kept");
}

#[test]
fn a_state_over_the_cap_fails_the_call_and_releases_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "capped", counter_graph(12));
    // {"count":9} is 11 bytes, {"count":10} is 12.
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions { max_state_bytes: 11 }));
    let (seen, report) = run(&file, binding(&store, "capped"), Arc::default());
    assert_eq!(counts(&seen), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(report.failures.len(), 3, "calls 10, 11, 12 each try 9 -> 10");
    assert_eq!(report.failures[0].actor, "count");
    assert!(
        report.failures[0].message.contains("state of 12 bytes exceeds the limit of 11 bytes per actor"),
        "{}",
        report.failures[0].message
    );
    assert_eq!(stored(&*store, "capped", "count").unwrap().state, *json!({"count": 9}).as_object().unwrap());
}

#[test]
fn pending_messages_of_an_interrupted_run_are_delivered_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "counter", counter_graph(2));
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    // What a run killed right after committing count 41 leaves behind.
    let interrupted = ActorRecord {
        state: json!({"count": 41}).as_object().unwrap().clone(),
        pending: vec![Pending { port: "count".into(), message: json!({"type": "Integer", "data": 41}) }],
    };
    store.commit(&ActorKey::new("counter", "count"), &interrupted).unwrap();
    let (seen, _) = run(&file, binding(&store, "counter"), Arc::default());
    assert_eq!(counts(&seen), [41, 42, 43]);
    assert!(stored(&*store, "counter", "count").unwrap().pending.is_empty());
    let (seen, _) = run(&file, binding(&store, "counter"), Arc::default());
    assert_eq!(counts(&seen), [44, 45], "settled messages are not delivered again");
}

#[test]
fn two_graphs_and_two_processes_keep_separate_state() {
    let dir = tempfile::tempdir().unwrap();
    let two_counters = |a: i64, b: i64| {
        json!({
            "processes": {
                "a_numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": a}}},
                "b_numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": b}}},
                "a": {"component": "COUNTER"},
                "b": {"component": "COUNTER"}
            },
            "connections": [
                {"src": {"process": "a_numbers", "port": "out"}, "tgt": {"process": "a", "port": "increment"}},
                {"src": {"process": "b_numbers", "port": "out"}, "tgt": {"process": "b", "port": "increment"}}
            ]
        })
    };
    let first = graph_file(dir.path(), "first", two_counters(2, 3));
    let second = graph_file(dir.path(), "second", two_counters(5, 7));
    let store: Arc<dyn StateStore> = Arc::new(DbStore::open_or_create(&dir.path().join("state"), StoreOptions::default()).unwrap());
    for _ in 0..2 {
        run(&first, binding(&store, &reflow_network::graph_id(&first)), Arc::default());
        run(&second, binding(&store, &reflow_network::graph_id(&second)), Arc::default());
    }
    let count = |graph: &str, process: &str| stored(&*store, graph, process).unwrap().state["count"].as_i64().unwrap();
    assert_eq!([count("first", "a"), count("first", "b"), count("second", "a"), count("second", "b")], [4, 6, 10, 14]);
}

#[test]
fn graph_ids_and_the_default_state_directory() {
    assert_eq!(reflow_network::graph_id(Path::new("examples/graphs/demo.json")), "demo");
    assert_eq!(reflow_network::graph_id(Path::new("my graph.v2.json")), "my graph.v2");
    // One folder, three files: three ids (the loader reads any spelling of `.json`).
    let ids: std::collections::HashSet<String> =
        ["cnt.json", "cnt.JSON", "cnt.JSON.json", "cnt"].iter().map(|f| reflow_network::graph_id(Path::new(f))).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(reflow_network::default_state_dir(Path::new("examples/graphs/demo.json")), Path::new("examples/graphs/.reflow/state"));
    assert_eq!(reflow_network::default_state_dir(Path::new("demo.json")), Path::new(".reflow/state"));
}

#[test]
fn files_whose_names_differ_only_in_the_extensions_spelling_keep_separate_state() {
    let dir = tempfile::tempdir().unwrap();
    let lower = graph_file(dir.path(), "cnt", counter_graph(2));
    let upper = dir.path().join("cnt.JSON");
    std::fs::rename(graph_file(dir.path(), "other", counter_graph(5)), &upper).unwrap();
    let store: Arc<dyn StateStore> = Arc::new(DbStore::open_or_create(&dir.path().join("state"), StoreOptions::default()).unwrap());
    for file in [&lower, &upper] {
        run(file, binding(&store, &reflow_network::graph_id(file)), Arc::default());
    }
    let count = |file: &Path| stored(&*store, &reflow_network::graph_id(file), "count").unwrap().state["count"].as_i64().unwrap();
    assert_eq!([count(&lower), count(&upper)], [2, 5], "each file counted its own messages only");
}
