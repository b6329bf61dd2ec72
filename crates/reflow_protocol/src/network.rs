//! The `network` sub-protocol: start a graph as a [`Network`], report what crosses its edges,
//! stop it. A started network runs on its own threads (the scheduler's); its events reach
//! every client through the [`Hub`], in the order they happen.
//!
//! - `data`: every message sent on an edge (or only the edges chosen with `network:edges`),
//!   and each IIP when the network starts, with the protocol's `SRC() OUT -> IN TGT()` ids.
//! - `output`: each message arriving at a `core/Output` node (what it prints).
//! - `processerror`: a failed call, naming the node; `error`: a network that cannot start.
//! - `runtime:packet`: each message reaching an exported outport of the graph.
//! - `stopped`: on `network:stop`, and also when the network ends by itself (every input
//!   exhausted), then with `started: true`, as `getstatus` reports it.
//!
//! Stopping raises the scheduler's `stop` (sources end) and `halt` (queued messages are
//! dropped), so a network ends within a call's time however much work it had left. Stopping
//! does not wait for that end (the reply comes at once), but the next `network:start` of the
//! graph does: a graph's runs never overlap, so nothing from a stopped run (a late `data`
//! event, an end announcement) comes after the next run's `started`.

use crate::components::{inside, FILE_BUILTINS};
use reflow_network::loader::resolve_component;
use crate::graphs::{target, GraphEntry};
use crate::messages::{edge_id, initial_id, port, wire_port, Refusal, Reply, Request};
use crate::runtime::{lock, Hub, RuntimeConfig};
use crate::trace::Tracer;
use crate::watch::Watcher;
use reflow_abi::Message;
use reflow_network::graph::PortRef;
use reflow_network::{ActorFailure, Graph, Halt, Inlet, Network, Observer, Reloader, RunOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime};

/// Where a graph's network events go: every client, and its trace when on.
#[derive(Clone)]
pub struct Events {
    graph: String,
    hub: Arc<Hub>,
    tracer: Arc<Tracer>,
}

impl Events {
    pub fn new(graph: &str, hub: Arc<Hub>, tracer: Arc<Tracer>) -> Events {
        Events { graph: graph.to_string(), hub, tracer }
    }

    fn send(&self, command: &str, payload: Value) {
        self.send_in("network", command, payload);
    }

    fn send_in(&self, protocol: &str, command: &str, payload: Value) {
        let reply = Reply::new(protocol, command, payload);
        self.tracer.record(&self.graph, &reply, &now());
        match command {
            // Packets may come faster than a client reads; a slow one misses some.
            "data" | "output" | "packet" => self.hub.broadcast_lossy(&reply),
            _ => self.hub.broadcast(&reply),
        }
    }
}

/// A graph's network: whether it was started (and not stopped since) and its live run.
#[derive(Default)]
pub struct NetworkState {
    started: bool,
    run: Option<Run>,
    /// The start being prepared (outside the lock, see [`start`]); `None` once launched, or
    /// when a stop or a newer start overtook it.
    pending: Option<u64>,
    /// `network:edges`: the edges to report; `None` reports every edge.
    selection: Option<Vec<(PortRef, PortRef)>>,
    /// The end of the last run launched, which the next start waits for.
    last_run: Option<Arc<Ended>>,
}

/// Set by a run's thread once it has sent its last event.
#[derive(Default)]
struct Ended {
    done: Mutex<bool>,
    signal: Condvar,
}

impl Ended {
    fn set(&self) {
        *lock(&self.done) = true;
        self.signal.notify_all();
    }

    fn wait(&self) {
        let mut done = lock(&self.done);
        while !*done {
            done = self.signal.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

struct Run {
    stop: Arc<AtomicBool>,
    halt: Halt,
    /// False once every actor has ended.
    running: Arc<AtomicBool>,
    /// Set by `network:stop`: the end of the run is then not announced again.
    stopped_by_user: Arc<AtomicBool>,
    since: Instant,
    observer: Arc<EdgeReporter>,
    /// Into the graph's exported inports (`runtime:packet`); `None` when it exports none.
    inlet: Option<Inlet>,
    /// Swaps plugins rebuilt by `component:source` into the running actors; `None` unless
    /// the operator allowed builds (an actor that can swap pays one atomic load per call).
    reloader: Option<Reloader>,
}

impl NetworkState {
    /// Ends the run, if any, without waiting for its threads.
    pub fn halt(&mut self) {
        self.pending = None;
        if let Some(run) = self.run.take() {
            run.stopped_by_user.store(true, Ordering::SeqCst);
            if let Some(inlet) = &run.inlet {
                inlet.close();
            }
            run.stop.store(true, Ordering::SeqCst);
            run.halt.raise();
        }
        self.started = false;
    }

    /// A fresh state for a graph that replaces (`graph:clear`) one whose network was `old`:
    /// its next start still waits for `old`'s last run.
    pub fn replacing(old: &mut NetworkState) -> NetworkState {
        old.halt();
        NetworkState { last_run: old.last_run.take(), ..NetworkState::default() }
    }

    fn running(&self) -> bool {
        self.run.as_ref().is_some_and(|run| run.running.load(Ordering::SeqCst))
    }

    fn uptime(&self) -> f64 {
        self.run.as_ref().map_or(0.0, |run| run.since.elapsed().as_secs_f64())
    }
}

pub fn handle(graphs: &mut HashMap<String, GraphEntry>, hub: &Arc<Hub>, request: &Request) -> Result<Vec<Reply>, Refusal> {
    let (id, entry) = target(graphs, request)?;
    let events = Events::new(&id, hub.clone(), entry.tracer.clone());
    let state = &mut entry.network;
    match request.command.as_str() {
        "start" => Err("network:start is handled by `start`".into()),
        "stop" => {
            let uptime = state.uptime();
            state.halt();
            events.send("stopped", json!({"graph": id, "started": false, "running": false, "time": now(), "uptime": uptime}));
            Ok(vec![])
        }
        "getstatus" => Ok(vec![status(&id, state)]),
        "debug" => {
            // Data events are always sent (the protocol's test suite expects them without
            // `debug`); the flag has nothing to switch. Acknowledged with the status.
            match request.payload.get("enable") {
                Some(Value::Bool(_)) => Ok(vec![status(&id, state)]),
                _ => Err("`enable` must be true or false".into()),
            }
        }
        "edges" => {
            let Some(Value::Array(items)) = request.payload.get("edges") else {
                return Err("Missing `edges` (an array of {src, tgt}) in payload".into());
            };
            let mut selection = Vec::new();
            for item in items {
                selection.push((port(item, "src")?, port(item, "tgt")?));
            }
            if let Some(run) = &state.run {
                run.observer.select(&selection);
            }
            let edges: Vec<Value> =
                selection.iter().map(|(src, tgt)| json!({"src": wire_port(src), "tgt": wire_port(tgt)})).collect();
            state.selection = Some(selection);
            Ok(vec![Reply::new("network", "edges", json!({"graph": id, "edges": edges}))])
        }
        "persist" => Err("Persisting networks is not supported by this runtime".into()),
        other => Err(format!("Unknown network command {other:?}")),
    }
}

/// `runtime:packet` from a client: an event for an exported inport of a running graph,
/// answered with `runtime:packetsent` (the same event) once it is queued.
///
/// - `data`: the payload becomes a message as an IIP does (a tagged message stays one, a plain
///   value is mapped by its kind) and goes to the process behind the export.
/// - `connect`, `disconnect`, `begingroup`, `endgroup`: our messages have no connections and
///   no brackets (docs/fbp-protocol.md), so they are acknowledged and carry nothing.
pub fn packet(graphs: &mut HashMap<String, GraphEntry>, request: &Request) -> Result<Vec<Reply>, Refusal> {
    let (id, entry) = target(graphs, request)?;
    let public = crate::messages::string(&request.payload, "port")?;
    let event = crate::messages::string(&request.payload, "event")?;
    if !matches!(event.as_str(), "connect" | "begingroup" | "data" | "endgroup" | "disconnect") {
        return Err(format!("Unknown packet event {event:?} (connect, begingroup, data, endgroup or disconnect)"));
    }
    if entry.graph.inports().all(|(name, _)| name != public) {
        return Err(format!("Requested port not found: {public} (graph {id} exports no such inport)"));
    }
    let inlet = match &entry.network.run {
        Some(run) if run.running.load(Ordering::SeqCst) => run.inlet.as_ref(),
        _ => return Err(format!("Graph {id} is not running: start it with network:start before sending packets")),
    };
    if event == "data" {
        let data = request.payload.get("payload").cloned().unwrap_or(Value::Null);
        let message = Message::from_json(data.clone()).unwrap_or(Message::Any(data));
        let inlet = inlet.ok_or_else(|| format!("Graph {id} was started before it exported {public}: start it again"))?;
        inlet.send(&public, message).map_err(|e| format!("Graph {id}: {e}"))?;
    }
    let mut sent = json!({"port": public, "event": event, "graph": id});
    for key in ["payload", "type", "schema"] {
        if let Some(value) = request.payload.get(key) {
            sent[key] = value.clone();
        }
    }
    Ok(vec![Reply::new("runtime", "packetsent", sent)])
}

/// The graphs whose networks run with swappable plugins, with what swaps them.
pub fn reloaders(graphs: &HashMap<String, GraphEntry>) -> Vec<(String, Reloader)> {
    let mut found: Vec<(String, Reloader)> = graphs
        .iter()
        .filter_map(|(id, entry)| {
            let run = entry.network.run.as_ref().filter(|run| run.running.load(Ordering::SeqCst))?;
            Some((id.clone(), run.reloader.clone()?))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn status(id: &str, state: &NetworkState) -> Reply {
    Reply::new("network", "status", json!({"graph": id, "running": state.running(), "started": state.started}))
}

/// `network:start`: validates and starts the graph. Validation compiles plugins and calls
/// their `get_metadata`, which may take a call's whole time limit, so it runs without the lock
/// every graph shares (other clients go on meanwhile); the graph is copied first, and the run
/// is launched only if no stop, clear or newer start came in between (`token` tells).
pub fn start(graphs: &Mutex<HashMap<String, GraphEntry>>, hub: &Arc<Hub>, config: &RuntimeConfig, token: u64, request: &Request) -> Result<Vec<Reply>, Refusal> {
    let (id, graph, events, last_run) = {
        let mut graphs = lock(graphs);
        let (id, entry) = target(&mut graphs, request)?;
        entry.network.halt();
        entry.network.pending = Some(token);
        let events = Events::new(&id, hub.clone(), entry.tracer.clone());
        (id, entry.graph.clone(), events, entry.network.last_run.clone())
    };
    let prepared = prepare(&id, &graph, config);
    // Halted above, the last run ends within a call's time; its events all come before ours.
    if let Some(last_run) = last_run {
        last_run.wait();
    }
    let mut graphs = lock(graphs);
    let Some(entry) = graphs.get_mut(&id).filter(|entry| entry.network.pending == Some(token)) else {
        return Ok(vec![]); // overtaken: whoever did it has said so
    };
    entry.network.pending = None;
    match prepared {
        Ok(network) => launch(&graph, &mut entry.network, events, network, config.build.is_some(), config.watcher.as_ref()),
        Err(message) => events.send("error", json!({"message": message, "graph": id})),
    }
    Ok(vec![])
}

/// The network of a graph built over the protocol: its nodes checked against what a client
/// may use (plugins inside the components folder, file built-ins inside `--allow-files`),
/// its sandbox metadata against the operator's policy.
fn prepare(id: &str, graph: &Graph, config: &RuntimeConfig) -> Result<Network, String> {
    let mut graph = graph.clone();
    // Errors name the graph by its id (it has no file).
    graph.name = id.to_string();
    let names: Vec<String> = graph.processes().map(|p| p.name().to_string()).collect();
    for name in names {
        let Some(process) = graph.process_mut(&name) else { continue };
        // FBP names (`doubler`) to plugin paths (`doubler.wasm`), as a `.fbp` file is read.
        process.component = resolve_component(&process.component);
        if process.component.ends_with(".wasm") && (config.components.is_none() || !inside(&process.component)) {
            return Err(format!("process {name:?}: component {} is not a plugin of the components folder", process.component));
        }
        if FILE_BUILTINS.contains(&process.component.as_str()) {
            let path = file_path(config, &process.config).map_err(|e| format!("process {name:?} ({}): {e}", process.component))?;
            process.config.insert("path".into(), json!(path.display().to_string()));
        }
    }
    // Plugin paths are relative to the components folder.
    let base: PathBuf = config.components.clone().unwrap_or_default();
    Network::from_graph_with_policy(&base, graph, config.limits, &config.sandbox_policy()).map_err(|e| reflow_network::error::chain(&e))
}

/// Where a file built-in's `path` leads: inside the `--allow-files` folder, never outside it
/// (and never standard input or output, which are the server's, not the client's).
fn file_path(config: &RuntimeConfig, node_config: &serde_json::Map<String, Value>) -> Result<PathBuf, String> {
    let dir = config.files.as_ref().ok_or("file components are not available unless reflow serve is started with --allow-files DIR")?;
    let path = node_config.get("path").and_then(Value::as_str).ok_or("needs a string `path` in its config")?;
    if !inside(path) {
        return Err(format!("path {path:?} must be relative to the --allow-files folder and stay inside it (no absolute path, no `..`, no `-`)"));
    }
    if path == "-" {
        return Err("path \"-\" (standard input or output) is not available over the protocol".into());
    }
    Ok(dir.join(path))
}

/// Announces `started` and the IIPs before the first actor runs, so they come first, then runs
/// `network` on a thread of its own.
fn launch(graph: &Graph, state: &mut NetworkState, events: Events, mut network: Network, swappable: bool, watcher: Option<&Watcher>) {
    let id = events.graph.clone();
    let reloader = swappable.then(|| network.hot_reload());
    let observer = Arc::new(EdgeReporter::new(graph, events.clone(), state.selection.as_deref()));
    // A graph with exported inports waits for packets from clients: its run lasts until
    // `network:stop`, however quiet it gets. One without them ends when its input does.
    let inlet = (graph.inports().len() > 0).then(Inlet::new);
    let run = Run {
        stop: Arc::new(AtomicBool::new(false)),
        halt: Halt::new(),
        running: Arc::new(AtomicBool::new(true)),
        stopped_by_user: Arc::new(AtomicBool::new(false)),
        since: Instant::now(),
        observer: observer.clone(),
        inlet: inlet.clone(),
        reloader: reloader.clone(),
    };
    events.send("started", json!({"graph": id, "started": true, "running": true, "time": now()}));
    for iip in graph.initials() {
        observer.report(json!({"id": initial_id(&iip.tgt), "graph": id, "tgt": wire_port(&iip.tgt), "data": iip.data}));
        if graph.process(&iip.tgt.process).is_some_and(|p| p.component == "core/Output") {
            observer.output(&iip.data);
        }
    }
    let mut options = RunOptions { stop: run.stop.clone(), observe_edges: true, halt: Some(run.halt.clone()), inlet, ..RunOptions::default() };
    let watched = watcher.and_then(|w| w.0.watch(&id, &network, observer.clone(), reloader));
    let observer: Arc<dyn Observer> = match &watched {
        Some(watched) => {
            options.probe = Some(watched.probe());
            watched.observer()
        }
        None => observer,
    };
    let ended = Arc::new(Ended::default());
    let (running, stopped_by_user, run_events, graph_id, since, run_ended) =
        (run.running.clone(), run.stopped_by_user.clone(), events.clone(), id.clone(), run.since, ended.clone());
    let spawned = std::thread::Builder::new().name(format!("network {id}")).spawn(move || {
        let result = network.run(&options, observer);
        running.store(false, Ordering::SeqCst);
        if let Err(e) = &result {
            run_events.send("error", json!({"message": e.to_string(), "graph": graph_id}));
        }
        if !stopped_by_user.load(Ordering::SeqCst) {
            let uptime = since.elapsed().as_secs_f64();
            run_events.send("stopped", json!({"graph": graph_id, "started": true, "running": false, "time": now(), "uptime": uptime}));
        }
        // After the protocol's events: a page being sent the end does not delay the editor.
        if let Some(watched) = watched {
            let reason = result.as_ref().err().map(|e| e.to_string());
            watched.finish(match (&result, &reason) {
                (Ok(report), _) => Ok(report),
                (Err(_), reason) => Err(reason.as_deref().unwrap_or_default()),
            });
        }
        run_ended.set();
    });
    if let Err(e) = spawned {
        events.send("error", json!({"message": format!("cannot start the network: {e}"), "graph": id}));
        return;
    }
    state.last_run = Some(ended);
    state.run = Some(run);
    state.started = true;
}

/// One edge as the reporter sees it: its event skeleton, whether to report it, whether it
/// leads into a `core/Output` node.
struct EdgeInfo {
    src: PortRef,
    tgt: PortRef,
    event: Value,
    reported: AtomicBool,
    into_output: bool,
}

/// The scheduler's observer for a protocol run: turns edge traffic and failures into events.
struct EdgeReporter {
    events: Events,
    /// Indexed like the scheduler's routes: the graph's edges in order.
    edges: Vec<EdgeInfo>,
}

impl EdgeReporter {
    fn new(graph: &Graph, events: Events, selection: Option<&[(PortRef, PortRef)]>) -> EdgeReporter {
        let graph_id = events.graph.clone();
        let edges = graph
            .edges()
            .map(|edge| EdgeInfo {
                src: edge.src.clone(),
                tgt: edge.tgt.clone(),
                event: json!({
                    "id": edge_id(&edge.src, &edge.tgt),
                    "graph": graph_id,
                    "src": wire_port(&edge.src),
                    "tgt": wire_port(&edge.tgt),
                }),
                reported: AtomicBool::new(selection.is_none_or(|s| s.iter().any(|(a, b)| a == &edge.src && b == &edge.tgt))),
                into_output: graph.process(&edge.tgt.process).is_some_and(|p| p.component == "core/Output"),
            })
            .collect();
        EdgeReporter { events, edges }
    }

    fn select(&self, selection: &[(PortRef, PortRef)]) {
        for edge in &self.edges {
            let chosen = selection.iter().any(|(src, tgt)| src == &edge.src && tgt == &edge.tgt);
            edge.reported.store(chosen, Ordering::Relaxed);
        }
    }

    fn report(&self, event: Value) {
        self.events.send("data", event);
    }

    /// What `core/Output` prints: a string as it is, anything else as JSON.
    fn output(&self, data: &Value) {
        let message = match data {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        self.events.send("output", json!({"message": message, "type": "message"}));
    }
}

impl Observer for EdgeReporter {
    /// What reaches an exported outport goes out as `runtime:packet`.
    fn exported(&self, port: &str, message: &Message) {
        self.events.send_in("runtime", "packet", json!({"port": port, "event": "data", "payload": message.data(), "graph": self.events.graph}));
    }

    fn failed(&self, failure: &ActorFailure) {
        self.events.send("processerror", json!({"id": failure.actor, "error": failure.message, "graph": self.events.graph}));
    }

    fn edge_data(&self, route: usize, message: &Message) {
        let Some(edge) = self.edges.get(route) else { return };
        if edge.reported.load(Ordering::Relaxed) {
            let mut event = edge.event.clone();
            event["data"] = message.data();
            self.report(event);
        }
        if edge.into_output {
            self.output(&message.data());
        }
    }
}

/// The current time as RFC 3339 UTC (`2026-11-27T21:05:00.123Z`), as the protocol's `time`.
pub fn now() -> String {
    reflow_trace::flowtrace::rfc3339(SystemTime::now())
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_is_rfc3339_utc() {
        let now = super::now();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z') && &now[4..5] == "-" && &now[10..11] == "T", "{now}");
        assert!(now.as_str() > "2024-01-01T00:00:00.000Z", "{now}");
    }
}
