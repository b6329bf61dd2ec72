//! The contract every backend meets, and the one encoding they share, so that a record means
//! the same in memory as on disk and the size limit is measured the same way everywhere.

use crate::StateError;
use serde_json::{Map, Value};

/// The default cap on one actor's state: 1 MiB of JSON. State is sent to the plugin on every
/// call, so a state this large is already slow; a larger one is almost always a bug (a list
/// that only grows).
pub const DEFAULT_MAX_STATE_BYTES: usize = 1 << 20;

/// Whose state: a graph id and a process name in that graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorKey {
    pub graph: String,
    pub process: String,
}

impl ActorKey {
    pub fn new(graph: impl Into<String>, process: impl Into<String>) -> ActorKey {
        ActorKey { graph: graph.into(), process: process.into() }
    }
}

/// What a store keeps for one actor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActorRecord {
    /// The actor's state, a JSON object.
    pub state: Map<String, Value>,
}

/// Settings every backend honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// The largest state one actor may commit, in bytes of compact JSON.
    pub max_state_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { max_state_bytes: DEFAULT_MAX_STATE_BYTES }
    }
}

/// Where actor state lives. Shared by every actor of a run (`Arc<dyn StateStore>`), so methods
/// take `&self`; each call is atomic on its own: after a crash a store holds, for every actor,
/// either all of a commit or none of it.
pub trait StateStore: Send + Sync {
    /// The record stored for `key`, if any.
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError>;

    /// Replaces `key`'s record, atomically and durably: when this returns `Ok`, a crash of the
    /// process no longer loses it. A state larger than [`StoreOptions::max_state_bytes`] is
    /// refused with [`StateError::TooLarge`] and nothing changes. Leaves the graph's unfinished
    /// run as it is.
    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError>;

    /// One checkpoint of `graph`, in one transaction and one fsync (group commit): every
    /// state in `states` replaces its actor's, and the graph's unfinished run becomes `run`
    /// (`None`: the run finished, there is nothing to resume). After a crash the store holds
    /// all of a checkpoint or none of it. A state over the size limit fails the whole
    /// checkpoint with [`StateError::TooLarge`] and nothing changes.
    fn checkpoint(&self, graph: &str, states: &[(String, Map<String, Value>)], run: Option<&Value>) -> Result<(), StateError>;

    /// The unfinished run of `graph` its last checkpoint left (opaque JSON: what the network
    /// wrote), if any.
    fn unfinished_run(&self, graph: &str) -> Result<Option<Value>, StateError>;

    /// Every actor stored under `graph`, sorted by process name.
    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError>;

    /// Makes `states` the whole of `graph`'s state in one atomic step: actors not listed are
    /// removed, and so is an unfinished run. Checked against the size limit first.
    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError>;

    /// Removes what is stored under `graph` (only `process`, if given), and the graph's
    /// unfinished run in either case (a run resumed without one actor's state would mix two
    /// runs); returns how many actors were removed.
    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError>;

    /// The settings this store enforces.
    fn options(&self) -> StoreOptions;
}

pub(crate) fn encode_state(key: &ActorKey, state: &Map<String, Value>, options: StoreOptions) -> Result<Vec<u8>, StateError> {
    let bytes = serde_json::to_vec(state).expect("JSON values always serialise");
    if bytes.len() > options.max_state_bytes {
        return Err(StateError::TooLarge {
            graph: key.graph.clone(),
            process: key.process.clone(),
            size: bytes.len(),
            limit: options.max_state_bytes,
        });
    }
    Ok(bytes)
}

/// Every state of a checkpoint, encoded (and so checked against the limit) before anything
/// is written.
pub(crate) fn encode_states(graph: &str, states: &[(String, Map<String, Value>)], options: StoreOptions) -> Result<Vec<(String, Vec<u8>)>, StateError> {
    states.iter().map(|(process, state)| Ok((process.clone(), encode_state(&ActorKey::new(graph, process.as_str()), state, options)?))).collect()
}

/// The inverse of [`encode_state`]; the error says what is wrong with the bytes.
pub(crate) fn decode(state: &[u8]) -> Result<ActorRecord, String> {
    match serde_json::from_slice::<Value>(state) {
        Ok(Value::Object(state)) => Ok(ActorRecord { state }),
        Ok(other) => Err(format!("state is not a JSON object: {other}")),
        Err(e) => Err(format!("state is not JSON: {e}")),
    }
}
