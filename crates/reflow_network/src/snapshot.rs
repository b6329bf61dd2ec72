//! Whether a state snapshot (`reflow state import`, `reflow_state::Snapshot`) fits a graph:
//! only plugin processes keep state, so a snapshot naming a process the graph lacks, or a
//! built-in, is a mistake worth stopping for (state written under a name no actor reads would
//! be silently ignored at the next run).

use crate::graph::Graph;

/// A process a snapshot names that cannot take state in the graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotMismatch {
    #[error("process {process:?} is not in the graph")]
    UnknownProcess { process: String },
    #[error("process {process:?} is the built-in {component:?}, which keeps no state")]
    BuiltIn { process: String, component: String },
}

/// Every process of `processes` that cannot take state in `graph`, in the order given.
pub fn snapshot_mismatches<'a>(graph: &Graph, processes: impl IntoIterator<Item = &'a str>) -> Vec<SnapshotMismatch> {
    processes
        .into_iter()
        .filter_map(|process| match graph.process(process) {
            None => Some(SnapshotMismatch::UnknownProcess { process: process.to_string() }),
            Some(p) if !p.is_plugin() => {
                Some(SnapshotMismatch::BuiltIn { process: process.to_string(), component: p.component.clone() })
            }
            Some(_) => None,
        })
        .collect()
}
