//! What the page is sent, as JSON: the graph once (`hello`), the counters on every tick, the
//! selected connection's or actor's details, and the run's end with its final table.
//!
//! Ticks are arrays, not objects (`edges[i] = [sent, queued, held]`), because they are sent
//! four times a second for every connection; the page knows the order.

use crate::tap::{Seen, Tap};
use reflow_abi::Message;
use reflow_network::scheduler::{LiveRun, Sample};
use reflow_network::{Graph, RunReport, StateBinding, Swap};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// A message larger than this (as JSON) is shown by its size only.
const MAX_SHOWN_BYTES: usize = 64 << 10;

fn millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn micros(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_secs_f64() * 1e6))
}

/// The graph as drawn: processes with their ports, connections, groups. Ports come from the
/// running actors when the run has started, else from what the graph's connections name.
pub fn graph(graph: &Graph, live: Option<&LiveRun>, durable: bool) -> Value {
    let processes: Vec<Value> = graph
        .processes()
        .map(|p| {
            let shape = live.and_then(|l| l.actors.iter().find(|a| a.name == p.name()));
            let (inports, outports) = match shape {
                Some(shape) => (shape.inports.clone(), shape.outports.clone()),
                None => named_ports(graph, p.name()),
            };
            json!({
                "name": p.name(),
                "component": p.component,
                "inports": inports,
                "outports": outports,
                "durable": durable && p.is_plugin(),
            })
        })
        .collect();
    // The running routes name ports as the actors declare them (a graph may spell them in
    // another case); they are the graph's edges in order.
    let edges: Vec<Value> = match live {
        Some(live) => live
            .routes
            .iter()
            .map(|r| json!({"from": live.actors[r.from].name, "outport": r.outport, "to": live.actors[r.to].name, "inport": r.inport}))
            .collect(),
        None => graph.edges().map(|e| json!({"from": e.src.process, "outport": e.src.port, "to": e.tgt.process, "inport": e.tgt.port})).collect(),
    };
    let groups: Vec<Value> = graph.groups().iter().map(|g| json!({"name": g.name, "nodes": g.nodes})).collect();
    json!({
        "name": graph.name,
        "processes": processes,
        "edges": edges,
        "groups": groups,
        "capacity": live.map(|l| l.capacity),
    })
}

fn named_ports(graph: &Graph, process: &str) -> (Vec<String>, Vec<String>) {
    let (mut inports, mut outports) = (Vec::new(), Vec::new());
    for e in graph.edges() {
        if e.tgt.process == process && !inports.contains(&e.tgt.port) {
            inports.push(e.tgt.port.clone());
        }
        if e.src.process == process && !outports.contains(&e.src.port) {
            outports.push(e.src.port.clone());
        }
    }
    (inports, outports)
}

/// The counters at one moment: per edge `[sent, queued at its inport, held by its sender]`,
/// per actor `[calls, errors, dead letters, restarts, p50 µs, p99 µs, queued, plugin version]`
/// (`versions`, indexed like the actors: 1 until a hot swap).
pub fn tick(live: &LiveRun, sample: &Sample, versions: &[u64], seconds: f64) -> Value {
    let edges: Vec<Value> = live
        .routes
        .iter()
        .enumerate()
        .map(|(i, route)| {
            let target = &sample.actors[route.to].queues;
            let queued = target
                .queued
                .iter()
                .find(|(port, _)| port.as_deref().is_none_or(|p| p == route.inport))
                .map_or(0, |(_, n)| *n);
            let held = sample.actors[route.from].queues.held.iter().find(|(to, _)| *to == route.to).map_or(0, |(_, n)| *n);
            json!([sample.routes.get(i).copied().unwrap_or(0), queued, held])
        })
        .collect();
    let actors: Vec<Value> = sample
        .actors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let queued: usize = a.queues.queued.iter().map(|(_, n)| n).sum();
            let version = versions.get(i).copied().unwrap_or(1);
            json!([a.calls, a.errors, a.dead_letters, a.restarts, micros(a.p50), micros(a.p99), queued, version])
        })
        .collect();
    json!({"t": seconds, "edges": edges, "actors": actors})
}

fn shown(message: &Message) -> Value {
    let json = message.to_json();
    let size = json.to_string().len();
    if size > MAX_SHOWN_BYTES {
        return json!({"type": json.get("type").cloned().unwrap_or(Value::Null), "data": format!("({size} bytes of JSON, not shown)")});
    }
    json
}

/// The last messages of edge `route`, newest first.
pub fn edge_detail(route: usize, messages: &[Seen<Message>], sent: u64) -> Value {
    let messages: Vec<Value> = messages.iter().map(|m| json!({"at": millis(m.at), "message": shown(&m.what)})).collect();
    json!({"edge": route, "sent": sent, "messages": messages})
}

/// A hot swap: `process` now runs version `version` of its plugin.
pub fn swap(swap: &Swap) -> Value {
    json!({"process": swap.process, "plugin": swap.plugin, "version": swap.version, "at": millis(swap.at)})
}

/// An actor's config, durable state (read from the store it commits to), recent errors and
/// hot swaps.
pub fn actor_detail(graph: &Graph, state: Option<&StateBinding>, tap: &Tap, name: &str, swaps: &[Swap]) -> Value {
    let process = graph.process(name);
    let config = process.map_or(Value::Null, |p| Value::Object(p.config.clone()));
    let durable = process.is_some_and(|p| p.is_plugin()) && state.is_some();
    let state = match state.filter(|_| durable) {
        None => Value::Null,
        Some(binding) => match binding.store.load(&reflow_state::ActorKey::new(binding.graph_id.as_str(), name)) {
            Ok(Some(record)) => json!({"state": record.state}),
            Ok(None) => json!({"state": {}}),
            Err(e) => json!({"error": format!("reading its state: {e}")}),
        },
    };
    let errors: Vec<Value> = tap.errors(name).into_iter().map(|e| json!({"at": millis(e.at), "error": e.what})).collect();
    json!({
        "actor": name,
        "component": process.map(|p| p.component.clone()),
        "config": config,
        "durable": durable,
        "state": state,
        "errors": errors,
        "swaps": swaps.iter().map(swap).collect::<Vec<_>>(),
    })
}

/// The run's end: failed or not, why, and the final table (what `reflow run` prints).
pub fn end(result: Result<&RunReport, &str>) -> Value {
    match result {
        Err(reason) => json!({"failed": true, "reason": reason, "table": [], "failures": 0}),
        Ok(report) => {
            let table: Vec<Value> = report
                .actors
                .iter()
                .map(|a| {
                    json!({
                        "name": a.name, "received": a.received, "calls": a.calls, "sent": a.sent,
                        "errors": a.errors, "dropped": a.dropped, "unfired": a.unfired,
                        "dead_letters": a.dead_letters, "stopped": a.stopped,
                    })
                })
                .collect();
            let failed = report.graph_failed.is_some() || !report.failures.is_empty();
            let reason = match (&report.graph_failed, report.failures.len()) {
                (Some(reason), _) => Some(format!("the graph failed: {reason}")),
                (None, 0) => None,
                (None, n) => Some(format!("{n} failed call(s); every other message was processed")),
            };
            json!({"failed": failed, "reason": reason, "table": table, "failures": report.failures.len()})
        }
    }
}
