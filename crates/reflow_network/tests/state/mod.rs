//! Plugin actors with a state store: runs of real graphs over the built example and fixture
//! plugins (`cargo xtask build-plugins`), against both store backends.

use reflow_abi::Message;
use reflow_network::{ActorFailure, Network, Observer, RunOptions, RunReport, StateBinding};
use reflow_script::Limits;
use reflow_state::{ActorKey, ActorRecord, DbStore, MemoryStore, StateStore, StoreOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn plugin(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins").join(name);
    assert!(path.exists(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
    path.canonicalize().unwrap().display().to_string()
}

/// Writes `graph` (FBP JSON) to `dir/name.json`; `COUNTER` and `PROBE` stand for the plugins.
pub(crate) fn graph_file(dir: &Path, name: &str, graph: Value) -> PathBuf {
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
        assert_eq!(store.unfinished_run("counter").unwrap(), None, "a finished run leaves nothing to resume");
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

/// Range 1..=n -> counter -> WriteJsonLines `out.jsonl`, plus Range -> probe.
pub(crate) fn sink_graph(n: i64) -> Value {
    json!({
        "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": n}}},
            "count": {"component": "COUNTER"},
            "probe": {"component": "PROBE"},
            "sink": {"component": "reflow/WriteJsonLines", "metadata": {"config": {"path": "out.jsonl"}}}
        },
        "connections": [
            {"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "count", "port": "increment"}},
            {"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "probe", "port": "add"}},
            {"src": {"process": "count", "port": "count"}, "tgt": {"process": "sink", "port": "in"}}
        ],
        "outports": {"count": {"process": "count", "port": "count"}}
    })
}

/// Raises `halt` once `after` counts were exported: the run ends at once, as if killed (its
/// last periodic checkpoint is what the store keeps).
fn halting_at(after: i64, halt: reflow_network::Halt) -> Recorder {
    Recorder {
        seen: Mutex::default(),
        check: Some(Box::new(move |_, message| {
            if matches!(message, Message::Integer(n) if *n == after) {
                halt.raise();
            }
        })),
    }
}

#[test]
fn a_run_stopped_mid_way_resumes_from_its_checkpoint_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "sink", sink_graph(3000));
    let sink = dir.path().join("out.jsonl");
    let reference: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    run(&file, binding(&reference, "sink"), Arc::default());
    let want = std::fs::read(&sink).unwrap();
    std::fs::remove_file(&sink).unwrap();

    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let mut stops = 0;
    for after in [700, 1900] {
        let halt = reflow_network::Halt::new();
        let network = Network::load(&file, Limits::default()).unwrap().with_state(binding(&store, "sink").unwrap()).with_checkpoint_interval(std::time::Duration::from_millis(1));
        let options = RunOptions { halt: Some(halt.clone()), queue_capacity: 4, ..RunOptions::default() };
        let report = network.run(&options, Arc::new(halting_at(after, halt))).unwrap();
        assert!(report.failures.is_empty() && report.checkpoint_failed.is_none(), "{report:?}");
        if store.unfinished_run("sink").unwrap().is_some() {
            stops += 1;
        }
    }
    assert!(stops > 0, "a run stopped mid-way leaves an unfinished run");
    let network = Network::load(&file, Limits::default()).unwrap().with_state(binding(&store, "sink").unwrap());
    let prepared = network.prepare().unwrap();
    assert!(prepared.resumed.is_some());
    let report = network.run_prepared(prepared, &RunOptions::default(), Arc::new(Recorder::default()));
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(store.unfinished_run("sink").unwrap(), None);
    for (process, key) in [("count", "count"), ("probe", "total")] {
        assert_eq!(stored(&*store, "sink", process), stored(&*reference, "sink", process), "{process}.{key}: no update lost or applied twice");
    }
    assert!(std::fs::read(&sink).unwrap() == want, "the sink file is byte-identical to the uninterrupted run's");
}

#[test]
fn a_graph_changed_incompatibly_since_the_checkpoint_is_refused_naming_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "sink", sink_graph(100_000));
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let halt = reflow_network::Halt::new();
    let network = Network::load(&file, Limits::default()).unwrap().with_state(binding(&store, "sink").unwrap()).with_checkpoint_interval(std::time::Duration::from_millis(1));
    let options = RunOptions { halt: Some(halt.clone()), ..RunOptions::default() };
    network.run(&options, Arc::new(halting_at(5000, halt))).unwrap();
    assert!(store.unfinished_run("sink").unwrap().is_some());

    let mut changed = sink_graph(100_000);
    changed["connections"].as_array_mut().unwrap().remove(1);
    changed["processes"].as_object_mut().unwrap().remove("probe");
    let file = graph_file(dir.path(), "sink", changed);
    let network = Network::load(&file, Limits::default()).unwrap().with_state(binding(&store, "sink").unwrap());
    let message = network.prepare().err().expect("refused").to_string();
    assert!(message.contains("connection numbers.out -> probe.add was removed"), "{message}");
    assert!(message.contains(r#"process "probe" was removed"#), "{message}");
    assert!(message.contains("reflow state clear"), "{message}");
    // Adding a process is not a change a checkpoint cannot survive.
    let mut added = sink_graph(100_000);
    added["processes"]["extra"] = json!({"component": "core/Drop"});
    let file = graph_file(dir.path(), "sink", added);
    let network = Network::load(&file, Limits::default()).unwrap().with_state(binding(&store, "sink").unwrap());
    assert!(network.prepare().unwrap().resumed.is_some());
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
fn a_state_over_the_cap_fails_the_checkpoint_and_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph_file(dir.path(), "capped", counter_graph(12));
    // {"count":9} is 11 bytes, {"count":10} is 12.
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions { max_state_bytes: 11 }));
    let (_, report) = run(&file, binding(&store, "capped"), Arc::default());
    let reason = report.checkpoint_failed.expect("the checkpoint of {\"count\":12} fails");
    assert!(reason.contains(r#"process "count": state of 12 bytes exceeds the limit of 11 bytes per actor"#), "{reason}");
    assert!(stored(&*store, "capped", "count").is_none_or(|r| r.state["count"].as_i64().unwrap() <= 9), "no state over the cap was written");
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
