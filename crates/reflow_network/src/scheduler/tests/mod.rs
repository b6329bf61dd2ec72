//! The scheduler's own tests, driven through `scheduler::run` (internal to the crate: outside
//! it, a network is built from a graph) with native test components, and real plugins where a
//! call must be a wasm call: graphs of every shape and size, cycles, the bounds of
//! back-pressure, order and firing rules, and the options for live editors. The tests of
//! whole networks from graph files are in `tests/` (the integration binary).

// Chains and fan-out/fan-in of 10, 1,000 and 100,000 actors.
mod shapes;
// Feedback loops that end by quiescence, with exact outputs.
mod cycles;
// Queues stay within their bounds in messages and bytes; waiting is never a call's time.
mod backpressure;
// Order per connection, IIPs first, required inports.
mod scheduling;
// Edge observation and halting (options for live editors).
mod live;
// The probe's live counters (the inspector's), and the paced reflow/Range.
mod probe;

use crate::scheduler::{ActorSpec, Route};
use crate::{builtins, ActorFailure, Component, Observer};
use reflow_abi::{Message, PluginMetadata, PortDefinition};
use std::path::Path;
use std::sync::Mutex;

pub(super) fn builtin(name: &str, config: serde_json::Value) -> Box<dyn Component> {
    builtins::create(name, config.as_object().unwrap(), Path::new(".")).unwrap().unwrap()
}

pub(super) fn actor(name: impl Into<String>, component: Box<dyn Component>) -> ActorSpec {
    ActorSpec::new(name, component)
}

pub(super) fn route(from: usize, outport: &str, to: usize, inport: &str) -> Route {
    Route { from, outport: outport.into(), to, inport: inport.into() }
}

pub(super) fn port(name: &str, required: bool) -> PortDefinition {
    PortDefinition::new(name, "", "Any", required)
}

pub(super) fn meta(inports: Vec<PortDefinition>, outports: Vec<PortDefinition>) -> PluginMetadata {
    PluginMetadata { component: "test".into(), description: String::new(), inports, outports, config_schema: None }
}

/// Keeps what reaches the exported ports, and the failures.
#[derive(Default)]
pub(super) struct Collector {
    pub(super) exported: Mutex<Vec<(String, Message)>>,
    pub(super) failures: Mutex<Vec<ActorFailure>>,
}

impl Collector {
    /// The integers sent on `port` so far, in order.
    pub(super) fn integers(&self, port: &str) -> Vec<i64> {
        let exported = self.exported.lock().unwrap();
        exported
            .iter()
            .filter(|(p, _)| p == port)
            .map(|(_, m)| match m {
                Message::Integer(i) => *i,
                other => panic!("expected an Integer on {port}, got {other}"),
            })
            .collect()
    }
}

impl Observer for Collector {
    fn exported(&self, port: &str, message: &Message) {
        self.exported.lock().unwrap().push((port.to_string(), message.clone()));
    }
    fn failed(&self, failure: &ActorFailure) {
        self.failures.lock().unwrap().push(failure.clone());
    }
}
