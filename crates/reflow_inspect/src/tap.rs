//! The inspector's observer of a run: what the page shows that the probe's counters do not
//! (the last messages of each connection, each actor's recent errors), recorded beside the
//! observer the run would have had anyway.
//!
//! Errors are rare and always kept (a few per actor). Messages are kept only while a page
//! watches: with nobody watching, a message costs one relaxed load here.

use reflow_abi::Message;
use reflow_network::{ActorFailure, DeadLetter, Observer};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Messages kept per connection, newest last.
pub const KEPT_MESSAGES: usize = 16;
/// Errors kept per actor, newest last.
pub const KEPT_ERRORS: usize = 16;

/// A message as it was sent, and when.
#[derive(Clone)]
pub struct Seen<T> {
    pub at: SystemTime,
    pub what: T,
}

#[derive(Default)]
struct Ring {
    /// How many were ever pushed: tells a reader whether anything is new.
    pushed: u64,
    items: VecDeque<Seen<Message>>,
}

pub struct Tap {
    inner: Arc<dyn Observer>,
    /// Pages watching: messages are kept only while there is one.
    watchers: AtomicUsize,
    /// Per route (the graph's edges in order).
    edges: Vec<Mutex<Ring>>,
    errors: Mutex<HashMap<String, VecDeque<Seen<String>>>>,
    /// Bumped on every error, so that a reader knows when to look again.
    error_count: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tap {
    pub fn new(edges: usize, inner: Arc<dyn Observer>) -> Tap {
        Tap {
            inner,
            watchers: AtomicUsize::new(0),
            edges: (0..edges).map(|_| Mutex::default()).collect(),
            errors: Mutex::default(),
            error_count: AtomicU64::new(0),
        }
    }

    pub fn watch(&self) {
        self.watchers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unwatch(&self) {
        self.watchers.fetch_sub(1, Ordering::Relaxed);
    }

    /// The last messages of `route`, newest first, and how many were ever kept.
    pub fn messages(&self, route: usize) -> (u64, Vec<Seen<Message>>) {
        let Some(ring) = self.edges.get(route) else { return (0, Vec::new()) };
        let ring = lock(ring);
        (ring.pushed, ring.items.iter().rev().cloned().collect())
    }

    /// The last errors of `actor`, newest first.
    pub fn errors(&self, actor: &str) -> Vec<Seen<String>> {
        lock(&self.errors).get(actor).map(|e| e.iter().rev().cloned().collect()).unwrap_or_default()
    }

    pub fn error_count(&self) -> u64 {
        self.error_count.load(Ordering::Relaxed)
    }
}

impl Observer for Tap {
    fn exported(&self, port: &str, message: &Message) {
        self.inner.exported(port, message);
    }

    fn failed(&self, failure: &ActorFailure) {
        {
            let mut errors = lock(&self.errors);
            let kept = errors.entry(failure.actor.clone()).or_default();
            if kept.len() == KEPT_ERRORS {
                kept.pop_front();
            }
            kept.push_back(Seen { at: SystemTime::now(), what: failure.message.clone() });
        }
        self.error_count.fetch_add(1, Ordering::Relaxed);
        self.inner.failed(failure);
    }

    fn dead_letter(&self, letter: &DeadLetter) {
        self.inner.dead_letter(letter);
    }

    fn edge_data(&self, route: usize, message: &Message) {
        if self.watchers.load(Ordering::Relaxed) > 0 {
            if let Some(ring) = self.edges.get(route) {
                let mut ring = lock(ring);
                if ring.items.len() == KEPT_MESSAGES {
                    ring.items.pop_front();
                }
                ring.items.push_back(Seen { at: SystemTime::now(), what: message.clone() });
                ring.pushed += 1;
            }
        }
        self.inner.edge_data(route, message);
    }
}
