//! Hostile plugins in graphs (`tests/data/sandbox/*.json`): each graph runs one hostile actor
//! beside healthy ones; every healthy message must be delivered, the failure reported with
//! the actor's name, the failing message routed (error port or dead letter), and a restarted
//! actor must carry its state from before the failed call. Needs `cargo xtask build-plugins`.

// The hostile graphs, one test each.
mod hostile;
// Process settings in graph metadata, on arbitrary input (proptest).
mod fuzz;

use reflow_network::{ActorFailure, ActorStats, DeadLetter, Network, Observer, RunOptions, RunReport};
use reflow_script::{Limits, Message};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub fn graph_path(name: &str) -> PathBuf {
    let plugins = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins");
    assert!(plugins.join("infinite_loop.wasm").exists(), "run `cargo xtask build-plugins` first");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sandbox").join(format!("{name}.json"))
}

/// What reached the graph's outports, by port, in order; and the failures and dead letters.
#[derive(Default)]
pub struct Recorder {
    exported: Mutex<BTreeMap<String, Vec<Message>>>,
    failures: Mutex<Vec<String>>,
    dead: Mutex<Vec<String>>,
}

impl Observer for Recorder {
    fn exported(&self, port: &str, message: &Message) {
        self.exported.lock().unwrap().entry(port.to_string()).or_default().push(message.clone());
    }

    fn failed(&self, failure: &ActorFailure) {
        self.failures.lock().unwrap().push(failure.to_string());
    }

    fn dead_letter(&self, letter: &DeadLetter) {
        self.dead.lock().unwrap().push(letter.to_string());
    }
}

pub struct Run {
    pub report: RunReport,
    pub recorder: Arc<Recorder>,
}

impl Run {
    /// The messages exported on `port`, in arrival order.
    pub fn port(&self, port: &str) -> Vec<Message> {
        self.recorder.exported.lock().unwrap().get(port).cloned().unwrap_or_default()
    }

    pub fn integers(&self, port: &str) -> Vec<i64> {
        self.port(port)
            .into_iter()
            .map(|m| match m {
                Message::Integer(n) => n,
                other => panic!("expected an Integer on {port}, got {other:?}"),
            })
            .collect()
    }

    pub fn stats(&self, actor: &str) -> &ActorStats {
        self.report.actors.iter().find(|a| a.name == actor).unwrap()
    }

    pub fn failures(&self) -> Vec<String> {
        self.recorder.failures.lock().unwrap().clone()
    }

    pub fn dead_letters(&self) -> Vec<String> {
        self.recorder.dead.lock().unwrap().clone()
    }
}

pub fn run_network(network: &Network) -> Run {
    let recorder = Arc::new(Recorder::default());
    let report = network.run(&RunOptions::default(), recorder.clone()).unwrap_or_else(|e| panic!("{e}"));
    Run { report, recorder }
}

pub fn run(name: &str) -> Run {
    let network = Network::load(&graph_path(name), Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    run_network(&network)
}
