//! An actor as a cell: its component, its bounded inbox, and what one activation does.

use super::pool::Shared;
use super::supervise::{guarded, Supervisor};
use super::wiring::{Item, Outbox};
use super::{ActorStats, BUDGET};
use crate::component::{Component, Outputs, Payload, SourceStatus};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) const IDLE: u8 = 0;
pub(crate) const SCHEDULED: u8 = 1;
pub(crate) const RUNNING: u8 = 2;
/// Running, and woken meanwhile: activate again when this activation ends.
pub(crate) const NOTIFIED: u8 = 3;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One queue of an inbox: every inport's messages (an actor without `required` inports), or
/// one inport's.
struct Queue {
    /// `None`: the queue of every port.
    port: Option<Arc<str>>,
    items: VecDeque<Item>,
    bytes: usize,
}

impl Queue {
    fn new(port: Option<Arc<str>>) -> Queue {
        Queue { port, items: VecDeque::new(), bytes: 0 }
    }
}

/// Where messages wait for an actor. Locked by senders for a flush and by the actor to take a
/// batch; nothing else happens under its lock.
pub(crate) struct Inbox {
    queues: Vec<Queue>,
    /// Indexes of the queues of `required` inports; empty: one queue for all ports.
    required: Vec<usize>,
    /// Messages added since the actor last looked (see "How a run ends" in the module docs).
    pub counted: usize,
    /// Messages received, IIPs included.
    pub received: u64,
    /// Senders parked until this inbox has room, in the order they came, each once.
    waiters: VecDeque<usize>,
    waiting: HashSet<usize>,
}

impl Inbox {
    /// One queue for everything, or, if `required` names inports, one queue per inport.
    pub fn new(inports: &[String], required: &[String]) -> Inbox {
        if required.is_empty() {
            return Inbox { queues: vec![Queue::new(None)], required: Vec::new(), counted: 0, received: 0, waiters: VecDeque::new(), waiting: HashSet::new() };
        }
        let queues: Vec<Queue> = inports.iter().map(|p| Queue::new(Some(p.as_str().into()))).collect();
        let required = required.iter().filter_map(|r| queues.iter().position(|q| q.port.as_deref() == Some(r))).collect();
        Inbox { queues, required, counted: 0, received: 0, waiters: VecDeque::new(), waiting: HashSet::new() }
    }

    fn queue_for(&mut self, port: &Arc<str>) -> &mut Queue {
        let at = match self.queues.iter().position(|q| q.port.as_ref().is_none_or(|p| p == port)) {
            Some(at) => at,
            None => {
                // A port the metadata does not declare (validation rules it out for graphs).
                self.queues.push(Queue::new(Some(port.clone())));
                self.queues.len() - 1
            }
        };
        &mut self.queues[at]
    }

    /// Whether `item` fits within `capacity` messages and `bytes` (a larger single message
    /// fits an empty queue).
    pub fn has_room(&mut self, item: &Item, capacity: usize, bytes: usize) -> bool {
        let queue = self.queue_for(&item.port);
        queue.items.len() < capacity && (queue.items.is_empty() || queue.bytes + item.size <= bytes)
    }

    /// Adds a message, whatever the bound (IIPs, edges inside a cycle, or after `has_room`).
    pub fn push(&mut self, item: Item) {
        let queue = self.queue_for(&item.port);
        queue.bytes += item.size;
        queue.items.push_back(item);
        self.received += 1;
        self.counted += 1;
    }

    /// Registers `sender` to be woken when this inbox has room (once, however often asked).
    pub fn wait(&mut self, sender: usize) {
        if self.waiting.insert(sender) {
            self.waiters.push_back(sender);
        }
    }

    /// `sender` delivered everything it held for this inbox: it no longer waits (its entry
    /// in the queue of waiters is skipped when reached).
    pub fn unwait(&mut self, sender: usize) {
        if !self.waiting.is_empty() {
            self.waiting.remove(&sender);
        }
    }

    /// The waiters to wake after `taken` messages left: as many as there is new room for.
    /// Every registered waiter holds messages for this inbox, so each one woken fills room
    /// (or, if another sender took it first, waits again while this inbox, not empty, will
    /// drain again): no waiter is left behind, and a fan-in of 100,000 senders is not woken
    /// all at once for every batch.
    fn to_wake(&mut self, taken: usize) -> Vec<usize> {
        let mut woken = Vec::new();
        while woken.len() < taken {
            let Some(sender) = self.waiters.pop_front() else { break };
            if self.waiting.remove(&sender) {
                woken.push(sender);
            }
        }
        woken
    }

    fn pop(queue: &mut Queue) -> Option<Item> {
        let item = queue.items.pop_front()?;
        queue.bytes -= item.size;
        Some(item)
    }

    fn can_fire(&self) -> bool {
        if self.required.is_empty() {
            !self.queues[0].items.is_empty()
        } else {
            self.required.iter().all(|&q| !self.queues[q].items.is_empty())
        }
    }

    /// Up to [`BUDGET`] payloads ready to fire, in arrival order (see "When `process` is
    /// called").
    fn take(&mut self) -> Vec<Payload> {
        let mut batch = Vec::new();
        while batch.len() < BUDGET && self.can_fire() {
            let payload: Payload = if self.required.is_empty() {
                let item = Self::pop(&mut self.queues[0]).expect("can_fire saw a message");
                Payload::from([(item.port, item.message)])
            } else {
                self.queues.iter_mut().filter_map(|q| Self::pop(q).map(|item| (item.port, item.message))).collect()
            };
            batch.push(payload);
        }
        batch
    }

    /// Copies of the queued messages, by inport, oldest first (a checkpoint's).
    pub fn queued_messages(&self) -> Vec<(String, reflow_abi::Message)> {
        self.queues.iter().flat_map(|q| q.items.iter().map(|item| (item.port.to_string(), item.message.clone()))).collect()
    }

    /// Messages waiting in each queue (`None`: the queue of every port).
    pub fn lengths(&self) -> Vec<(Option<String>, usize)> {
        self.queues.iter().map(|q| (q.port.as_deref().map(str::to_string), q.items.len())).collect()
    }

    /// Messages still queued (never fired).
    pub fn queued(&self) -> u64 {
        self.queues.iter().map(|q| q.items.len() as u64).sum()
    }

    /// The required inports with nothing queued, for the warning about unfired messages.
    pub fn missing(&self) -> Vec<String> {
        self.required.iter().filter(|&&q| self.queues[q].items.is_empty()).filter_map(|&q| self.queues[q].port.as_deref().map(str::to_string)).collect()
    }

    /// Drops everything queued (a halted run).
    pub fn clear(&mut self) {
        for queue in &mut self.queues {
            queue.items.clear();
            queue.bytes = 0;
        }
        self.waiters.clear();
        self.waiting.clear();
    }
}

pub(crate) use super::checkpoint::SourcePhase as Source;

/// What only the running activation (or, at the end, the coordinator) touches.
pub(crate) struct Body {
    pub component: Box<dyn Component>,
    pub outputs: Outputs,
    pub outbox: Arc<Mutex<Outbox>>,
    pub supervisor: Supervisor,
    pub stats: ActorStats,
    pub source: Source,
}

pub(crate) struct Cell {
    pub state: AtomicU8,
    pub inbox: Mutex<Inbox>,
    /// The body's outbox, also here so that a probe reads it without waiting for a call.
    pub outbox: Arc<Mutex<Outbox>>,
    pub body: Mutex<Body>,
}

impl Cell {
    /// One activation (see "An activation" in the module docs). Returns whether the actor has
    /// more to do right away. `handoff` receives the first actor this activation's last flush
    /// made ready, for the worker to run next ([`Shared::flush`]).
    pub fn activate(&self, me: usize, shared: &Shared, handoff: &mut Option<usize>) -> bool {
        let mut body = lock(&self.body);
        let body = &mut *body;
        if !shared.flush(me, &body.outbox, None) {
            return false;
        }
        self.poll_source(body, shared);
        let (batch, more_input) = {
            let mut inbox = lock(&self.inbox);
            let seen = std::mem::take(&mut inbox.counted);
            let batch = inbox.take();
            let taken: usize = batch.iter().map(|payload| payload.len()).sum();
            let waiters = if taken == 0 { Vec::new() } else { inbox.to_wake(taken) };
            let more = inbox.can_fire();
            drop(inbox);
            // This activation is counted itself, so uncounting what it has seen cannot end
            // the run under it.
            shared.uncount(seen);
            for waiter in waiters {
                shared.wake(waiter);
            }
            (batch, more)
        };
        body.supervisor.fire_batch(&mut *body.component, batch, &body.outputs, &mut body.stats, &shared.reports);
        shared.flush(me, &body.outbox, Some(handoff)) && (more_input || body.source == Source::Live)
    }

    /// Polls the source until it has sent its budget of messages or one queue's worth of
    /// bytes, so that big messages are held back by bytes as in the queues: the first poll
    /// asks for one message, the next ones for as many as fit by the average size so far.
    /// Returns whether the source has more.
    fn source_step(&self, body: &mut Body, shared: &Shared) -> bool {
        let budget = shared.source_budget();
        let mut ask = 1;
        for _ in 0..budget {
            match guarded(|| body.component.poll_source(&body.outputs, ask)) {
                Ok(SourceStatus::More) => {}
                Ok(SourceStatus::Yield) => return true,
                Ok(SourceStatus::Done) => return false,
                Err(e) => {
                    body.supervisor.failed_outside_call(e, &mut body.stats, &shared.reports);
                    return false;
                }
            }
            let (held, bytes) = {
                let outbox = lock(&body.outbox);
                (outbox.held, outbox.bytes)
            };
            if held >= budget || bytes >= shared.queue_bytes() {
                break;
            }
            let average = (bytes / held.max(1)).max(1);
            ask = (budget - held).min((shared.queue_bytes() - bytes) / average).max(1);
        }
        true
    }

    /// A live source is not counted in the quiescence counter by itself: while it is not
    /// parked it is always scheduled again (and so counted), and while it is parked the actor
    /// it waits for is counted if it can ever make room.
    fn poll_source(&self, body: &mut Body, shared: &Shared) {
        let was_live = match body.source {
            Source::Done => return,
            Source::Live => true,
            Source::Unpolled => false,
        };
        let live = if was_live && body.outputs.stopping() {
            false
        } else {
            self.source_step(body, shared)
        };
        body.source = if live { Source::Live } else { Source::Done };
    }
}
