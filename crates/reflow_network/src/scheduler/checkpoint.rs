//! Consistent checkpoints of the whole graph: the cut, taken while the pool is paused, and
//! the schedule that takes one every interval (see "Checkpoints" in the module docs, and
//! docs/state.md for why a pause rather than barriers).
//!
//! Why pausing is enough: the whole graph lives in one process, so the scheduler sees every
//! message. Once no activation runs, every message is in exactly one inbox or outbox and every
//! component is between two calls: a state the run really is in, which Chandy-Lamport's
//! markers (or Flink's barriers) would only reconstruct. The pause lasts as long as the
//! longest running activation plus a copy of the queued messages (bounded by the queues'
//! bounds); the store write happens after the pool has resumed.

use super::cell::lock;
use super::pool::Shared;
use super::supervise::guarded;
use super::wiring::{estimated_size, Item, Outbox};
use reflow_abi::Message;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often a run is checkpointed unless told otherwise. A second keeps the work redone
/// after a crash (and the exported messages printed again) to about a second's worth, while a
/// checkpoint (a pause of the pool plus one fsync, written while the graph runs on) costs a
/// few milliseconds of it.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// How long a pause waits for running activations at first. A pause that does not settle in
/// time (a long plugin call) is given up and the graph runs on; the next try, at the next
/// interval, waits twice as long, so a graph whose calls are always long is still checkpointed.
const FIRST_PATIENCE: Duration = Duration::from_millis(100);

/// Where a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourcePhase {
    /// Not polled yet: every actor's first activation polls it once.
    Unpolled,
    /// Said it has more: polled again on each activation that is not parked.
    Live,
    Done,
}

impl SourcePhase {
    pub fn name(self) -> &'static str {
        match self {
            SourcePhase::Unpolled => "unpolled",
            SourcePhase::Live => "live",
            SourcePhase::Done => "done",
        }
    }

    pub fn from_name(name: &str) -> Option<SourcePhase> {
        [SourcePhase::Unpolled, SourcePhase::Live, SourcePhase::Done].into_iter().find(|p| p.name() == name)
    }
}

/// One actor in a cut.
#[derive(Debug, Clone)]
pub struct ActorCut {
    /// What [`crate::Component::checkpoint`] returned.
    pub saved: Option<Value>,
    pub source: SourcePhase,
    /// Messages queued in its inbox, by inport, oldest first (per inport).
    pub inbox: Vec<(String, Message)>,
    /// Messages it sent that are not delivered yet (a parked sender's): target actor, inport.
    pub held: Vec<(usize, String, Message)>,
}

/// A consistent cut of a run: one [`ActorCut`] per actor, in the run's order.
#[derive(Debug, Clone)]
pub struct Cut {
    pub actors: Vec<ActorCut>,
    /// The run has ended: nothing is left to resume (queues hold only messages that can never
    /// fire).
    pub finished: bool,
    pub taken_at: SystemTime,
}

/// Makes cuts durable (the network writes them to its state store).
pub trait Checkpointer: Send + Sync {
    /// Writes `cut` atomically; an error says why nothing was written.
    fn write(&self, cut: Cut) -> Result<(), String>;
}

/// When and where a run is checkpointed.
#[derive(Clone)]
pub struct Checkpointing {
    pub interval: Duration,
    pub writer: Arc<dyn Checkpointer>,
}

/// The coordinator's side: when the next checkpoint is due, and how patient its pause is.
pub(crate) struct Schedule {
    pub options: Checkpointing,
    pub due: Instant,
    patience: Duration,
    pub written: u64,
}

impl Schedule {
    pub fn new(options: Checkpointing) -> Schedule {
        Schedule { due: Instant::now() + options.interval, options, patience: FIRST_PATIENCE, written: 0 }
    }

    /// A periodic checkpoint: pause, cut, resume, write. `Err`: the cut or the write failed
    /// (the run must stop); `Ok` also when the pause was given up (tried again later).
    pub fn tick(&mut self, shared: &Shared) -> Result<(), String> {
        let paused = shared.pause(self.patience);
        self.due = Instant::now() + self.options.interval;
        if !paused {
            self.patience = (self.patience * 2).min(Duration::from_secs(60));
            tracing::debug!("checkpoint postponed: an activation is still running after {:?}", self.patience / 2);
            return Ok(());
        }
        self.patience = FIRST_PATIENCE;
        let cut = take(shared, false);
        shared.resume();
        self.write(cut?)
    }

    /// The checkpoint of a run that ended (the pool is idle: nothing to pause).
    pub fn last(&mut self, shared: &Shared) -> Result<(), String> {
        let cut = take(shared, true)?;
        self.write(cut)
    }

    fn write(&mut self, cut: Cut) -> Result<(), String> {
        tracing::debug!("checkpoint: writing");
        self.options.writer.write(cut)?;
        self.written += 1;
        tracing::debug!("checkpoint: written");
        Ok(())
    }
}

/// The cut of a paused (or ended) pool. Every component's `checkpoint` is called here, while
/// nothing runs, so a sink's flush belongs to this cut exactly.
fn take(shared: &Shared, finished: bool) -> Result<Cut, String> {
    let mut actors = Vec::with_capacity(shared.cells.len());
    for cell in &shared.cells {
        let mut body = lock(&cell.body);
        let body = &mut *body;
        let saved = guarded(|| body.component.checkpoint()).map_err(|e| format!("actor {}: cannot checkpoint: {e}", body.stats.name))?;
        let inbox = lock(&cell.inbox).queued_messages();
        let outbox = lock(&body.outbox);
        let held = outbox
            .slots
            .iter()
            .zip(&outbox.queues)
            .flat_map(|(slot, queue)| queue.iter().map(|item| (slot.to, item.port.to_string(), item.message.clone())))
            .collect();
        actors.push(ActorCut { saved, source: body.source, inbox, held });
    }
    Ok(Cut { actors, finished, taken_at: SystemTime::now() })
}

/// Puts a resumed actor's undelivered messages back into its outbox, as its last activation
/// left them; its first activation delivers them (or parks it again).
pub(crate) fn hold_again(outbox: &mut Outbox, held: Vec<(usize, String, Message)>) -> Result<(), String> {
    for (to, inport, message) in held {
        let Some(slot) = outbox.slots.iter().position(|s| s.to == to) else {
            return Err(format!("a checkpointed message for actor #{to} has no connection to it"));
        };
        let size = estimated_size(&message);
        outbox.push(slot, Item { port: inport.as_str().into(), message, size });
    }
    Ok(())
}
