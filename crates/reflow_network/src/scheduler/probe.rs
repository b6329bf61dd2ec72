//! Live counters of a run, read while it runs (the web inspector, `reflow run --inspect`).
//!
//! A run given a [`Probe`] ([`RunOptions::probe`](super::RunOptions::probe)) counts, per
//! connection, the messages sent on it, and per actor its calls, failed calls, dead letters,
//! restarts and a histogram of call times. Every counter is a relaxed atomic written by the
//! one activation that owns it, so a count costs a few nanoseconds and no lock; a run without
//! a probe skips all of it (one `Option` test per call and per send). Queue fill is not counted
//! at all: [`LiveRun::sample`] reads the inboxes and outboxes under their own locks, so its
//! cost is the reader's, paid only when someone looks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a run publishes its live counters; attach one with [`RunOptions::probe`] and read it
/// with [`Probe::live`] from any thread, during the run and after it.
///
/// [`RunOptions::probe`]: super::RunOptions::probe
#[derive(Default)]
pub struct Probe {
    run: Mutex<Option<Arc<LiveRun>>>,
    attached: std::sync::Condvar,
}

impl Probe {
    pub fn new() -> Arc<Probe> {
        Arc::new(Probe::default())
    }

    /// The run's counters, once the run has started.
    pub fn live(&self) -> Option<Arc<LiveRun>> {
        lock(&self.run).clone()
    }

    /// Waits until a run attaches (or `timeout` passes: `None`).
    pub fn wait_live(&self, timeout: Duration) -> Option<Arc<LiveRun>> {
        let guard = lock(&self.run);
        let (guard, _) = self.attached.wait_timeout_while(guard, timeout, |run| run.is_none()).unwrap_or_else(|p| p.into_inner());
        guard.clone()
    }

    pub(crate) fn attach(&self, run: Arc<LiveRun>) {
        *lock(&self.run) = Some(run);
        self.attached.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An actor's name and ports, as the scheduler runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorShape {
    pub name: String,
    pub inports: Vec<String>,
    pub outports: Vec<String>,
}

/// A connection as the scheduler runs it: `from` actor's outport to `to` actor's inport
/// (indexes into [`LiveRun::actors`]; port names as the actors declare them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteShape {
    pub from: usize,
    pub outport: String,
    pub to: usize,
    pub inport: String,
}

/// Call-time histogram buckets: four per power of two of nanoseconds (about 19% wide), so
/// p50 and p99 come out within a bucket's width without keeping every sample.
const BUCKETS: usize = 252;

/// One actor's counters (see the module docs for who writes them).
pub(crate) struct ActorCounters {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub dead_letters: AtomicU64,
    /// Failed calls the actor survived (its instance replaced, state from before the call).
    pub restarts: AtomicU64,
    call_time: Box<[AtomicU64]>,
}

impl ActorCounters {
    fn new() -> ActorCounters {
        ActorCounters {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            call_time: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn timed(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.call_time[bucket(nanos)].fetch_add(1, Ordering::Relaxed);
    }
}

fn bucket(nanos: u64) -> usize {
    if nanos < 4 {
        return nanos as usize;
    }
    let exp = 63 - nanos.leading_zeros() as usize;
    4 * (exp - 1) + ((nanos >> (exp - 2)) & 3) as usize
}

/// The upper end of a bucket, in nanoseconds.
fn bucket_top(index: usize) -> u64 {
    if index < 4 {
        return index as u64;
    }
    let (exp, sub) = (index / 4 + 1, (index % 4) as u128);
    let top = ((4 + sub + 1) << (exp - 2)) - 1;
    u64::try_from(top).unwrap_or(u64::MAX)
}

/// The counters the sending and calling paths write (built before the cells that use them).
pub(crate) struct Counters {
    pub actors: Vec<ActorCounters>,
    /// Per route (indexed like the run's routes): messages sent on it.
    pub routes: Vec<AtomicU64>,
}

impl Counters {
    pub fn new(actors: usize, routes: usize) -> Arc<Counters> {
        Arc::new(Counters {
            actors: (0..actors).map(|_| ActorCounters::new()).collect(),
            routes: (0..routes).map(|_| AtomicU64::new(0)).collect(),
        })
    }
}

/// How full one actor's queues are, read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFill {
    /// Messages waiting per queue: `(None, n)` for an actor with one inbox for every port,
    /// `(Some(port), n)` per inport for an actor with `required` inports.
    pub queued: Vec<(Option<String>, usize)>,
    /// Messages this actor holds for a full target, per target actor.
    pub held: Vec<(usize, usize)>,
}

pub(crate) type QueueReader = Box<dyn Fn() -> Vec<QueueFill> + Send + Sync>;

/// A running (or finished) run as a probe sees it.
pub struct LiveRun {
    pub actors: Vec<ActorShape>,
    /// The graph's connections, in order (what [`Sample::routes`] is indexed by).
    pub routes: Vec<RouteShape>,
    /// The bound of each queue, in messages.
    pub capacity: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) queues: QueueReader,
}

/// One actor's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActorSample {
    pub calls: u64,
    pub errors: u64,
    pub dead_letters: u64,
    pub restarts: u64,
    /// Median and 99th percentile call time (the top of their histogram bucket); `None`
    /// before the first call.
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    pub queues: QueueFill,
}

/// Every counter of a run at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    pub actors: Vec<ActorSample>,
    /// Per route: messages sent on it.
    pub routes: Vec<u64>,
}

impl LiveRun {
    /// Messages sent so far on `route`.
    pub fn sent(&self, route: usize) -> u64 {
        self.counters.routes.get(route).map_or(0, |r| r.load(Ordering::Relaxed))
    }

    /// Calls so far of `actor` (an index into [`LiveRun::actors`]).
    pub fn calls(&self, actor: usize) -> u64 {
        self.counters.actors.get(actor).map_or(0, |a| a.calls.load(Ordering::Relaxed))
    }

    /// Reads every counter, and every queue under its lock (brief: one lock per actor).
    pub fn sample(&self) -> Sample {
        let mut fills = (self.queues)();
        fills.resize(self.actors.len(), QueueFill::default());
        let actors = self
            .counters
            .actors
            .iter()
            .zip(fills)
            .map(|(c, queues)| {
                let histogram: Vec<u64> = c.call_time.iter().map(|b| b.load(Ordering::Relaxed)).collect();
                ActorSample {
                    calls: c.calls.load(Ordering::Relaxed),
                    errors: c.errors.load(Ordering::Relaxed),
                    dead_letters: c.dead_letters.load(Ordering::Relaxed),
                    restarts: c.restarts.load(Ordering::Relaxed),
                    p50: percentile(&histogram, 0.50),
                    p99: percentile(&histogram, 0.99),
                    queues,
                }
            })
            .collect();
        let routes = self.counters.routes.iter().map(|r| r.load(Ordering::Relaxed)).collect();
        Sample { actors, routes }
    }
}

fn percentile(histogram: &[u64], q: f64) -> Option<Duration> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    // The smallest bucket holding at least q of the calls.
    let rank = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (index, &n) in histogram.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(Duration::from_nanos(bucket_top(index)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_hold_their_values() {
        let mut last = 0;
        for nanos in [0u64, 1, 3, 4, 5, 7, 8, 9, 15, 16, 100, 1_000, 65_535, 1 << 40, u64::MAX] {
            let b = bucket(nanos);
            assert!(b >= last && b < BUCKETS, "{nanos} -> {b}");
            assert!(bucket_top(b) >= nanos, "{nanos}: top {} of bucket {b}", bucket_top(b));
            // Within about a quarter above the value.
            assert!(bucket_top(b) as f64 <= nanos as f64 * 1.25 + 1.0, "{nanos}: top {}", bucket_top(b));
            last = b;
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut histogram = vec![0u64; BUCKETS];
        histogram[bucket(1_000)] = 98;
        histogram[bucket(1_000_000)] = 2;
        let p50 = percentile(&histogram, 0.5).unwrap().as_nanos() as u64;
        let p99 = percentile(&histogram, 0.99).unwrap().as_nanos() as u64;
        assert!((1_000..1_250).contains(&p50), "{p50}");
        assert!((1_000_000..1_250_000).contains(&p99), "{p99}");
        assert_eq!(percentile(&vec![0; BUCKETS], 0.5), None);
    }
}
