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

    let same = replay(&start, &records, "count", None, Limits::default()).unwrap();
    assert_eq!(same.calls, 5);
    assert!(same.identical(), "{:?}", same.diffs);

    let by_two = plugins_dir().join("count_by_two.wasm");
    let changed = replay(&start, &records, "count", Some(&by_two), Limits::default()).unwrap();
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

    let again = replay(&start, &records, "read", None, Limits::default()).unwrap();
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
