//! The JSON form of one graph's state, what `reflow state export` writes and `import` reads:
//!
//! ```json
//! {"format": "reflow-state", "version": 1, "graph": "counter", "actors": {"count": {"count": 5}}}
//! ```
//!
//! Only states: an unfinished run's checkpoint is a crash-recovery detail, not something to
//! back up (an import forgets it).

use crate::{StateError, StateStore};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const FORMAT: &str = "reflow-state";
const VERSION: u32 = 1;

/// Every actor's state of one graph, by process name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub format: String,
    pub version: u32,
    /// The graph id it was exported from (informative: it may be imported into another graph).
    pub graph: String,
    pub actors: BTreeMap<String, Map<String, Value>>,
}

impl Snapshot {
    /// What `store` holds for `graph`.
    pub fn export(store: &dyn StateStore, graph: &str) -> Result<Snapshot, StateError> {
        let actors = store.actors(graph)?.into_iter().map(|(process, record)| (process, record.state)).collect();
        Ok(Snapshot { format: FORMAT.to_string(), version: VERSION, graph: graph.to_string(), actors })
    }

    /// Reads an export; `source_name` (a file name, `-`) names it in errors.
    pub fn parse(source_name: &str, text: &str) -> Result<Snapshot, StateError> {
        let bad = |reason: String| StateError::BadSnapshot { source_name: source_name.to_string(), reason };
        let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        match value.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            other => return Err(bad(format!("\"format\" is {other:?}, expected {FORMAT:?}"))),
        }
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            other => return Err(bad(format!("\"version\" is {other:?}, this reflow reads version {VERSION}"))),
        }
        serde_json::from_value(value).map_err(|e| bad(e.to_string()))
    }

    /// Pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("JSON values always serialise");
        text.push('\n');
        text
    }

    /// Makes this snapshot the whole state of `graph` in `store`, atomically (actors not in it
    /// lose their state).
    pub fn restore(&self, store: &dyn StateStore, graph: &str) -> Result<(), StateError> {
        let states: Vec<(String, Map<String, Value>)> = self.actors.iter().map(|(p, s)| (p.clone(), s.clone())).collect();
        store.replace_graph(graph, &states)
    }
}
