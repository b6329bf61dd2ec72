//! The state every client shares and the dispatch of one message: envelope and secret
//! checks, then the sub-protocol's handler. A bad message is answered with an `error` in its
//! protocol (or `runtime:error` when it has none) and changes nothing.

use crate::watch::Watcher;
use crate::access::secret_matches;
use crate::components::Catalog;
use crate::graphs::{self, GraphEntry};
use crate::messages::{Reply, Request};
use crate::network;
use crate::setsource::{BuildConfig, Builder};
use reflow_network::SandboxPolicy;
use reflow_network::{Grants, Limits};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::UnboundedSender;

/// The protocol version we speak (what `fbp-test` tests by default).
pub const PROTOCOL_VERSION: &str = "0.7";

/// What we claim in `runtime:runtime`.
pub const CAPABILITIES: &[&str] = &[
    "protocol:runtime",
    "protocol:graph",
    "protocol:component",
    "protocol:network",
    "network:status",
    "network:data",
    "network:control",
    "protocol:trace",
    "component:getsource",
];

/// How the runtime behaves, whatever the transport.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// When set, every message must carry it (`secret`, or `payload.secret` for old clients).
    /// `reflow serve` always sets one (generated unless given).
    pub secret: Option<String>,
    /// Where `.wasm` components are listed from and resolved against (component names are
    /// paths relative to it). `None`: built-ins only, no plugin can be used.
    pub components: Option<PathBuf>,
    /// Sandbox limits for every plugin actor.
    pub limits: Limits,
    /// Grants a node's `metadata.sandbox.grants` may ask for (what one of them covers:
    /// [`Grants::covers`]). Default: none.
    pub allowed_grants: Grants,
    /// The highest limits a node's `metadata.sandbox` may ask for; `None`: [`Self::limits`],
    /// so that a client may only tighten them.
    pub limit_ceiling: Option<Limits>,
    /// The folder `reflow/ReadJsonLines` and `reflow/WriteJsonLines` may read and write in
    /// (their `path`s are relative to it). `None`: a client cannot use them.
    pub files: Option<PathBuf>,
    /// Whether `network:persist` may write graphs (as `ID.json`) into [`Self::components`].
    pub persist: bool,
    /// Whether `component:source` may build code into plugins of [`Self::components`], and
    /// with what (`reflow serve --allow-build`). `None`: it is refused.
    pub build: Option<BuildConfig>,
    /// Watches every network a client starts (`reflow serve --inspect`); `None`: nothing does.
    pub watcher: Option<Watcher>,
}

impl RuntimeConfig {
    /// The policy a node's sandbox metadata is read under.
    pub fn sandbox_policy(&self) -> SandboxPolicy {
        SandboxPolicy::Within { grants: self.allowed_grants.clone(), ceiling: self.limit_ceiling.unwrap_or(self.limits) }
    }
}

/// Messages a client may have queued before `data` and `output` events for it are dropped
/// (a network can send packets far faster than an editor reads them).
pub const MAX_BACKLOG: usize = 10_000;

/// One connected client: where its messages go (its connection's writer).
#[derive(Clone)]
pub struct Client {
    id: u64,
    tx: UnboundedSender<String>,
    /// Messages queued and not yet written; the writer counts them down ([`Backlog::written`]).
    backlog: Backlog,
    /// Whether it gets network events: only once a message of its carried the secret.
    admitted: Arc<AtomicBool>,
}

/// How many messages wait in a client's queue.
#[derive(Clone, Default)]
pub struct Backlog(Arc<AtomicUsize>);

impl Backlog {
    /// The writer wrote one message.
    pub fn written(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Client {
    /// Queues `reply` for this client (a reply to one of its messages: never dropped).
    pub fn send(&self, reply: &Reply) {
        self.send_text(reply.to_text());
    }

    fn send_text(&self, text: String) -> bool {
        self.backlog.0.fetch_add(1, Ordering::Relaxed);
        // A closed channel means the connection is gone; nothing is left to tell.
        let sent = self.tx.send(text).is_ok();
        if !sent {
            self.backlog.written();
        }
        sent
    }

    /// The count its writer must decrement for each message written.
    pub fn backlog(&self) -> Backlog {
        self.backlog.clone()
    }
}

/// Every connected client, for events that all of them see (network events).
#[derive(Default)]
pub struct Hub {
    clients: Mutex<Vec<Client>>,
    next_id: AtomicU64,
}

impl Hub {
    /// A client for a connection's writer, not yet seeing network events: it joins them once
    /// one of its messages carried the secret ([`Hub::admit`]).
    pub fn connect(&self, tx: UnboundedSender<String>) -> Client {
        Client { id: self.next_id.fetch_add(1, Ordering::Relaxed), tx, backlog: Backlog::default(), admitted: Arc::default() }
    }

    /// A client that sees network events from now on (an in-process caller).
    pub fn join(&self, tx: UnboundedSender<String>) -> Client {
        let client = self.connect(tx);
        self.admit(&client);
        client
    }

    /// `client` gets network events from now on (idempotent).
    pub fn admit(&self, client: &Client) {
        if !client.admitted.swap(true, Ordering::SeqCst) {
            lock(&self.clients).push(client.clone());
        }
    }

    pub fn leave(&self, client: &Client) {
        lock(&self.clients).retain(|c| c.id != client.id);
    }

    pub fn broadcast(&self, reply: &Reply) {
        let text = reply.to_text();
        lock(&self.clients).retain(|c| c.send_text(text.clone()));
    }

    /// Like [`Hub::broadcast`], but skips clients with more than [`MAX_BACKLOG`] messages
    /// waiting: for events a slow client can miss (`data`, `output`) without losing track.
    pub fn broadcast_lossy(&self, reply: &Reply) {
        let text = reply.to_text();
        lock(&self.clients).retain(|c| {
            if c.backlog.0.load(Ordering::Relaxed) > MAX_BACKLOG {
                tracing::debug!("client {}: {} dropped, {MAX_BACKLOG} messages wait already", c.id, reply.command);
                return true;
            }
            c.send_text(text.clone())
        });
    }
}

/// A poisoned lock only means another handler panicked; the data is still consistent
/// enough to go on (every edit is one call on the graph).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The runtime: graphs by id, the component catalog, running networks.
pub struct Runtime {
    config: RuntimeConfig,
    hub: Arc<Hub>,
    catalog: Catalog,
    graphs: Mutex<HashMap<String, GraphEntry>>,
    main_graph: Mutex<Option<String>>,
    /// Numbers each `network:start`, to tell a start still preparing from a newer one.
    starts: AtomicU64,
    /// Builds `component:source`'s code, when the operator allowed it.
    builder: Option<Builder>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Runtime {
        let catalog = Catalog::new(config.components.clone(), config.limits, config.files.is_some());
        for conflict in catalog.conflicts() {
            tracing::warn!("--components: {conflict}");
        }
        let builder = match (&config.components, &config.build) {
            (Some(dir), Some(build)) => Some(Builder::new(dir.clone(), build.clone(), config.limits)),
            _ => None,
        };
        Runtime { config, hub: Arc::new(Hub::default()), catalog, graphs: Mutex::default(), main_graph: Mutex::default(), starts: AtomicU64::new(1), builder }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The graph `id` as FBP JSON (what `reflow run` runs), if it exists.
    pub fn graph_json(&self, id: &str) -> Option<String> {
        lock(&self.graphs).get(id).map(|entry| entry.graph.to_fbp_json())
    }

    /// Handles one text frame from `client`. Never fails: problems are answered.
    pub fn handle(&self, client: &Client, text: &str) {
        let request: Request = match serde_json::from_str(text) {
            Ok(request) => request,
            Err(e) => {
                client.send(&Reply::error("runtime", format!("Malformed message: {e}")));
                return;
            }
        };
        let protocol = match request.protocol.as_str() {
            p @ ("runtime" | "graph" | "component" | "network" | "trace") => p,
            _ => "runtime",
        };
        if let Some(secret) = &self.config.secret {
            if !secret_matches(secret, request.secret()) {
                client.send(&Reply::error(protocol, "Invalid secret"));
                return;
            }
        }
        self.hub.admit(client);
        if !request.payload.is_object() {
            client.send(&Reply::error(protocol, "The payload must be a JSON object"));
            return;
        }
        let respond = |mut reply: Reply| {
            reply.response_to = request.request_id.clone();
            client.send(&reply);
        };
        let result = match request.protocol.as_str() {
            "runtime" if request.command == "packet" => {
                network::packet(&mut lock(&self.graphs), &request).map(|replies| replies.into_iter().for_each(respond))
            }
            "runtime" => self.runtime(&request).map(|replies| replies.into_iter().for_each(respond)),
            "component" => self.component(&request).map(|replies| replies.into_iter().for_each(respond)),
            "graph" => {
                let edit = {
                    let mut graphs = lock(&self.graphs);
                    graphs::handle(&mut graphs, &self.catalog, &request)
                };
                if let (Ok(_), "clear") = (&edit, request.command.as_str()) {
                    if request.payload.get("main").and_then(Value::as_bool) == Some(true) {
                        *lock(&self.main_graph) = request.payload.get("id").and_then(Value::as_str).map(String::from);
                    }
                }
                edit.map(|(replies, ports)| {
                    replies.into_iter().for_each(respond);
                    // Typed with no graph locked (it may compile a plugin).
                    if let Some(ports) = ports {
                        respond(ports.reply(&self.catalog));
                    }
                })
            }
            // Network events go to every client, in the order they happen; the handlers send
            // them themselves (a run's first events may come before they return).
            "network" if request.command == "start" => {
                let token = self.starts.fetch_add(1, Ordering::Relaxed);
                network::start(&self.graphs, &self.hub, &self.config, token, &request).map(|replies| replies.into_iter().for_each(respond))
            }
            "network" if request.command == "persist" => self.persist().map(|reply| respond(reply)),
            "network" => network::handle(&mut lock(&self.graphs), &self.hub, &request).map(|replies| replies.into_iter().for_each(respond)),
            "trace" => crate::trace::handle(&mut lock(&self.graphs), &request).map(|replies| replies.into_iter().for_each(respond)),
            other => Err(format!("Unknown protocol {other:?}")),
        };
        if let Err(message) = result {
            let mut reply = Reply::error(protocol, message);
            reply.response_to = request.request_id.clone();
            client.send(&reply);
        }
    }

    /// `network:persist`: every graph, as FBP JSON, into the components folder (`ID.json`, the
    /// id's characters other than letters, digits, `-` and `_` as `_`), plugins named by their
    /// paths, so that `reflow run DIR/ID.json` runs what the editor built. Only when the
    /// operator allowed it (`--allow-persist`): it writes files.
    fn persist(&self) -> Result<Reply, String> {
        let dir = match (&self.config.components, self.config.persist) {
            (Some(dir), true) => dir,
            _ => return Err("Graphs are kept in memory only: network:persist writes files, which this runtime allows only when \
                 reflow serve is started with --allow-persist (and --components)"
                .to_string()),
        };
        let graphs = lock(&self.graphs);
        let mut written = Vec::new();
        for (id, entry) in graphs.iter() {
            let mut graph = entry.graph.clone();
            reflow_network::loader::resolve_components(&mut graph);
            let mut file: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
            if file.is_empty() {
                file.push('_');
            }
            let path = dir.join(format!("{file}.json"));
            std::fs::write(&path, graph.to_fbp_json()).map_err(|e| format!("Cannot persist graph {id} to {}: {e}", path.display()))?;
            written.push(id.clone());
        }
        written.sort();
        Ok(Reply::new("network", "persist", json!({"graphs": written})))
    }

    fn runtime(&self, request: &Request) -> Result<Vec<Reply>, String> {
        match request.command.as_str() {
            "getruntime" => {
                let mut capabilities = CAPABILITIES.to_vec();
                // Only when the operator allowed it: an editor then offers to save.
                if self.config.persist && self.config.components.is_some() {
                    capabilities.push("network:persist");
                }
                if self.builder.is_some() {
                    capabilities.push("component:setsource");
                }
                let mut payload = json!({
                    "type": "reflow",
                    "version": PROTOCOL_VERSION,
                    "capabilities": capabilities,
                    "allCapabilities": capabilities,
                    "label": "Reflow WASM runtime",
                    "repositoryVersion": env!("CARGO_PKG_VERSION"),
                });
                if let Some(main) = lock(&self.main_graph).clone() {
                    payload["graph"] = json!(main);
                }
                Ok(vec![Reply::new("runtime", "runtime", payload)])
            }
            other => Err(format!("Unknown runtime command {other:?}")),
        }
    }

    fn component(&self, request: &Request) -> Result<Vec<Reply>, String> {
        match request.command.as_str() {
            "list" => Ok(self.catalog.list()),
            "getsource" => Ok(vec![self.catalog.source(&crate::messages::string(&request.payload, "name")?)?]),
            "source" => self.set_source(request),
            other => Err(format!("Unknown component command {other:?}")),
        }
    }
}

impl Runtime {
    /// `component:source`: the code built into a plugin (see [`crate::setsource`]), answered
    /// with its `component` message; then swapped into the running actors of every graph that
    /// uses it, keeping their state. A graph whose actors cannot take it (a port it connects
    /// is gone) keeps the old version, and the client is told which and why.
    fn set_source(&self, request: &Request) -> Result<Vec<Reply>, String> {
        let Some(builder) = &self.builder else {
            return Err("component:source (setsource) is not allowed by this runtime: building a client's code runs a compiler with \
                 the server's authority, so it needs reflow serve --allow-build (with --components). Without it, build the \
                 plugin with `reflow build` and put the .wasm in the --components folder"
                .to_string());
        };
        let built = builder.set_source(&request.payload)?;
        let mut replies = vec![crate::components::component_message(&built.name, &built.metadata)];
        // Each swap compiles the module again: done with no graph locked.
        let reloaders = network::reloaders(&lock(&self.graphs));
        for (graph, reloader) in reloaders {
            match reloader.replace(&built.path, built.module.clone()) {
                Ok(processes) => tracing::info!("graph {graph}: {} now run(s) the new {}", processes.join(", "), built.name),
                Err(reflow_network::ReloadError::NotRunning { .. }) => {}
                Err(e) => replies.push(Reply::error(
                    "component",
                    format!("Component {} is built and listed, but the running graph {graph} keeps the version before: {e}", built.name),
                )),
            }
        }
        Ok(replies)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for entry in lock(&self.graphs).values_mut() {
            entry.network.halt();
        }
    }
}
