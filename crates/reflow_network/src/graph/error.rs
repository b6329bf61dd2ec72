//! Why an edit of the in-memory graph was refused. The model knows no files: a loader adds
//! the file and the place in it (see `GraphError`).

use super::{PortDirection, PortRef};

/// A refused change to a [`Graph`](super::Graph); the graph is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    #[error("process {process:?} does not exist")]
    UnknownProcess { process: String },

    #[error("process {process:?} already exists")]
    DuplicateProcess { process: String },

    /// `edge` is written `process.port -> process.port`.
    #[error("no edge {edge}")]
    UnknownEdge { edge: String },

    #[error("no initial packet to {tgt}")]
    UnknownInitial { tgt: PortRef },

    #[error("no exported {direction} {name:?}")]
    UnknownExport { direction: PortDirection, name: String },

    #[error("exported {direction} {name:?} already exists")]
    DuplicateExport { direction: PortDirection, name: String },

    #[error("group {group:?} does not exist")]
    UnknownGroup { group: String },

    #[error("group {group:?} already exists")]
    DuplicateGroup { group: String },
}
