//! The `trace` sub-protocol: while a graph's trace is on, its network events are kept in a
//! bounded buffer (oldest dropped first), and `dump` returns them as a flowtrace: a JSON
//! text `{header: {metadata, graphs, main}, events: [{protocol, command, payload, graph,
//! time}]}`, the format of the flowbased/flowtrace tools, with the graph as FBP JSON (built
//! by `reflow_trace::flowtrace`, which `reflow trace export` uses for recordings).

use crate::graphs::{target, GraphEntry};
use crate::messages::{Refusal, Reply, Request};
use crate::runtime::lock;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Events kept when `trace:start` names no `buffersize` (flowtrace's own default).
const DEFAULT_BUFFER: usize = 400;

/// One graph's trace; shared with its running network, which records into it.
#[derive(Default)]
pub struct Tracer {
    state: Mutex<TraceState>,
}

#[derive(Default)]
struct TraceState {
    on: bool,
    capacity: usize,
    started: Option<String>,
    events: VecDeque<Value>,
}

impl Tracer {
    /// Keeps `event` (a network event of `graph`) if tracing is on.
    pub fn record(&self, graph: &str, event: &Reply, time: &str) {
        let mut state = lock(&self.state);
        if !state.on {
            return;
        }
        if state.events.len() == state.capacity {
            state.events.pop_front();
        }
        state.events.push_back(reflow_trace::flowtrace::event(&event.protocol, &event.command, &event.payload, graph, time));
    }
}

pub fn handle(graphs: &mut HashMap<String, GraphEntry>, request: &Request) -> Result<Vec<Reply>, Refusal> {
    let (id, entry) = target(graphs, request)?;
    let reply = |command: &str, body: Value| Reply::new("trace", command, body);
    match request.command.as_str() {
        "start" => {
            let capacity = match request.payload.get("buffersize") {
                None | Some(Value::Null) => DEFAULT_BUFFER,
                Some(Value::Number(n)) => n.as_u64().filter(|&n| n > 0).ok_or("`buffersize` must be a positive integer")? as usize,
                Some(_) => return Err("`buffersize` must be a positive integer".into()),
            };
            let mut state = lock(&entry.tracer.state);
            state.on = true;
            state.capacity = capacity;
            while state.events.len() > capacity {
                state.events.pop_front();
            }
            state.started.get_or_insert_with(crate::network::now);
            Ok(vec![reply("start", json!({"graph": id, "buffersize": capacity}))])
        }
        "stop" => {
            lock(&entry.tracer.state).on = false;
            Ok(vec![reply("stop", json!({"graph": id}))])
        }
        "clear" => {
            let mut state = lock(&entry.tracer.state);
            state.events.clear();
            state.started = state.on.then(crate::network::now);
            Ok(vec![reply("clear", json!({"graph": id}))])
        }
        "dump" => {
            match request.payload.get("type") {
                None | Some(Value::Null) => {}
                Some(Value::String(kind)) if kind == "flowtrace.json" => {}
                Some(other) => return Err(format!("Unsupported trace type {other}: only flowtrace.json")),
            }
            let graph: Value = serde_json::from_str(&entry.graph.to_fbp_json()).unwrap_or(Value::Null);
            let state = lock(&entry.tracer.state);
            let flowtrace =
                reflow_trace::flowtrace::document(&id, graph, state.started.as_deref(), &crate::network::now(), state.events.iter().cloned());
            Ok(vec![reply("dump", json!({"graph": id, "type": "flowtrace.json", "flowtrace": flowtrace.to_string()}))])
        }
        other => Err(format!("Unknown trace command {other:?}")),
    }
}
