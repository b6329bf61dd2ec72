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

/// How often an idle actor looks at [`RunOptions::halt`].
const HALT_POLL: Duration = Duration::from_millis(20);

/// One actor ready to run.
pub struct ActorSpec {
    pub name: String,
    pub component: Box<dyn Component>,
    /// Initial packets, delivered before anything else, in this order.
    pub initial: Vec<(String, Message)>,
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
}

type Inbox = SyncSender<(Arc<str>, Message)>;

/// Receives what reaches the graph's exported outports, and failures as they happen.
pub trait Observer: Send + Sync {
    fn exported(&self, port: &str, message: &Message);
    fn failed(&self, failure: &ActorFailure);
    /// A message is being sent on `routes[route]` (called only with
    /// [`RunOptions::observe_edges`], from the sending actor's thread, before delivery).
    fn edge_data(&self, _route: usize, _message: &Message) {}
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

    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::with_capacity(n);
    for (index, (spec, inbox)) in actors.into_iter().zip(receivers).enumerate() {
        let sent = Arc::new(AtomicU64::new(0));
        let outputs = outputs_for(index, routes, exports, &inboxes, &observer, &sent, options);
        let failures = failures.clone();
        let halt = options.halt.clone();
        let observer = observer.clone();
        let name = spec.name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("actor {name}"))
            .spawn(move || {
                let mut stats = run_actor(spec, inbox, halt.as_deref(), &outputs, &|failure| {
                    observer.failed(&failure);
                    failures.lock().unwrap_or_else(|p| p.into_inner()).push(failure);
                });
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
    let failures = std::mem::take(&mut *failures.lock().unwrap_or_else(|p| p.into_inner()));
    RunReport { actors, failures }
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

fn run_actor(
    mut spec: ActorSpec,
    inbox: Receiver<(Arc<str>, Message)>,
    halt: Option<&AtomicBool>,
    outputs: &Outputs,
    report: &dyn Fn(ActorFailure),
) -> ActorStats {
    let mut stats = ActorStats { name: spec.name.clone(), ..Default::default() };
    let name = spec.name.clone();
    let fail = |stats: &mut ActorStats, error: ComponentError| {
        stats.errors += 1;
        report(ActorFailure { actor: name.clone(), message: error.0 });
    };
    let component = &mut spec.component;
    if let Err(e) = guarded(|| component.run_source(outputs)) {
        fail(&mut stats, e);
    }
    let required: Vec<String> =
        component.metadata().inports.iter().filter(|p| p.required).map(|p| p.name.clone()).collect();
    let mut queues: HashMap<Arc<str>, VecDeque<Message>> = HashMap::new();
    while let Some((port, message)) = receive(&inbox, halt) {
        stats.received += 1;
        if required.is_empty() {
            let payload = HashMap::from([(port.to_string(), message)]);
            stats.calls += 1;
            if let Err(e) = guarded(|| component.process(payload, outputs)) {
                fail(&mut stats, e);
            }
            continue;
        }
        queues.entry(port).or_default().push_back(message);
        while required.iter().all(|p| queues.get(p.as_str()).is_some_and(|q| !q.is_empty())) {
            let payload: HashMap<String, Message> = queues
                .iter_mut()
                .filter_map(|(port, queue)| queue.pop_front().map(|m| (port.to_string(), m)))
                .collect();
            stats.calls += 1;
            if let Err(e) = guarded(|| component.process(payload, outputs)) {
                fail(&mut stats, e);
            }
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
        fail(&mut stats, e);
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
