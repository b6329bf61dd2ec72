//! The in-memory backend: records live as long as the store, for tests and ephemeral runs
//! (`reflow run --ephemeral`). Records are kept encoded, as on disk, so the size limit and
//! round trips behave exactly as with [`crate::DbStore`].

use crate::store::{decode, encode_state, encode_states};
use crate::{ActorKey, ActorRecord, StateError, StateStore, StoreOptions};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Records {
    /// Each actor's state, encoded.
    states: BTreeMap<ActorKey, Vec<u8>>,
    /// Each graph's unfinished run.
    runs: BTreeMap<String, Value>,
}

/// A [`StateStore`] in a map behind a lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<Records>,
    options: StoreOptions,
}

impl MemoryStore {
    pub fn new(options: StoreOptions) -> MemoryStore {
        MemoryStore { records: Mutex::default(), options }
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        // Every update is encoded before the lock is taken and then only inserts and
        // removes, so a panicking holder cannot leave the maps half-changed: keep using them.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn decoded(key: &ActorKey, encoded: &[u8]) -> Result<ActorRecord, StateError> {
    decode(encoded).map_err(|reason| StateError::BadRecord {
        path: "(memory)".into(),
        graph: key.graph.clone(),
        process: key.process.clone(),
        reason,
    })
}

impl StateStore for MemoryStore {
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError> {
        self.records().states.get(key).map(|e| decoded(key, e)).transpose()
    }

    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError> {
        let encoded = encode_state(key, &record.state, self.options)?;
        self.records().states.insert(key.clone(), encoded);
        Ok(())
    }

    fn checkpoint(&self, graph: &str, states: &[(String, Map<String, Value>)], run: Option<&Value>) -> Result<(), StateError> {
        let encoded = encode_states(graph, states, self.options)?;
        let mut records = self.records();
        for (process, bytes) in encoded {
            records.states.insert(ActorKey::new(graph, process), bytes);
        }
        match run {
            Some(run) => drop(records.runs.insert(graph.to_string(), run.clone())),
            None => drop(records.runs.remove(graph)),
        }
        Ok(())
    }

    fn unfinished_run(&self, graph: &str) -> Result<Option<Value>, StateError> {
        Ok(self.records().runs.get(graph).cloned())
    }

    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError> {
        self.records()
            .states
            .iter()
            .filter(|(key, _)| key.graph == graph)
            .map(|(key, encoded)| Ok((key.process.clone(), decoded(key, encoded)?)))
            .collect()
    }

    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError> {
        let encoded = encode_states(graph, states, self.options)?;
        let mut records = self.records();
        records.states.retain(|key, _| key.graph != graph);
        records.runs.remove(graph);
        for (process, bytes) in encoded {
            records.states.insert(ActorKey::new(graph, process), bytes);
        }
        Ok(())
    }

    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError> {
        let mut records = self.records();
        let before = records.states.len();
        records.states.retain(|key, _| !(key.graph == graph && process.is_none_or(|p| key.process == p)));
        records.runs.remove(graph);
        Ok(before - records.states.len())
    }

    fn options(&self) -> StoreOptions {
        self.options
    }
}
