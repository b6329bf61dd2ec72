//! The contract every backend meets, and the one encoding they share, so that a record means
//! the same in memory as on disk and the size limit is measured the same way everywhere.

use crate::StateError;
use serde::{Deserialize, Serialize};
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

/// One message an actor produced in its last committed step, as opaque JSON under a port name.
/// The store keeps these with the state so that a caller can deliver them again after a crash
/// that may have cut their delivery short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub port: String,
    pub message: Value,
}

/// What a store keeps for one actor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActorRecord {
    /// The actor's state, a JSON object.
    pub state: Map<String, Value>,
    /// Messages of the last committed step not yet known to be delivered (empty once settled).
    pub pending: Vec<Pending>,
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

    /// Replaces `key`'s record (state and pending messages together), atomically and durably:
    /// when this returns `Ok`, a crash of the process no longer loses it. A state larger than
    /// [`StoreOptions::max_state_bytes`] is refused with [`StateError::TooLarge`] and nothing
    /// changes.
    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError>;

    /// Forgets `key`'s pending messages (they were delivered); the state stays.
    fn settle(&self, key: &ActorKey) -> Result<(), StateError>;

    /// Every actor stored under `graph`, sorted by process name.
    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError>;

    /// Makes `states` the whole of `graph`'s state in one atomic step: actors not listed are
    /// removed, and no actor keeps pending messages. Checked against the size limit first.
    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError>;

    /// Removes what is stored under `graph` (only `process`, if given); returns how many actors
    /// were removed.
    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError>;

    /// The settings this store enforces.
    fn options(&self) -> StoreOptions;
}

/// A record as both backends store it: the state's JSON text, and the pending messages' JSON
/// text when there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub state: Vec<u8>,
    pub pending: Option<Vec<u8>>,
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

pub(crate) fn encode(key: &ActorKey, record: &ActorRecord, options: StoreOptions) -> Result<Encoded, StateError> {
    let state = encode_state(key, &record.state, options)?;
    let pending = (!record.pending.is_empty())
        .then(|| serde_json::to_vec(&record.pending).expect("JSON values always serialise"));
    Ok(Encoded { state, pending })
}

/// The inverse of [`encode`]; the error says what is wrong with the bytes.
pub(crate) fn decode(state: &[u8], pending: Option<&[u8]>) -> Result<ActorRecord, String> {
    let state = match serde_json::from_slice::<Value>(state) {
        Ok(Value::Object(map)) => map,
        Ok(other) => return Err(format!("state is not a JSON object: {other}")),
        Err(e) => return Err(format!("state is not JSON: {e}")),
    };
    let pending = match pending {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| format!("pending messages do not decode: {e}"))?,
        None => Vec::new(),
    };
    Ok(ActorRecord { state, pending })
}
