//! The one interface the scheduler knows: a component instance that turns input messages
//! into output messages. WASM plugins ([`crate::wasm::WasmComponent`]) and native built-ins
//! both implement it, so the scheduler never special-cases either.
//!
//! The contract is small on purpose (timely-dataflow's `Schedule` is the model): the scheduler
//! calls [`Component::process`] for each firing, [`Component::poll_source`] while a source has
//! more to produce, and [`Component::finish`] once at the end; with checkpoints,
//! [`Component::checkpoint`] between calls and [`Component::restore`] before the first. Every call is made by one worker
//! thread at a time and must return: a component never waits for room downstream (what it
//! sends is held by the scheduler, which stops activating it until the messages have moved on).

use reflow_abi::{Message, PluginMetadata};
use reflow_script::OutputSink;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use crate::payload::Payload;

/// Where a component's messages go. Cheap to clone and `'static`, so a WASM actor can hand
/// it to its plugin's `__send_output` for the duration of a call. Sending never blocks: the
/// scheduler holds what an activation sends and delivers it, in order, when the activation
/// ends (back-pressure is applied to the actor, not to the call).
#[derive(Clone)]
pub struct Outputs {
    sink: OutputSink,
    stop: Arc<AtomicBool>,
}

impl Outputs {
    pub fn new(sink: OutputSink, stop: Arc<AtomicBool>) -> Outputs {
        Outputs { sink, stop }
    }

    /// Sends `message` on `outport`.
    pub fn send(&self, outport: &str, message: Message) {
        (self.sink)(outport, message)
    }

    /// The sending function itself, for code that wants an [`OutputSink`].
    pub fn sink(&self) -> &OutputSink {
        &self.sink
    }

    /// True once the network is shutting down (Ctrl-C): a source should stop producing.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A failed `process`, `poll_source` or `finish` call. The scheduler reports it with the
/// actor's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ComponentError(pub String);

impl ComponentError {
    pub fn new(message: impl Into<String>) -> Self {
        ComponentError(message.into())
    }
}

/// What a source step says about the rest of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// More remains: poll again (the scheduler does, once what was sent has moved on).
    More,
    /// More remains, but later: end this activation now, so that what was sent moves on
    /// before the next poll (a paced source, whose messages should not wait for a batch).
    Yield,
    /// Exhausted: never polled again.
    Done,
}

/// One live actor's behaviour. An instance belongs to one actor (one process in the graph) and
/// keeps its own state; the scheduler calls it from one thread at a time.
pub trait Component: Send {
    /// Ports and description; the graph is validated against it before anything runs.
    fn metadata(&self) -> &PluginMetadata;

    /// Handles one firing: `payload` holds the inport(s) that have data (see
    /// `docs/graph-format.md`, "When process is called"). A component may take the messages
    /// it forwards out of `payload` (no copy); whatever is left in it when the call fails is
    /// what goes to the `error` port or the dead letters, so a component that can fail after
    /// taking a message should leave it in place.
    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError>;

    /// Handles several firings, in order, as that many [`Component::process`] calls would,
    /// setting `*done` to how many are handled as it goes (so a failure, or a panic, is
    /// pinned on the right one). On an error, the firing at `*done` failed (and is left in
    /// place as `process` leaves it) and those after it were not handled. The scheduler
    /// calls this when an actor has several firings waiting; a WASM plugin that takes
    /// batches handles them in one call across the boundary (docs/abi.md, "Batches"). The
    /// default is one `process` per firing.
    fn process_batch(&mut self, batch: &mut [Payload], out: &Outputs, done: &mut usize) -> Result<(), ComponentError> {
        for payload in batch {
            self.process(payload, out)?;
            *done += 1;
        }
        Ok(())
    }

    /// A source's step: sends at most about `budget` messages and says whether more remain.
    /// Called on the actor's first activation and then again, while it returns
    /// [`SourceStatus::More`], whenever what it sent has moved on (so a source never runs
    /// ahead of a slow consumer by more than the queue bound). A source should return
    /// [`SourceStatus::Done`] once [`Outputs::stopping`] is true. An error ends the source and
    /// is reported. The default produces nothing.
    fn poll_source(&mut self, _out: &Outputs, _budget: usize) -> Result<SourceStatus, ComponentError> {
        Ok(SourceStatus::Done)
    }

    /// Called once when the network has run out of input, before the run ends (flush a file).
    /// What it sends is delivered before the next actor's `finish` (see [`crate::scheduler`]).
    fn finish(&mut self, _out: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }

    /// What this actor must keep to carry on from a checkpoint, called while nothing runs (see
    /// "Checkpoints" in [`crate::scheduler`]): a plugin's state, a source's position (the next
    /// value, a byte offset), a sink's committed length (after making what it wrote durable).
    /// `None` (the default): nothing, the actor starts afresh after a restart. The value is
    /// given back to [`Component::restore`] of a new instance of the same process.
    fn checkpoint(&mut self) -> Result<Option<serde_json::Value>, ComponentError> {
        Ok(None)
    }

    /// Makes a new instance what [`Component::checkpoint`] returned, before anything runs.
    /// A value it cannot use is an error (the run does not start), never ignored.
    fn restore(&mut self, _saved: serde_json::Value) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Messages this actor dropped for naming an outport its metadata does not declare.
    fn dropped_messages(&self) -> u64 {
        0
    }
}
