//! Recording a run, replaying an actor's calls on the same or a new plugin, and swapping a
//! plugin into a running network (plugins from `cargo xtask build-plugins`).

use crate::run::support::{network, plugins_dir, Collector};
use reflow_abi::Message;
use reflow_network::replay::replay;
use reflow_network::{ActorFailure, Network, Observer, ReloadError, RunOptions};
use reflow_script::Limits;
use reflow_trace::{read_all, Record};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn demo_graph() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/graphs/demo.json")
}

/// Runs `network` recorded into `file`; returns what the graph exported.
fn record(mut network: Network, file: &Path) -> Vec<(String, Message)> {
    let writer = network.record_to(file).unwrap();
    let collector = Arc::new(Collector::default());
    let report = network.run(&RunOptions::default(), collector.clone()).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let summary = writer.finish().unwrap();
    assert_eq!(summary.bytes, std::fs::metadata(file).unwrap().len());
    let exported = std::mem::take(&mut *collector.exported.lock().unwrap());
    exported
}

#[test]
fn the_demo_counter_replays_identically_and_a_counter_by_two_differs_at_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.trace");
    record(Network::load(&demo_graph(), Limits::default()).unwrap(), &file);
    let (start, records) = read_all(&file).unwrap();
    let edges = records.iter().filter(|(_, r)| matches!(r, Record::Edge(_))).count();
    assert_eq!(edges, 15, "5 numbers into double, 5 doubles each to print and to count");

    let same = replay(&start, &records, "count", None, None).unwrap();
    assert_eq!(same.calls, 5);
    assert!(same.identical(), "{:?}", same.diffs);

    let by_two = plugins_dir().join("count_by_two.wasm");
    let changed = replay(&start, &records, "count", Some(&by_two), None).unwrap();
    assert_eq!(changed.diffs.iter().map(|d| d.call).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    for (i, diff) in changed.diffs.iter().enumerate() {
        // Each call starts from the recorded state (100 + i) and adds 2, not 1.
        let state = diff.differences.iter().find(|d| d.at == "state/count").unwrap_or_else(|| panic!("{diff}"));
        assert_eq!((state.recorded.clone(), state.replayed.clone()), (Value::from(101 + i), Value::from(102 + i)), "{diff}");
        assert!(diff.differences.iter().any(|d| d.at == "outputs[0]/count/data"), "{diff}");
    }
}

#[test]
fn a_wasi_plugin_that_reads_clocks_and_random_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("entropy.trace");
    let graph = r#"{
        "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 20}}},
            "read": {"component": "entropy.wasip1.wasm"}
        },
        "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "read", "port": "in"}}],
        "outports": {"out": {"process": "read", "port": "out"}}
    }"#;
    let exported = record(network(graph), &file);
    let randoms: std::collections::BTreeSet<String> = exported.iter().map(|(_, m)| m.to_json()["data"]["random"].to_string()).collect();
    assert_eq!(randoms.len(), 20, "every call read fresh random bytes: {exported:?}");
    let (start, records) = read_all(&file).unwrap();
    let calls: Vec<_> = records.iter().filter_map(|(_, r)| if let Record::Call(c) = r { Some(c) } else { None }).collect();
    assert_eq!(calls.len(), 20);
    assert!(calls.iter().all(|c| c.entropy.len() >= 3), "wall clock, monotonic clock and random each read: {:?}", calls[0].entropy);

    let again = replay(&start, &records, "read", None, None).unwrap();
    assert_eq!(again.calls, 20);
    assert!(again.identical(), "{}", again.diffs.iter().map(|d| d.to_string()).collect::<String>());
}

/// Swaps the tripler in once the sink has seen `swap_after` outputs, and tries two broken
/// replacements before that.
struct Swapper {
    collector: Collector,
    reloader: reflow_network::Reloader,
    swap_after: usize,
    seen: Mutex<usize>,
    refusals: Mutex<Vec<ReloadError>>,
    swapped: Mutex<Option<Vec<String>>>,
}

impl Observer for Swapper {
    fn exported(&self, port: &str, message: &Message) {
        self.collector.exported(port, message);
        let mut seen = self.seen.lock().unwrap();
        *seen += 1;
        let double = plugins_dir().join("scale_double.wasm");
        if *seen == self.swap_after / 2 {
            let mut refusals = self.refusals.lock().unwrap();
            refusals.push(self.reloader.replace(&double, b"not a wasm module".to_vec()).unwrap_err());
            let no_in_port = std::fs::read(plugins_dir().join("counter.wasm")).unwrap();
            refusals.push(self.reloader.replace(&double, no_in_port).unwrap_err());
        }
        if *seen == self.swap_after {
            let triple = std::fs::read(plugins_dir().join("scale_triple.wasm")).unwrap();
            *self.swapped.lock().unwrap() = Some(self.reloader.replace(&double, triple).unwrap());
        }
    }

    fn failed(&self, failure: &ActorFailure) {
        self.collector.failed(failure);
    }
}

#[test]
fn a_plugin_swapped_mid_stream_processes_every_message_once_in_order_with_its_state() {
    const N: i64 = 100_000;
    const SWAP_AFTER: usize = 30_000;
    let graph = format!(
        r#"{{
        "processes": {{
            "numbers": {{"component": "reflow/Range", "metadata": {{"config": {{"start": 1, "end": {N}}}}}}},
            "scale": {{"component": "scale_double.wasm"}}
        }},
        "connections": [{{"src": {{"process": "numbers", "port": "out"}}, "tgt": {{"process": "scale", "port": "in"}}}}],
        "outports": {{"out": {{"process": "scale", "port": "out"}}}}
    }}"#
    );
    let mut network = network(&graph);
    let reloader = network.hot_reload();
    let observer = Arc::new(Swapper {
        collector: Collector::default(),
        reloader,
        swap_after: SWAP_AFTER,
        seen: Mutex::default(),
        refusals: Mutex::default(),
        swapped: Mutex::default(),
    });
    let report = network.run(&RunOptions::default(), observer.clone()).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(*observer.swapped.lock().unwrap(), Some(vec!["scale".to_string()]));

    let refusals: Vec<String> = observer.refusals.lock().unwrap().iter().map(|e| e.to_string()).collect();
    assert_eq!(refusals.len(), 2);
    assert!(refusals[0].contains("scale_double.wasm: refused, the running version stays") && !refusals[0].contains('\n'), "{}", refusals[0]);
    assert!(refusals[1].contains(r#"no longer declares inport "in", which the graph connects to process "scale""#), "{}", refusals[1]);

    let outputs: Vec<(i64, i64)> = observer
        .collector
        .exported
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| {
            let data = m.to_json()["data"].clone();
            (data["value"].as_i64().unwrap(), data["seen"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(outputs.len(), N as usize, "no message lost or repeated");
    let first_triple = (0..outputs.len()).find(|&i| outputs[i].0 == 3 * (i as i64 + 1)).expect("the tripler answered some messages");
    assert!(first_triple >= SWAP_AFTER, "the swap came after the sink saw {SWAP_AFTER} doubles, found a triple at {first_triple}");
    for (i, &(value, seen)) in outputs.iter().enumerate() {
        let n = i as i64 + 1;
        let factor = if i < first_triple { 2 } else { 3 };
        assert_eq!(value, n * factor, "message {n}: doubles up to message {first_triple}, triples after");
        assert_eq!(seen, n, "the state (calls seen) carried over the swap");
    }
}

/// A module whose `get_metadata` traps (`unreachable`), and whose `process` would answer 0:
/// it loads and compiles, and fails only when asked what it is.
const TRAPPING_METADATA: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // types: () -> i32
    0x03, 0x03, 0x02, 0x00, 0x00, // two functions of that type
    0x07, 0x1a, 0x02, // exports: get_metadata = 0, process = 1
    0x0c, b'g', b'e', b't', b'_', b'm', b'e', b't', b'a', b'd', b'a', b't', b'a', 0x00, 0x00,
    0x07, b'p', b'r', b'o', b'c', b'e', b's', b's', 0x00, 0x01,
    0x0a, 0x0a, 0x02, // code
    0x03, 0x00, 0x00, 0x0b, // unreachable
    0x04, 0x00, 0x41, 0x00, 0x0b, // i32.const 0
];

/// Offers replacements whose `get_metadata` fails when the sink has seen `refuse_at`
/// messages, while the stream goes on.
struct Refuser {
    collector: Collector,
    reloader: reflow_network::Reloader,
    refuse_at: usize,
    refusals: Mutex<Vec<ReloadError>>,
}

impl Observer for Refuser {
    fn exported(&self, port: &str, message: &Message) {
        self.collector.exported(port, message);
        if self.collector.exported.lock().unwrap().len() == self.refuse_at {
            let double = plugins_dir().join("scale_double.wasm");
            let looping = std::fs::read(plugins_dir().join("loop_metadata.wasm")).unwrap();
            let mut refusals = self.refusals.lock().unwrap();
            for module in [TRAPPING_METADATA.to_vec(), looping] {
                refusals.push(self.reloader.replace(&double, module).unwrap_err());
            }
        }
    }

    fn failed(&self, failure: &ActorFailure) {
        self.collector.failed(failure);
    }
}

#[test]
fn a_replacement_whose_get_metadata_fails_is_refused_and_the_old_version_answers_every_message() {
    const N: i64 = 2_000;
    let graph = format!(
        r#"{{
        "processes": {{
            "numbers": {{"component": "reflow/Range", "metadata": {{"config": {{"start": 1, "end": {N}}}}}}},
            "scale": {{"component": "scale_double.wasm"}}
        }},
        "connections": [{{"src": {{"process": "numbers", "port": "out"}}, "tgt": {{"process": "scale", "port": "in"}}}}],
        "outports": {{"out": {{"process": "scale", "port": "out"}}}}
    }}"#
    );
    // A short call limit, so that the looping `get_metadata` is cut soon (each call of the
    // doubler takes microseconds).
    let limits = Limits { call_timeout: std::time::Duration::from_millis(300), ..Limits::default() };
    let file = plugins_dir().join("test.json");
    let graph = reflow_network::loader::json::parse_json(graph.as_bytes(), &file).unwrap();
    let mut network = Network::from_graph(&plugins_dir(), graph, limits).unwrap();
    let observer = Arc::new(Refuser { collector: Collector::default(), reloader: network.hot_reload(), refuse_at: 500, refusals: Mutex::default() });
    let report = network.run(&RunOptions::default(), observer.clone()).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    let refusals = observer.refusals.lock().unwrap();
    assert_eq!(refusals.len(), 2);
    for (refusal, why) in refusals.iter().zip(["unreachable", "call time limit"]) {
        let line = refusal.to_string();
        assert!(matches!(refusal, ReloadError::Load { .. }), "{line}");
        assert!(line.contains("scale_double.wasm: refused, the running version stays") && line.contains("get_metadata"), "{line}");
        assert!(line.contains(why) && !line.contains('\n'), "one line saying why ({why}): {line}");
    }
    assert!(observer.reloader.swaps().is_empty(), "nothing was swapped");
    let outputs: Vec<Value> = observer.collector.exported.lock().unwrap().iter().map(|(_, m)| m.to_json()["data"].clone()).collect();
    assert_eq!(outputs.len(), N as usize, "no message lost or repeated");
    for (i, data) in outputs.iter().enumerate() {
        let n = i as i64 + 1;
        assert_eq!((data["value"].as_i64(), data["seen"].as_i64()), (Some(2 * n), Some(n)), "message {n}: the doubler answered it, in order");
    }
}

#[test]
fn a_replay_runs_under_the_recorded_limits_and_a_limit_hit_must_be_the_same_one() {
    // 1..5 into the looping plugin: 3 loops until the recorded 250 ms call limit cuts it.
    let graph = r#"{
        "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 5}}},
            "spin": {"component": "infinite_loop.wasm"}
        },
        "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "spin", "port": "in"}}]
    }"#;
    let limits = Limits { call_timeout: std::time::Duration::from_millis(250), ..Limits::default() };
    let file = plugins_dir().join("test.json");
    let graph = reflow_network::loader::json::parse_json(graph.as_bytes(), &file).unwrap();
    let mut network = Network::from_graph(&plugins_dir(), graph, limits).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("limits.trace");
    let writer = network.record_to(&trace).unwrap();
    let report = network.run(&RunOptions::default(), Arc::new(Collector::default())).unwrap();
    assert_eq!(report.failures.len(), 1, "the looping call failed: {:?}", report.failures);
    writer.finish().unwrap();

    let (start, records) = read_all(&trace).unwrap();
    let spin = start.processes.iter().find(|p| p.name == "spin").unwrap();
    assert_eq!(spin.limits.map(Limits::from), Some(limits), "the actor's limits are recorded");
    assert_eq!(start.processes.iter().find(|p| p.name == "numbers").unwrap().limits, None, "a built-in has none");
    let limit_hits: Vec<Option<String>> =
        records.iter().filter_map(|(_, r)| match r { Record::Call(c) => Some(c.limit.clone()), _ => None }).collect();
    assert_eq!(limit_hits, [None, None, Some("time".to_string()), None, None]);

    // Under the recorded limits: the same limit is hit by the same call, nothing differs.
    let same = replay(&start, &records, "spin", None, None).unwrap();
    assert_eq!(same.limits, limits);
    assert!(same.identical(), "{:?}", same.diffs);

    // Under a fuel limit the loop is cut by the fuel first: that call differs, by its limit.
    let fueled = Limits { fuel: Some(20_000_000), ..limits };
    let other = replay(&start, &records, "spin", None, Some(fueled)).unwrap();
    assert_eq!(other.diffs.len(), 1, "{:?}", other.diffs);
    let diff = &other.diffs[0];
    assert_eq!(diff.call, 3);
    let limit = diff.differences.iter().find(|d| d.at == "limit").unwrap_or_else(|| panic!("{diff}"));
    assert_eq!((limit.recorded.as_str(), limit.replayed.as_str()), (Some("time"), Some("fuel")), "{diff}");
}
