//! Building a network from JSON text that names built plugins, and collecting its output.

use reflow_network::loader::json::parse_json;
use reflow_network::{ActorFailure, Network, Observer, RunOptions, RunReport};
use reflow_script::{Limits, Message};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The folder of the built plugins; graphs name plugins relative to a file placed there.
pub fn plugins_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins");
    assert!(dir.join("doubler.wasm").exists(), "{} has no plugins: run `cargo xtask build-plugins` first", dir.display());
    dir
}

/// Loads and validates `json` as if it were `target/plugins/test.json`, so that components
/// such as `"doubler.wasm"` resolve to the built plugins.
pub fn network(json: &str) -> Network {
    let file = plugins_dir().join("test.json");
    let graph = parse_json(json.as_bytes(), &file).unwrap_or_else(|e| panic!("{e}"));
    Network::from_graph(&plugins_dir(), graph, Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Default)]
pub struct Collector {
    pub exported: Mutex<Vec<(String, Message)>>,
    pub failures: Mutex<Vec<ActorFailure>>,
}

impl Observer for Collector {
    fn exported(&self, port: &str, message: &Message) {
        self.exported.lock().unwrap().push((port.to_string(), message.clone()));
    }
    fn failed(&self, failure: &ActorFailure) {
        self.failures.lock().unwrap().push(failure.clone());
    }
}

/// Runs the network; returns the report and every exported (port, message) in arrival order.
pub fn run(network: &Network) -> (RunReport, Vec<(String, Message)>) {
    let collector = Arc::new(Collector::default());
    let report = network.run(&RunOptions::default(), collector.clone()).unwrap();
    let exported = std::mem::take(&mut *collector.exported.lock().unwrap());
    assert_eq!(report.failures, *collector.failures.lock().unwrap(), "failures are reported as they happen");
    (report, exported)
}

/// The integers sent on `port`, in order.
pub fn integers(exported: &[(String, Message)], port: &str) -> Vec<i64> {
    exported
        .iter()
        .filter(|(p, _)| p == port)
        .map(|(_, m)| match m {
            Message::Integer(i) => *i,
            other => panic!("expected an Integer on {port}, got {other}"),
        })
        .collect()
}
