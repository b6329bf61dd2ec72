//! The worker-pool executor: graphs of every shape and size, cycles, long calls beside healthy
//! actors, and the bounds of back-pressure. Driven through `scheduler::run` with native test
//! components (and real plugins where a call must be a wasm call).

// Chains and fan-out/fan-in of 10, 1,000 and 100,000 actors.
mod shapes;
// Feedback loops that end by quiescence, with exact outputs.
mod cycles;
// A looping plugin does not hold up a healthy pipeline, even on one worker.
mod long_calls;
// Queues stay within their bounds in messages and bytes; waiting is never a call's time.
mod backpressure;
// Waiting messages cross into a plugin together, with the results of one call per message.
mod batches;
// 10,000 live WASM actors in one graph.
mod wasm_scale;

use reflow_abi::{Message, PluginMetadata, PortDefinition};
use reflow_network::scheduler::{ActorSpec, Route};
use reflow_network::{builtins, Component};
use std::path::Path;

pub fn builtin(name: &str, config: serde_json::Value) -> Box<dyn Component> {
    builtins::create(name, config.as_object().unwrap(), Path::new(".")).unwrap().unwrap()
}

pub fn actor(name: impl Into<String>, component: Box<dyn Component>) -> ActorSpec {
    ActorSpec { name: name.into(), component, initial: Vec::new(), policy: Default::default() }
}

pub fn route(from: usize, outport: &str, to: usize, inport: &str) -> Route {
    Route { from, outport: outport.into(), to, inport: inport.into() }
}

pub fn port(name: &str, required: bool) -> PortDefinition {
    PortDefinition::new(name, "", "Any", required)
}

pub fn meta(inports: Vec<PortDefinition>, outports: Vec<PortDefinition>) -> PluginMetadata {
    PluginMetadata { component: "test".into(), description: String::new(), inports, outports, config_schema: None }
}

/// Keeps what reaches the exported ports, and the failures (shared with the `run` tests).
pub use crate::run::support::Collector;
