//! The in-memory backend: records live as long as the store, for tests and ephemeral runs
//! (`reflow run --ephemeral`). Records are kept encoded, as on disk, so the size limit and
//! round trips behave exactly as with [`crate::DbStore`].

use crate::store::{decode, encode, encode_state, Encoded};
use crate::{ActorKey, ActorRecord, StateError, StateStore, StoreOptions};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// A [`StateStore`] in a map behind a lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<ActorKey, Encoded>>,
    options: StoreOptions,
}

impl MemoryStore {
    pub fn new(options: StoreOptions) -> MemoryStore {
        MemoryStore { records: Mutex::default(), options }
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<ActorKey, Encoded>> {
        // Every update is a single insert or remove, so a panicking holder cannot leave the
        // map half-changed: keep using it.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn decoded(key: &ActorKey, encoded: &Encoded) -> Result<ActorRecord, StateError> {
    decode(&encoded.state, encoded.pending.as_deref()).map_err(|reason| StateError::BadRecord {
        path: "(memory)".into(),
        graph: key.graph.clone(),
        process: key.process.clone(),
        reason,
    })
}

impl StateStore for MemoryStore {
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError> {
        self.records().get(key).map(|e| decoded(key, e)).transpose()
    }

    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError> {
        let encoded = encode(key, record, self.options)?;
        self.records().insert(key.clone(), encoded);
        Ok(())
    }

    fn settle(&self, key: &ActorKey) -> Result<(), StateError> {
        if let Some(encoded) = self.records().get_mut(key) {
            encoded.pending = None;
        }
        Ok(())
    }

    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError> {
        self.records()
            .iter()
            .filter(|(key, _)| key.graph == graph)
            .map(|(key, encoded)| Ok((key.process.clone(), decoded(key, encoded)?)))
            .collect()
    }

    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError> {
        let mut encoded = Vec::with_capacity(states.len());
        for (process, state) in states {
            let key = ActorKey::new(graph, process.as_str());
            let bytes = encode_state(&key, state, self.options)?;
            encoded.push((key, Encoded { state: bytes, pending: None }));
        }
        let mut records = self.records();
        records.retain(|key, _| key.graph != graph);
        records.extend(encoded);
        Ok(())
    }

    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError> {
        let mut records = self.records();
        let before = records.len();
        records.retain(|key, _| !(key.graph == graph && process.is_none_or(|p| key.process == p)));
        Ok(before - records.len())
    }

    fn options(&self) -> StoreOptions {
        self.options
    }
}
