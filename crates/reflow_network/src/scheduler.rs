//! Runs actors concurrently, one thread each, connected by bounded queues.
//!
//! Why threads: a plugin call is synchronous wasm execution, so an actor busy in a call holds
//! its thread no matter what; with one thread per actor, a slow or looping actor never delays
//! another one's messages. Each actor has one bounded inbox; every connection into it is a
//! sender tagged with the target inport, so order per connection is preserved and a full
//! inbox blocks the sender (back-pressure).
//!
//! When `process` is called (also in `docs/graph-format.md`):
//! - An actor without `required` inports fires once per arriving message, with a payload
//!   holding that one port.
//! - An actor with `required` inports queues messages per port and fires when every required
//!   port holds one; the payload then takes the oldest message of every port that holds one
//!   (required and optional).
//!
//! A run ends when every actor's inputs are exhausted: sources finish, each actor ends once all
//! its upstream actors have ended and its inbox is drained. Initial packets (IIPs) are in the
//! inboxes before any actor starts, so they arrive first.
//!
//! Supervision (docs/security.md): a failed call (a trap, a limit, an invalid result, a panic
//! in a native component) fails that call only. The message that caused it goes to the actor's
//! [`ERROR_PORT`] if the graph connects it, else to the run's dead letters; the actor's
//! [`FailurePolicy`] decides whether it goes on (a plugin's instance has been replaced with
//! its state from before the call), pauses, stops, or stops the whole graph.
//!
//! Two options serve a live editor (the network protocol) and cost nothing when off:
//! [`RunOptions::observe_edges`] reports each message crossing a connection to
//! [`Observer::edge_data`], and [`RunOptions::halt`] ends a run at once, queued messages
//! dropped, where `stop` only stops sources and lets queues drain (slow actors may hold
//! minutes of work; the scheduler itself would also run a cycle, which validation forbids).

use crate::component::{Component, ComponentError, Outputs};
use reflow_abi::Message;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The outport every actor has besides its declared ones: a failed call sends on it an
/// `Object` `{"actor": NAME, "error": TEXT, "payload": {PORT: MESSAGE}}` holding the messages
/// that caused the failure. Unconnected, those messages become dead letters instead.
pub const ERROR_PORT: &str = "error";

/// What happens when an actor's calls fail (a process's `metadata.on_failure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Failed calls the actor survives (a plugin's instance is replaced after each, keeping
    /// the state from before the call); `None`: no limit.
    pub max_restarts: Option<u32>,
    /// The pause after the n-th failed call: `backoff * 2^(n-1)`, at most `64 * backoff`.
    pub backoff: Duration,
    /// What the failed call after `max_restarts` does.
    pub then: Escalation,
}

impl Default for FailurePolicy {
    /// Survive every failure, without pausing: one bad message never costs the others.
    fn default() -> Self {
        FailurePolicy { max_restarts: None, backoff: Duration::ZERO, then: Escalation::StopActor }
    }
}

/// The end of an actor's restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// The actor stops: every message that still reaches it becomes a dead letter. The rest of
    /// the graph runs on.
    StopActor,
    /// The actor stops and the graph stops: sources stop producing, messages in flight finish,
    /// and the run reports the graph as failed.
    FailGraph,
}

/// Messages that were not processed, with the reason: the payload of a failed call whose actor
/// has no connected [`ERROR_PORT`], or a message that reached a stopped actor.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub actor: String,
    pub reason: String,
    pub payload: HashMap<String, Message>,
}

impl std::fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ports: Vec<_> = self.payload.iter().collect();
        ports.sort_by(|a, b| a.0.cmp(b.0));
        let payload: serde_json::Map<String, serde_json::Value> =
            ports.into_iter().map(|(p, m)| (p.clone(), m.to_json())).collect();
        write!(f, "actor {}: {}: {}", self.actor, self.reason, serde_json::Value::Object(payload))
    }
}

/// How often an idle actor looks at [`RunOptions::halt`].
const HALT_POLL: Duration = Duration::from_millis(20);

/// One actor ready to run.
pub struct ActorSpec {
    pub name: String,
    pub component: Box<dyn Component>,
    /// Initial packets, delivered before anything else, in this order.
    pub initial: Vec<(String, Message)>,
    pub policy: FailurePolicy,
}

/// A connection: `from` actor's outport to `to` actor's inport (indexes into the actor list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub from: usize,
    pub outport: String,
    pub to: usize,
    pub inport: String,
}

/// A graph outport: messages `actor` sends on `port` are also reported under `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub actor: usize,
    pub port: String,
}

pub struct RunOptions {
    /// Capacity of each actor's inbox, in messages.
    pub queue_capacity: usize,
    /// Set it to stop sources early (Ctrl-C); messages in flight still finish.
    pub stop: Arc<AtomicBool>,
    /// Report every message sent on a connection to [`Observer::edge_data`] (off: nothing is
    /// added to the sending path).
    pub observe_edges: bool,
    /// When given and raised, the run ends without waiting for inputs to run out: each actor
    /// finishes the call it is in, stops receiving (idle actors notice within 20 ms), drops
    /// what is still queued, calls `finish` and ends. Raise `stop` too, so sources stop.
    /// An actor blocked sending to a full inbox ends when that inbox's actor does.
    pub halt: Option<Arc<AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { queue_capacity: 64, stop: Arc::new(AtomicBool::new(false)), observe_edges: false, halt: None }
    }
}

/// What an actor did during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActorStats {
    pub name: String,
    /// Messages received (IIPs included).
    pub received: u64,
    /// Calls of `process`.
    pub calls: u64,
    /// Messages sent on connected or exported outports.
    pub sent: u64,
    /// Failed calls.
    pub errors: u64,
    /// Messages dropped for naming an undeclared outport.
    pub dropped: u64,
    /// Messages still queued on an inport when input ended, because a required port never
    /// got a message.
    pub unfired: u64,
    /// Messages that became dead letters (see [`DeadLetter`]).
    pub dead_letters: u64,
    /// True if the actor was stopped by its [`FailurePolicy`].
    pub stopped: bool,
}

/// A failed call, with the actor's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorFailure {
    pub actor: String,
    pub message: String,
}

impl std::fmt::Display for ActorFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "actor {}: {}", self.actor, self.message)
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub actors: Vec<ActorStats>,
    pub failures: Vec<ActorFailure>,
    /// The first [`MAX_KEPT_DEAD_LETTERS`] dead letters (all are counted in
    /// [`ActorStats::dead_letters`] and shown to the [`Observer`]).
    pub dead_letters: Vec<DeadLetter>,
    /// Why the graph failed, if an actor's policy is [`Escalation::FailGraph`] and it ran out
    /// of restarts.
    pub graph_failed: Option<String>,
}

/// How many dead letters a [`RunReport`] keeps (a stopped actor on a long stream would make
/// millions).
pub const MAX_KEPT_DEAD_LETTERS: usize = 10_000;

type Inbox = SyncSender<(Arc<str>, Message)>;

/// Receives what reaches the graph's exported outports, and failures as they happen.
pub trait Observer: Send + Sync {
    fn exported(&self, port: &str, message: &Message);
    fn failed(&self, failure: &ActorFailure);
    /// A message that was not processed (see [`DeadLetter`]).
    fn dead_letter(&self, _letter: &DeadLetter) {}
    /// A message is being sent on `routes[route]` (called only with
    /// [`RunOptions::observe_edges`], from the sending actor's thread, before delivery).
    fn edge_data(&self, _route: usize, _message: &Message) {}
}

/// Where an actor thread reports what went wrong: the observer, and the run's report.
struct Reports {
    observer: Arc<dyn Observer>,
    failures: Mutex<Vec<ActorFailure>>,
    dead_letters: Mutex<Vec<DeadLetter>>,
    graph_failed: Mutex<Option<String>>,
    stop: Arc<AtomicBool>,
}

impl Reports {
    fn failed(&self, failure: ActorFailure) {
        self.observer.failed(&failure);
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).push(failure);
    }

    fn dead_letter(&self, letter: DeadLetter) {
        self.observer.dead_letter(&letter);
        let mut kept = self.dead_letters.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < MAX_KEPT_DEAD_LETTERS {
            kept.push(letter);
        }
    }

    fn fail_graph(&self, reason: String) {
        self.stop.store(true, Ordering::SeqCst);
        self.graph_failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(reason);
    }
}

/// Runs `actors` wired by `routes` until every input is exhausted.
pub fn run(actors: Vec<ActorSpec>, routes: &[Route], exports: &[Export], options: &RunOptions, observer: Arc<dyn Observer>) -> RunReport {
    let n = actors.len();
    let mut inboxes = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for actor in &actors {
        // Room for the IIPs on top of the normal capacity: they are queued before any actor
        // runs, so they must never block.
        let (tx, rx) = sync_channel(options.queue_capacity.max(1) + actor.initial.len());
        inboxes.push(tx);
        receivers.push(rx);
    }
    for (actor, inbox) in actors.iter().zip(&inboxes) {
        for (port, message) in &actor.initial {
            inbox.send((port.as_str().into(), message.clone())).expect("receiver is alive");
        }
    }

    let reports = Arc::new(Reports {
        observer: observer.clone(),
        failures: Mutex::default(),
        dead_letters: Mutex::default(),
        graph_failed: Mutex::default(),
        stop: options.stop.clone(),
    });
    let mut handles = Vec::with_capacity(n);
    for (index, (spec, inbox)) in actors.into_iter().zip(receivers).enumerate() {
        let sent = Arc::new(AtomicU64::new(0));
        let outputs = outputs_for(index, routes, exports, &inboxes, &observer, &sent, options);
        let error_connected = routes.iter().any(|r| r.from == index && r.outport == ERROR_PORT)
            || exports.iter().any(|e| e.actor == index && e.port == ERROR_PORT);
        let reports = reports.clone();
        let halt = options.halt.clone();
        let name = spec.name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("actor {name}"))
            .spawn(move || {
                let mut stats = run_actor(spec, inbox, halt.as_deref(), &outputs, error_connected, &reports);
                stats.sent = sent.load(Ordering::Relaxed);
                stats
            })
            .expect("cannot start an actor thread");
        handles.push((name, handle));
    }
    // Only the actors' own outputs may keep an inbox open now.
    drop(inboxes);

    let actors = handles
        .into_iter()
        .map(|(name, handle)| handle.join().unwrap_or_else(|_| ActorStats { name, errors: 1, ..Default::default() }))
        .collect();
    fn take<T>(m: &Mutex<Vec<T>>) -> Vec<T> {
        std::mem::take(&mut *m.lock().unwrap_or_else(|p| p.into_inner()))
    }
    let graph_failed = reports.graph_failed.lock().unwrap_or_else(|p| p.into_inner()).take();
    RunReport { actors, failures: take(&reports.failures), dead_letters: take(&reports.dead_letters), graph_failed }
}

/// Builds the sending side of one actor: each outport fans out to every connected inbox and,
/// if exported, to the observer.
fn outputs_for(
    index: usize,
    routes: &[Route],
    exports: &[Export],
    inboxes: &[Inbox],
    observer: &Arc<dyn Observer>,
    sent: &Arc<AtomicU64>,
    options: &RunOptions,
) -> Outputs {
    type Targets = Vec<(Inbox, Arc<str>, usize)>;
    let mut table: HashMap<String, (Targets, Vec<String>)> = HashMap::new();
    for (at, route) in routes.iter().enumerate().filter(|(_, r)| r.from == index) {
        table.entry(route.outport.clone()).or_default().0.push((inboxes[route.to].clone(), route.inport.as_str().into(), at));
    }
    let observe_edges = options.observe_edges;
    for export in exports.iter().filter(|e| e.actor == index) {
        table.entry(export.port.clone()).or_default().1.push(export.name.clone());
    }
    let observer = observer.clone();
    let sent = sent.clone();
    let sink = move |port: &str, message: Message| {
        let Some((targets, exported)) = table.get(port) else { return };
        sent.fetch_add(1, Ordering::Relaxed);
        for name in exported {
            observer.exported(name, &message);
        }
        if observe_edges {
            for (_, _, route) in targets {
                observer.edge_data(*route, &message);
            }
        }
        if let Some(((last, last_port, _), rest)) = targets.split_last() {
            for (inbox, inport, _) in rest {
                // A closed inbox means that actor is gone (it cannot happen before its
                // upstream ends unless the run is halted, but a lost message must not take
                // this actor down).
                let _ = inbox.send((inport.clone(), message.clone()));
            }
            let _ = last.send((last_port.clone(), message));
        }
    };
    Outputs::new(Arc::new(sink), options.stop.clone())
}

/// The next message, or `None` once the inbox is closed (or the run halted).
fn receive(inbox: &Receiver<(Arc<str>, Message)>, halt: Option<&AtomicBool>) -> Option<(Arc<str>, Message)> {
    let Some(halt) = halt else { return inbox.recv().ok() };
    loop {
        if halt.load(Ordering::Relaxed) {
            return None;
        }
        match inbox.recv_timeout(HALT_POLL) {
            Ok(item) => return Some(item),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// One actor's supervision: counts its failures and applies its [`FailurePolicy`].
struct Supervisor<'a> {
    name: &'a str,
    policy: &'a FailurePolicy,
    outputs: &'a Outputs,
    error_connected: bool,
    reports: &'a Reports,
    failures: u32,
    /// Why the actor is stopped, once it is.
    stopped: Option<String>,
}

impl Supervisor<'_> {
    /// Runs one call of `component` with `payload`, or dead-letters it if the actor is stopped.
    fn fire(&mut self, component: &mut Box<dyn Component>, payload: HashMap<String, Message>, stats: &mut ActorStats) {
        if let Some(reason) = &self.stopped {
            stats.dead_letters += 1;
            self.reports.dead_letter(DeadLetter { actor: self.name.to_string(), reason: reason.clone(), payload });
            return;
        }
        stats.calls += 1;
        let outputs = self.outputs;
        let Err(error) = guarded(|| component.process(payload.clone(), outputs)) else { return };
        stats.errors += 1;
        self.failures += 1;
        self.reports.failed(ActorFailure { actor: self.name.to_string(), message: error.0.clone() });
        if self.error_connected {
            let ports: serde_json::Map<String, serde_json::Value> =
                payload.iter().map(|(p, m)| (p.clone(), m.to_json())).collect();
            let report = serde_json::json!({"actor": self.name, "error": error.0, "payload": ports});
            self.outputs.send(ERROR_PORT, Message::Object(report));
        } else {
            stats.dead_letters += 1;
            self.reports.dead_letter(DeadLetter { actor: self.name.to_string(), reason: error.0, payload });
        }
        if self.policy.max_restarts.is_some_and(|max| self.failures > max) {
            let reason = format!("stopped after {} failed call(s)", self.failures);
            stats.stopped = true;
            if self.policy.then == Escalation::FailGraph {
                self.reports.fail_graph(format!("actor {}: {reason}; its failure policy stops the graph", self.name));
            }
            tracing::warn!("actor {}: {reason}", self.name);
            self.stopped = Some(reason);
        } else if !self.policy.backoff.is_zero() {
            std::thread::sleep(self.policy.backoff * (1u32 << (self.failures - 1).min(6)));
        }
    }

    /// A failure outside a call (a source, the final flush): reported, and counted.
    fn failed_outside_call(&mut self, error: ComponentError, stats: &mut ActorStats) {
        stats.errors += 1;
        self.reports.failed(ActorFailure { actor: self.name.to_string(), message: error.0 });
    }
}

fn run_actor(
    mut spec: ActorSpec,
    inbox: Receiver<(Arc<str>, Message)>,
    halt: Option<&AtomicBool>,
    outputs: &Outputs,
    error_connected: bool,
    reports: &Reports,
) -> ActorStats {
    let mut stats = ActorStats { name: spec.name.clone(), ..Default::default() };
    let name = spec.name.clone();
    let mut supervisor = Supervisor {
        name: &name,
        policy: &spec.policy,
        outputs,
        error_connected,
        reports,
        failures: 0,
        stopped: None,
    };
    let component = &mut spec.component;
    if let Err(e) = guarded(|| component.run_source(outputs)) {
        supervisor.failed_outside_call(e, &mut stats);
    }
    let required: Vec<String> =
        component.metadata().inports.iter().filter(|p| p.required).map(|p| p.name.clone()).collect();
    let mut queues: HashMap<Arc<str>, VecDeque<Message>> = HashMap::new();
    while let Some((port, message)) = receive(&inbox, halt) {
        stats.received += 1;
        if required.is_empty() {
            let payload = HashMap::from([(port.to_string(), message)]);
            supervisor.fire(component, payload, &mut stats);
            continue;
        }
        queues.entry(port).or_default().push_back(message);
        while required.iter().all(|p| queues.get(p.as_str()).is_some_and(|q| !q.is_empty())) {
            let payload: HashMap<String, Message> = queues
                .iter_mut()
                .filter_map(|(port, queue)| queue.pop_front().map(|m| (port.to_string(), m)))
                .collect();
            supervisor.fire(component, payload, &mut stats);
        }
    }
    stats.unfired = queues.values().map(|q| q.len() as u64).sum();
    if stats.unfired > 0 {
        let missing: Vec<&str> =
            required.iter().filter(|p| queues.get(p.as_str()).is_none_or(|q| q.is_empty())).map(String::as_str).collect();
        tracing::warn!(
            "actor {}: {} message(s) never processed: required inport(s) {} got no more messages",
            spec.name,
            stats.unfired,
            missing.join(", ")
        );
    }
    if let Err(e) = guarded(|| component.finish(outputs)) {
        supervisor.failed_outside_call(e, &mut stats);
    }
    stats.dropped = component.dropped_messages();
    stats
}

/// A panic inside a component (a bug in a native one) fails that call, not the network.
fn guarded(f: impl FnOnce() -> Result<(), ComponentError>) -> Result<(), ComponentError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(ComponentError(format!("panicked: {text}")))
        }
    }
}
