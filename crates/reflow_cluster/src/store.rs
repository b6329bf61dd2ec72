//! A part's state: a `reflow_state` store (the cluster's `NatsStore`) seen through the run
//! the part belongs to.
//!
//! Each part of a graph (the processes placed on one worker at submission) checkpoints under
//! a graph id of its own ([`part_id`]): its plugins' states, its sources' and bridges'
//! positions, its messages in flight. Two things differ from a single-process run, and this
//! wrapper makes them:
//!
//! - a part's unfinished run belongs to one cluster run: a part of a later run (a new
//!   submission) does not resume it (its bridges' positions name another run's stream);
//! - a part's last checkpoint does not remove its unfinished run but marks it done, in the
//!   same write as its final states, so a worker that takes over a part whose holder died
//!   after that write (before it could report) sees that the part is done and does not run it
//!   again, which would apply its inputs twice;
//! - a checkpoint is written only while this worker's leases on the part are valid
//!   ([`Fence`]): a worker that lost them (cut off, paused) and comes back cannot overwrite
//!   the checkpoints of the worker that took the part over, even before it notices.

use reflow_state::{ActorKey, ActorRecord, StateError, StateStore, StoreOptions};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Until when this worker may write for a part: the earliest moment one of its leases stops
/// being valid (`Lease::valid_until`), moved on by each renewal, closed for good when a lease
/// is lost. Cheap to clone; every clone is the same fence.
#[derive(Clone, Default)]
pub struct Fence(Arc<Mutex<Option<Instant>>>);

impl Fence {
    /// A fence open until `until`.
    pub fn until(until: Instant) -> Fence {
        Fence(Arc::new(Mutex::new(Some(until))))
    }

    pub fn extend_to(&self, until: Instant) {
        let mut deadline = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if deadline.is_some() {
            *deadline = Some(until);
        }
    }

    /// Never open again.
    pub fn close(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn is_open(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|d| Instant::now() < d)
    }
}

/// The graph id a part's state is kept under: the graph's, then `@` and the part's name (the
/// worker it was placed on at submission).
pub fn part_id(graph: &str, part: &str) -> String {
    format!("{graph}@{part}")
}

const RUN: &str = "cluster_run";
const DONE: &str = "cluster_done";

pub struct PartStore {
    inner: Arc<dyn StateStore>,
    run: String,
    fence: Fence,
}

impl PartStore {
    /// `inner` as the parts of run `run` see it, writing only while `fence` is open.
    pub fn new(inner: Arc<dyn StateStore>, run: &str, fence: Fence) -> PartStore {
        PartStore { inner, run: run.to_string(), fence }
    }

    /// Whether `part` (a part's graph id) of this run wrote its last checkpoint.
    pub fn is_done(&self, part: &str) -> Result<bool, StateError> {
        let run = self.inner.unfinished_run(part)?;
        Ok(run.is_some_and(|r| r.get(RUN).and_then(Value::as_str) == Some(&self.run) && r.get(DONE) == Some(&Value::Bool(true))))
    }
}

impl StateStore for PartStore {
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError> {
        self.inner.load(key)
    }

    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError> {
        if !self.fence.is_open() {
            return Err(StateError::Storage { path: PathBuf::from(&key.graph), operation: "commit".into(), reason: "fenced".into() });
        }
        self.inner.commit(key, record)
    }

    fn checkpoint(&self, graph: &str, states: &[(String, Map<String, Value>)], run: Option<&Value>) -> Result<(), StateError> {
        if !self.fence.is_open() {
            return Err(StateError::Storage {
                path: PathBuf::from(graph),
                operation: "checkpoint".into(),
                reason: "this worker's lease on the part lapsed or was lost (fenced): another worker runs it now".into(),
            });
        }
        let tagged = match run {
            Some(Value::Object(record)) => {
                let mut record = record.clone();
                record.insert(RUN.into(), json!(self.run));
                Value::Object(record)
            }
            Some(other) => other.clone(),
            None => json!({RUN: self.run, DONE: true}),
        };
        self.inner.checkpoint(graph, states, Some(&tagged))
    }

    fn unfinished_run(&self, graph: &str) -> Result<Option<Value>, StateError> {
        Ok(self.inner.unfinished_run(graph)?.filter(|r| r.get(RUN).and_then(Value::as_str) == Some(&self.run) && r.get(DONE).is_none()))
    }

    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError> {
        self.inner.actors(graph)
    }

    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError> {
        self.inner.replace_graph(graph, states)
    }

    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError> {
        self.inner.clear(graph, process)
    }

    fn options(&self) -> StoreOptions {
        self.inner.options()
    }
}
