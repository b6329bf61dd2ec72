//! Everything that can go wrong keeping state, each naming the store file or the actor.

use std::path::PathBuf;

/// A failure of a state store. `path` is the store's file; `graph` and `process` the actor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("{path}: cannot open the state store: {reason}")]
    Open { path: PathBuf, reason: String },

    #[error("{path}: the state store is in use by another process (another `reflow run` or `reflow state` on the same state directory?)")]
    Locked { path: PathBuf },

    /// Not a redb file, a damaged one, or one without our format marker. Never reset: the file
    /// is left as it is for the user to inspect, move away or restore.
    #[error("{path}: the state store is damaged or is not a Reflow state store ({reason}); it was left untouched: move it away to start afresh (and `reflow state import` a backup, if you have one)")]
    Corrupt { path: PathBuf, reason: String },

    #[error("{path}: incompatible state store: {reason}; it was left untouched")]
    Incompatible { path: PathBuf, reason: String },

    #[error("graph {graph:?}, process {process:?}: state of {size} bytes exceeds the limit of {limit} bytes per actor")]
    TooLarge { graph: String, process: String, size: usize, limit: usize },

    /// A read or a write failed after the store was open (disk full, I/O error).
    #[error("{path}: {operation} failed: {reason}")]
    Storage { path: PathBuf, operation: String, reason: String },

    /// A stored record does not decode: the file was altered outside Reflow.
    #[error("{path}: graph {graph:?}, process {process:?}: stored record is unreadable: {reason}")]
    BadRecord { path: PathBuf, graph: String, process: String, reason: String },

    /// An export file that cannot be imported.
    #[error("{source_name}: not a Reflow state export: {reason}")]
    BadSnapshot { source_name: String, reason: String },
}
