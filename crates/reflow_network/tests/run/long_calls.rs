//! A plugin call that loops until its time limit holds one worker; the monitor gives the
//! other actors a compensating worker, so a healthy pipeline beside it is not held up, even
//! when the pool has a single worker.

use reflow_abi::Message;
use reflow_network::loader::json::parse_json;
use reflow_network::{ActorFailure, Network, Observer, RunOptions};
use reflow_script::Limits;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const HEALTHY: usize = 300;

/// Notes, when the last healthy message arrives, whether the looping call had failed yet.
#[derive(Default)]
struct Watch {
    healthy: Mutex<usize>,
    failures: Mutex<Vec<ActorFailure>>,
    failures_when_healthy_done: Mutex<Option<usize>>,
}

impl Observer for Watch {
    fn exported(&self, port: &str, _: &Message) {
        if port != "healthy" {
            return;
        }
        let mut healthy = self.healthy.lock().unwrap();
        *healthy += 1;
        if *healthy == HEALTHY {
            *self.failures_when_healthy_done.lock().unwrap() = Some(self.failures.lock().unwrap().len());
        }
    }
    fn failed(&self, failure: &ActorFailure) {
        self.failures.lock().unwrap().push(failure.clone());
    }
}

#[test]
fn a_looping_call_does_not_hold_up_a_healthy_pipeline_on_one_worker() {
    let plugins = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins");
    assert!(plugins.join("infinite_loop.wasm").exists(), "run `cargo xtask build-plugins` first");
    // The looping process comes first, so the single worker starts its call first.
    let json = format!(
        r#"{{
        "processes": {{
            "hostile": {{"component": "infinite_loop.wasm", "metadata": {{"sandbox": {{"timeout_ms": 3000}}}}}},
            "numbers": {{"component": "reflow/Range", "metadata": {{"config": {{"start": 1, "end": {HEALTHY}}}}}}},
            "a": {{"component": "core/Repeat"}},
            "b": {{"component": "core/Repeat"}}
        }},
        "connections": [
            {{"data": 3, "tgt": {{"process": "hostile", "port": "in"}}}},
            {{"src": {{"process": "numbers", "port": "out"}}, "tgt": {{"process": "a", "port": "in"}}}},
            {{"src": {{"process": "a", "port": "out"}}, "tgt": {{"process": "b", "port": "in"}}}}
        ],
        "outports": {{"healthy": {{"process": "b", "port": "out"}}}}
    }}"#
    );
    let file = plugins.join("long_call.json");
    let graph = parse_json(json.as_bytes(), &file).unwrap();
    let network = Network::from_graph(&plugins, graph, Limits::default()).unwrap();
    let watch = Arc::new(Watch::default());
    let report = network.run(&RunOptions { workers: 1, ..RunOptions::default() }, watch.clone()).unwrap();
    assert_eq!(*watch.healthy.lock().unwrap(), HEALTHY);
    assert_eq!(
        *watch.failures_when_healthy_done.lock().unwrap(),
        Some(0),
        "every healthy message arrived while the looping call was still running"
    );
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].actor, "hostile");
    assert!(report.failures[0].message.contains("time limit"), "{}", report.failures[0]);
}
