//! What happens when a call fails: the run's reports, and one actor's failure policy.

use super::probe::{ActorCounters, Counters};
use super::{ActorFailure, ActorStats, DeadLetter, Escalation, FailurePolicy, Observer, ERROR_PORT, MAX_KEPT_DEAD_LETTERS};
use crate::component::{Component, ComponentError, Outputs, Payload};
use reflow_abi::Message;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Calls an observer hook; a panic there (an observer writing to a full disk with
/// `eprintln!`) is logged and loses that one report, never the worker or the run.
pub(crate) fn notify(f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        tracing::error!("an observer of the run panicked; that report is lost");
    }
}

/// Where activations report what went wrong: the run's report first, then the observer (so a
/// failing observer cannot hide a failure from the exit code).
pub(crate) struct Reports {
    pub observer: Arc<dyn Observer>,
    pub failures: Mutex<Vec<ActorFailure>>,
    pub dead_letters: Mutex<Vec<DeadLetter>>,
    pub graph_failed: Mutex<Option<String>>,
    pub stop: Arc<AtomicBool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Reports {
    pub fn failed(&self, failure: ActorFailure) {
        lock(&self.failures).push(failure.clone());
        notify(|| self.observer.failed(&failure));
    }

    pub fn dead_letter(&self, letter: DeadLetter) {
        notify(|| self.observer.dead_letter(&letter));
        let mut kept = lock(&self.dead_letters);
        if kept.len() < MAX_KEPT_DEAD_LETTERS {
            kept.push(letter);
        }
    }

    fn fail_graph(&self, reason: String) {
        self.stop.store(true, Ordering::SeqCst);
        lock(&self.graph_failed).get_or_insert(reason);
    }

    pub fn take_failures(&self) -> Vec<ActorFailure> {
        std::mem::take(&mut lock(&self.failures))
    }

    pub fn take_dead_letters(&self) -> Vec<DeadLetter> {
        std::mem::take(&mut lock(&self.dead_letters))
    }

    pub fn take_graph_failed(&self) -> Option<String> {
        lock(&self.graph_failed).take()
    }
}

/// One actor's supervision: counts its failures and applies its [`FailurePolicy`].
pub(crate) struct Supervisor {
    pub policy: FailurePolicy,
    pub error_connected: bool,
    failures: u32,
    /// Why the actor is stopped, once it is.
    stopped: Option<String>,
    /// The run's live counters and this actor's index in them, when a probe watches.
    live: Option<(Arc<Counters>, usize)>,
}

impl Supervisor {
    pub fn new(policy: FailurePolicy, error_connected: bool, live: Option<(Arc<Counters>, usize)>) -> Supervisor {
        Supervisor { policy, error_connected, failures: 0, stopped: None, live }
    }

    fn counters(&self) -> Option<&ActorCounters> {
        self.live.as_ref().map(|(counters, index)| &counters.actors[*index])
    }

    /// Runs one call of `component` with `payload`, or dead-letters it if the actor is stopped.
    pub fn fire(&mut self, component: &mut dyn Component, mut payload: Payload, out: &Outputs, stats: &mut ActorStats, reports: &Reports) {
        let live = self.live.as_ref().map(|(counters, index)| &counters.actors[*index]);
        if let Some(reason) = &self.stopped {
            stats.dead_letters += 1;
            live.inspect(|c| ActorCounters::add(&c.dead_letters));
            reports.dead_letter(DeadLetter { actor: stats.name.clone(), reason: reason.clone(), payload: payload.into_map() });
            return;
        }
        stats.calls += 1;
        let started = live.map(|c| {
            ActorCounters::add(&c.calls);
            std::time::Instant::now()
        });
        // No copy of the payload for the failure's sake: the component borrows it and leaves
        // in it what was not forwarded (see `Component::process`).
        let result = guarded(|| component.process(&mut payload, out));
        if let (Some(c), Some(started)) = (live, started) {
            c.timed(started.elapsed());
        }
        let Err(error) = result else { return };
        self.failed(error, payload, out, stats, reports);
    }

    /// Runs `batch` as that many [`Supervisor::fire`]s would, passing the firings that are
    /// waiting to the component together ([`Component::process_batch`]); after a failure the
    /// policy is applied as after any failed call, then the rest go on as a new batch.
    pub fn fire_batch(&mut self, component: &mut dyn Component, mut batch: Vec<Payload>, out: &Outputs, stats: &mut ActorStats, reports: &Reports) {
        let mut next = 0;
        while batch.len() - next > 1 && self.stopped.is_none() {
            let mut done = 0;
            let started = self.live.as_ref().map(|_| std::time::Instant::now());
            let result = guarded(|| component.process_batch(&mut batch[next..], out, &mut done));
            // A component's word, so kept within the batch (an error leaves a firing to blame).
            let done = done.min(batch.len() - next - usize::from(result.is_err()));
            let calls = done + usize::from(result.is_err());
            if let (Some(c), Some(started)) = (self.counters(), started) {
                // One crossing for the whole batch: each call is given its share of the time.
                let share = started.elapsed() / calls.max(1) as u32;
                for _ in 0..calls {
                    ActorCounters::add(&c.calls);
                    c.timed(share);
                }
            }
            stats.calls += done as u64;
            next += done;
            match result {
                // A component that stops early without an error: the rest one by one.
                Ok(()) => break,
                Err(error) => {
                    stats.calls += 1;
                    let payload = std::mem::take(&mut batch[next]);
                    next += 1;
                    self.failed(error, payload, out, stats, reports);
                }
            }
        }
        for payload in batch.drain(next..) {
            self.fire(component, payload, out, stats, reports);
        }
    }

    /// A failed call with `payload`: reported, sent to the error port or the dead letters, and
    /// the failure policy applied.
    fn failed(&mut self, error: ComponentError, payload: Payload, out: &Outputs, stats: &mut ActorStats, reports: &Reports) {
        stats.errors += 1;
        self.counters().inspect(|c| ActorCounters::add(&c.errors));
        self.failures += 1;
        reports.failed(ActorFailure { actor: stats.name.clone(), message: error.0.clone() });
        if self.error_connected {
            let ports: serde_json::Map<String, serde_json::Value> =
                payload.iter().map(|(p, m)| (p.to_string(), m.to_json())).collect();
            let report = serde_json::json!({"actor": stats.name, "error": error.0, "payload": ports});
            out.send(ERROR_PORT, Message::Object(report));
        } else {
            stats.dead_letters += 1;
            self.counters().inspect(|c| ActorCounters::add(&c.dead_letters));
            reports.dead_letter(DeadLetter { actor: stats.name.clone(), reason: error.0, payload: payload.into_map() });
        }
        if self.policy.max_restarts.is_some_and(|max| self.failures > max) {
            let reason = format!("stopped after {} failed call(s)", self.failures);
            stats.stopped = true;
            if self.policy.then == Escalation::FailGraph {
                reports.fail_graph(format!("actor {}: {reason}; its failure policy stops the graph", stats.name));
            }
            tracing::warn!("actor {}: {reason}", stats.name);
            self.stopped = Some(reason);
            return;
        }
        self.counters().inspect(|c| ActorCounters::add(&c.restarts));
        if !self.policy.backoff.is_zero() {
            // The pause holds this worker; past `STUCK_AFTER` the pool's monitor gives the
            // other actors a compensating worker, as for any long activation.
            std::thread::sleep(self.policy.backoff * (1u32 << (self.failures - 1).min(6)));
        }
    }

    /// A failure outside a call (a source, the final flush): reported, and counted.
    pub fn failed_outside_call(&mut self, error: ComponentError, stats: &mut ActorStats, reports: &Reports) {
        stats.errors += 1;
        self.counters().inspect(|c| ActorCounters::add(&c.errors));
        reports.failed(ActorFailure { actor: stats.name.clone(), message: error.0 });
    }
}

/// A panic inside a component (a bug in a native one) fails that call, not the network.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, ComponentError>) -> Result<T, ComponentError> {
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
