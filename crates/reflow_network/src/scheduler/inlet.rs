//! Messages from outside a running network into the inports its graph exports (what an FBP
//! editor or test runner sends with `runtime:packet`).
//!
//! A run ends by quiescence (the module docs' "How a run ends"): with nothing queued and
//! nothing running, nothing could ever happen again. An open [`Inlet`] breaks that premise —
//! someone outside may still send — so it counts as one live source for as long as it is open:
//! the run does not end by itself until it is [closed](Inlet::close) (or the run is halted).
//! A message sent through it is counted and queued exactly as a flush queues one, so the
//! counter stays exact.
//!
//! Sending is refused, never blocking, when the target's queue is full: the caller is outside
//! the pool (a protocol handler) and must not wait for a worker, and an unbounded queue fed
//! by a client would defeat the back-pressure bound.

use super::cell::lock;
use super::pool::Shared;
use super::wiring::{estimated_size, Item};
use reflow_abi::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// Messages an inlet holds before its run starts, at most (the default queue capacity).
pub const EARLY_BOUND: usize = 64;

/// A handle for sending into a network's exported inports while it runs. Cheap to clone.
/// Give it to the run in [`RunOptions::inlet`](super::RunOptions::inlet); messages sent before
/// the run has started are delivered first when it starts.
#[derive(Clone, Default)]
pub struct Inlet(Arc<Mutex<InletState>>);

#[derive(Default)]
struct InletState {
    /// The exported inports: public name -> (actor, inport), set by
    /// [`Network::run`](crate::Network::run) from the graph.
    ports: HashMap<String, (usize, Arc<str>)>,
    /// Sent before the run started, by public name (the ports are known only once the
    /// network is instantiated).
    early: Vec<(String, Message)>,
    run: Option<Weak<Shared>>,
    /// The run started once already (an inlet serves one run).
    attached: bool,
    closed: bool,
}

/// Why a message could not be sent into the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InletError {
    #[error("the graph exports no inport {port:?}")]
    UnknownPort { port: String },
    #[error("the network is not running (it ended, or its input was closed)")]
    Closed,
    #[error("the queue of inport {port:?} is full; send again once the network has taken some of it")]
    Full { port: String },
}

impl Inlet {
    pub fn new() -> Inlet {
        Inlet::default()
    }

    /// Sends `message` into the exported inport `port` (its public name).
    pub fn send(&self, port: &str, message: Message) -> Result<(), InletError> {
        let mut state = lock(&self.0);
        if state.closed {
            return Err(InletError::Closed);
        }
        let Some(run) = state.run.clone() else {
            if state.attached {
                return Err(InletError::Closed);
            }
            // Bounded like a queue: a client cannot pile up memory while plugins compile.
            if state.early.len() >= EARLY_BOUND {
                return Err(InletError::Full { port: port.to_string() });
            }
            state.early.push((port.to_string(), message));
            return Ok(());
        };
        let Some((actor, inport)) = state.ports.get(port).cloned() else {
            return Err(InletError::UnknownPort { port: port.to_string() });
        };
        let shared = run.upgrade().ok_or(InletError::Closed)?;
        if shared.is_halted() {
            return Err(InletError::Closed);
        }
        let item = Item { port: inport, size: estimated_size(&message), message };
        // Still under the inlet's lock: a `close` cannot uncount the inlet (and let the run
        // end) between the check above and this message being counted.
        {
            let mut inbox = lock(&shared.cell(actor).inbox);
            if !inbox.has_room(&item, shared.capacity(), shared.queue_bytes()) {
                return Err(InletError::Full { port: port.to_string() });
            }
            // Counted before the actor can see it, as a flush does.
            shared.count(1);
            inbox.push(item);
        }
        shared.wake(actor);
        Ok(())
    }

    /// No more messages will come: the run may end by quiescence from now on. Idempotent.
    pub fn close(&self) {
        let mut state = lock(&self.0);
        if std::mem::replace(&mut state.closed, true) {
            return;
        }
        state.early.clear();
        if let Some(shared) = state.run.take().and_then(|run| run.upgrade()) {
            shared.uncount(1);
        }
    }

    /// The exported inports, resolved to actors and their inports' own spelling.
    pub(crate) fn bind(&self, ports: HashMap<String, (usize, String)>) {
        lock(&self.0).ports = ports.into_iter().map(|(name, (actor, port))| (name, (actor, port.into()))).collect();
    }

    /// The run starts (called before any worker runs): the inlet counts as a live source
    /// while open, and what was sent early is queued, after the IIPs.
    pub(crate) fn attach(&self, shared: &Arc<Shared>) {
        let mut state = lock(&self.0);
        state.attached = true;
        if state.closed {
            return;
        }
        shared.count(1);
        for (public, message) in std::mem::take(&mut state.early) {
            let Some((actor, port)) = state.ports.get(&public).cloned() else {
                tracing::warn!("a message sent to {public:?} before the network started is dropped: the graph exports no such inport");
                continue;
            };
            let item = Item { port, size: estimated_size(&message), message };
            shared.count(1);
            lock(&shared.cell(actor).inbox).push(item);
        }
        state.run = Some(Arc::downgrade(shared));
    }

    /// The run is over: later sends are refused.
    pub(crate) fn detach(&self) {
        let mut state = lock(&self.0);
        state.run = None;
        state.closed = true;
    }
}
