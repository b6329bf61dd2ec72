//! Runs a network's actors on a fixed pool of worker threads, connected by bounded queues.
//!
//! # Why a pool of cells
//!
//! An actor is a *cell*: its component, a bounded inbox and a three-state flag (idle,
//! scheduled, running). A fixed pool of workers (default: the machine's cores,
//! [`RunOptions::workers`]) takes cells from one ready queue and *activates* them. A cell is in
//! the ready queue at most once (the idle -> scheduled transition enqueues it), so waking an
//! actor costs one queue push per batch of messages, not one per message, and an idle actor
//! costs memory only, never a thread. A thread per actor, as before, gave every actor
//! isolation from a slow neighbour but aborted near 16,000 actors and spent most of a 2-core
//! machine's time switching between threads.
//!
//! # An activation
//!
//! 1. Whatever the previous activation could not deliver is delivered first; if it still does
//!    not fit, the actor stays *parked* (below) and the activation ends.
//! 2. A source ([`Component::poll_source`]) produces up to `BUDGET` (64) messages.
//! 3. Up to `BUDGET` (64) firings are taken from the inbox, so one busy actor cannot starve the
//!    others, and handed to the component together ([`Component::process_batch`]: one
//!    `process` call each, or, for a WASM plugin that takes batches, one call across the
//!    boundary for all of them; a failure is supervised as the failure of that firing alone);
//!    if more remains, the cell goes to the back of the ready queue.
//! 4. What the calls sent (including a plugin's `__send_output` during a call) was held in the
//!    activation's *outbox*, grouped per target actor; it is now *flushed*: one lock and at
//!    most one wake-up per target. Order per connection is the order of sending.
//!
//! # Back-pressure without blocking a worker
//!
//! A flush moves only what fits in the target's inbox: at most [`RunOptions::queue_capacity`]
//! messages *and* [`RunOptions::queue_bytes`] bytes (an estimate of each message's JSON size;
//! a single message larger than the byte bound is let into an empty inbox, or nothing could
//! ever move). What does not fit stays in the sender's outbox and the sender is *parked*: it
//! registers with the target as a waiter and is not activated for new input, nor polled as a
//! source, until the target has taken messages out of its inbox and woken its waiters. No
//! worker ever waits for room, so a plugin's call time limit never includes time spent
//! waiting on a full queue. An actor with `required` inports has one bounded queue per inport
//! instead of one inbox, so a port that starves lets the others fill up to the bound and then
//! holds their senders, instead of growing without limit.
//!
//! Inside a cycle the bound is not applied: an actor that sends to itself, or two actors that
//! feed each other, would otherwise wait on each other for ever once both queues were full.
//! Edges *into* a strongly connected component are bounded, so a source feeding a loop is
//! still held back; what circulates inside the loop is what the graph makes circulate.
//!
//! # Long calls
//!
//! A plugin call runs to its end (or its time limit) on the worker that started it. A monitor
//! thread looks at the workers every `STUCK_AFTER` (50 ms): a worker still in the same activation as
//! at the previous look, while other cells wait in the ready queue, gets a compensating worker
//! (at most `MAX_COMPENSATING` (64) at a time); when the stuck activation returns, its worker
//! retires, so the pool is back to its size. This is Go's `sysmon` and tokio's
//! `block_in_place` idea: simpler than wasmtime's async support with epoch yielding (which
//! would make every host call a future, and the native components too), and it leaves a
//! healthy actor at most one tick behind a looping one. The monitor sleeps without a timeout
//! while every worker is asleep, so an idle network does not poll.
//!
//! # When `process` is called (also in `docs/graph-format.md`)
//!
//! - An actor without `required` inports fires once per arriving message, with a payload
//!   holding that one port.
//! - An actor with `required` inports queues messages per port and fires when every required
//!   port holds one; the payload then takes the oldest message of every port that holds one
//!   (required and optional).
//!
//! Initial packets (IIPs) are in the inboxes before any actor is activated, so they arrive
//! first. Every actor is activated once at the start (a source then makes its first step).
//!
//! # How a run ends
//!
//! By quiescence. One counter holds the messages queued in inboxes that their actor has not
//! looked at yet and the scheduled or running activations; each is counted before what it
//! replaces is uncounted (a message is counted in its target's inbox before the activation
//! that sent it ends), so the counter never reaches zero early. A live source is always
//! scheduled again unless it is parked, and a parked actor waits on one that is counted
//! unless it can never make room: so neither needs a count of its own. At zero nothing can ever
//! happen again: the run is over, and cycles need no special case. Messages left in the queue
//! of a required inport that never got its partner, or held for such a queue, do not keep a
//! run alive: they are counted in [`ActorStats::unfired`].
//!
//! Then each actor's [`Component::finish`] is called, in topological order of the graph
//! (within a cycle, in graph order); what a `finish` sends is delivered, and the network is
//! again quiescent, before the next actor's `finish`, so a sink downstream flushes after the
//! last message reached it.
//!
//! # Supervision (docs/security.md)
//!
//! A failed call (a trap, a limit, an invalid result, a panic in a native component) fails
//! that call only. The message that caused it goes to the actor's [`ERROR_PORT`] if the graph
//! connects it, else to the run's dead letters; the actor's [`FailurePolicy`] decides whether
//! it goes on (a plugin's instance has been replaced with its state from before the call),
//! pauses, stops, or stops the whole graph.
//!
//! # Checkpoints (`checkpoint.rs`, docs/state.md)
//!
//! With [`RunOptions::checkpoint`], the coordinator takes a consistent cut of the whole graph
//! every [`Checkpointing::interval`] and when the run ends: it *pauses* the pool (workers take
//! no new activation, running ones finish), so that every message is in an inbox or an outbox
//! and every component is between two calls; it asks each component for what it must keep
//! ([`Component::checkpoint`]: a plugin's state, a source's position, a sink's length), copies
//! every queued and held message, resumes the pool, and hands the cut to the
//! [`Checkpointer`] (one store transaction) while the graph runs on. A restored cut is a state
//! the run passed through, cycles included; a run resumed from it redoes what came after.
//!
//! # Options for live editors
//!
//! [`RunOptions::observe_edges`] reports each message crossing a connection to
//! [`Observer::edge_data`] (from the sending side, when it is sent), and [`RunOptions::halt`]
//! ends a run at once, queued messages dropped, where `stop` only stops sources and lets queues
//! drain (slow actors may hold minutes of work, and a cycle may never drain).
//! [`RunOptions::probe`] publishes live counters for a web inspector ([`Probe`]).
//! [`RunOptions::inlet`] lets an editor send into the graph's exported inports while it runs;
//! an open inlet counts as a live source, so the run lasts until it is closed ([`Inlet`]).

mod cell;
mod checkpoint;
mod inlet;
mod pool;
mod probe;
mod supervise;
mod wiring;

#[cfg(test)]
mod tests;

use crate::component::Component;
pub use checkpoint::{ActorCut, Checkpointer, Checkpointing, Cut, SourcePhase, DEFAULT_CHECKPOINT_INTERVAL};
pub use probe::{ActorSample, ActorShape, LiveRun, Probe, QueueFill, RouteShape, Sample};
pub use inlet::{Inlet, InletError, EARLY_BOUND};
use reflow_abi::Message;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Firings (or, for a source, messages) per activation before the actor yields its worker.
pub(crate) const BUDGET: usize = 64;

/// How long an activation may hold its worker before the monitor starts a compensating one.
pub(crate) const STUCK_AFTER: Duration = Duration::from_millis(50);

/// Compensating workers alive at once, at most.
pub(crate) const MAX_COMPENSATING: usize = 64;

/// The default byte bound of a queue: 16 MiB of (estimated) JSON per inbox or inport queue.
pub const DEFAULT_QUEUE_BYTES: usize = 16 << 20;

/// The largest queue capacity accepted, in messages.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

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
#[non_exhaustive]
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

/// One actor ready to run.
pub(crate) struct ActorSpec {
    pub name: String,
    pub component: Box<dyn Component>,
    /// Initial packets, delivered before anything else, in this order (for a run resumed from
    /// a checkpoint: what its inbox held, by inport).
    pub initial: Vec<(String, Message)>,
    pub policy: FailurePolicy,
    /// A resumed run's messages that this actor had sent and not yet delivered (a parked
    /// sender's), as (target actor, inport, message), in sending order.
    pub held: Vec<(usize, String, Message)>,
    /// Where its source was (a resumed run's; a fresh actor's is unpolled).
    pub source: SourcePhase,
}

impl ActorSpec {
    /// A fresh actor: no initial packets, the default failure policy.
    pub fn new(name: impl Into<String>, component: Box<dyn Component>) -> ActorSpec {
        ActorSpec { name: name.into(), component, initial: Vec::new(), policy: FailurePolicy::default(), held: Vec::new(), source: SourcePhase::Unpolled }
    }
}

/// A connection: `from` actor's outport to `to` actor's inport (indexes into the actor list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub from: usize,
    pub outport: String,
    pub to: usize,
    pub inport: String,
}

/// A graph outport: messages `actor` sends on `port` are also reported under `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Export {
    pub name: String,
    pub actor: usize,
    pub port: String,
}

/// Ends a run at once when raised (see [`RunOptions::halt`]). Raising it wakes the run, so a
/// run that waits on it costs nothing while it waits.
#[derive(Clone, Default)]
pub struct Halt(Arc<HaltInner>);

#[derive(Default)]
struct HaltInner {
    raised: AtomicBool,
    /// The run to wake, while one is going.
    waker: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl Halt {
    pub fn new() -> Halt {
        Halt::default()
    }

    /// Ends the run (now or, if it has not started, as soon as it does).
    pub fn raise(&self) {
        self.0.raised.store(true, Ordering::SeqCst);
        let waker = self.0.waker.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(wake) = waker {
            wake();
        }
    }

    pub fn is_raised(&self) -> bool {
        self.0.raised.load(Ordering::SeqCst)
    }

    fn set_waker(&self, waker: Option<Arc<dyn Fn() + Send + Sync>>) {
        *self.0.waker.lock().unwrap_or_else(|p| p.into_inner()) = waker;
    }
}

#[derive(Clone)]
pub struct RunOptions {
    /// Capacity of each actor's inbox (and of each inport queue of an actor with `required`
    /// inports), in messages: 1 to [`MAX_QUEUE_CAPACITY`].
    pub queue_capacity: usize,
    /// Capacity of each queue in bytes of estimated JSON (a single larger message still fits
    /// an empty queue).
    pub queue_bytes: usize,
    /// Worker threads; 0: one per core.
    pub workers: usize,
    /// Set it to stop sources early (Ctrl-C); messages in flight still finish.
    pub stop: Arc<AtomicBool>,
    /// Report every message sent on a connection to [`Observer::edge_data`] (off: nothing is
    /// added to the sending path).
    pub observe_edges: bool,
    /// When given and raised, the run ends without waiting for inputs to run out: each
    /// activation in progress finishes the call it is in, nothing more is activated, what is
    /// still queued is dropped, every actor's `finish` is called (what it sends is dropped) and
    /// the run returns. Raise `stop` too, so that sources stop.
    pub halt: Option<Halt>,
    /// Consistent checkpoints of the whole graph (see "Checkpoints" above); `None`: none.
    pub checkpoint: Option<Checkpointing>,
    /// When given, the run publishes live counters there (messages per connection; calls,
    /// errors, dead letters, restarts and call times per actor; queue fill on demand): see
    /// [`Probe`]. `None` adds nothing to the sending or calling path.
    pub probe: Option<Arc<Probe>>,
    /// When given, messages can be sent into the graph's exported inports while the network
    /// runs, and the run does not end by quiescence until the inlet is closed ([`Inlet`]).
    pub inlet: Option<Inlet>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            queue_capacity: 64,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            workers: 0,
            stop: Arc::new(AtomicBool::new(false)),
            observe_edges: false,
            halt: None,
            checkpoint: None,
            probe: None,
            inlet: None,
        }
    }
}

/// What an actor did during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActorStats {
    pub name: String,
    /// Messages received (IIPs included).
    pub received: u64,
    /// Firings handled: calls of `process`, a batch counting one per message.
    pub calls: u64,
    /// Messages sent on connected or exported outports.
    pub sent: u64,
    /// Failed calls.
    pub errors: u64,
    /// Messages dropped for naming an undeclared outport.
    pub dropped: u64,
    /// Messages that never fired because a required inport never got a message: still
    /// queued on an inport when input ended, or held by their sender for a full inport queue.
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
#[non_exhaustive]
pub struct RunReport {
    pub actors: Vec<ActorStats>,
    pub failures: Vec<ActorFailure>,
    /// The first [`MAX_KEPT_DEAD_LETTERS`] dead letters (all are counted in
    /// [`ActorStats::dead_letters`] and shown to the [`Observer`]).
    pub dead_letters: Vec<DeadLetter>,
    /// Why the graph failed, if an actor's policy is [`Escalation::FailGraph`] and it ran out
    /// of restarts.
    pub graph_failed: Option<String>,
    /// Why a checkpoint could not be written: the run stopped there, and the store still
    /// holds the checkpoint before.
    pub checkpoint_failed: Option<String>,
    /// Checkpoints written, the final one included.
    pub checkpoints: u64,
}

/// How many dead letters a [`RunReport`] keeps (a stopped actor on a long stream would make
/// millions).
pub const MAX_KEPT_DEAD_LETTERS: usize = 10_000;

/// Receives what reaches the graph's exported outports, and failures as they happen. Called
/// from worker threads; a panic in an observer is caught and logged (it loses that report,
/// never a message or the run).
pub trait Observer: Send + Sync {
    fn exported(&self, port: &str, message: &Message);
    fn failed(&self, failure: &ActorFailure);
    /// A message that was not processed (see [`DeadLetter`]).
    fn dead_letter(&self, _letter: &DeadLetter) {}
    /// A message is being sent on `routes[route]` (called only with
    /// [`RunOptions::observe_edges`], by the sending actor, when it sends).
    fn edge_data(&self, _route: usize, _message: &Message) {}
}

/// Runs `actors` wired by `routes` until the network is quiescent (or halted).
pub(crate) fn run(actors: Vec<ActorSpec>, routes: &[Route], exports: &[Export], options: &RunOptions, observer: Arc<dyn Observer>) -> RunReport {
    pool::run(actors, routes, exports, options, observer)
}
