//! Graph files in, [`Graph`] out. Each format has a reader that builds the model through its
//! constructors; the file's own types never leave the reader.
//!
//! - [`json`]: FBP JSON as NoFlo, Flowhub and fbp-graph write it (`.json`).
//! - The `.fbp` text DSL is not read: [`load_graph`] answers
//!   [`GraphError::UnsupportedFormat`] for it (no maintained Rust parser exists, and we do
//!   not keep our own; convert with the `fbp` npm tool).
//!
//! A file that cannot be read as a graph gives one [`GraphError`] naming the file and the
//! place in it. Problems that need the components' metadata are reported by
//! [`validate`](crate::validate::validate), all at once.

pub mod json;

use crate::graph::Graph;
use std::path::{Path, PathBuf};

/// Why a graph file could not be loaded. Every variant names the file; the rest says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("{}: cannot read the graph file: {reason}", file.display())]
    Read { file: PathBuf, reason: String },

    /// The text is not JSON, or not a JSON object (a duplicate section key counts too).
    #[error("{}:{line}:{column}: {reason}", file.display())]
    Json { file: PathBuf, line: usize, column: usize, reason: String },

    /// A value has the wrong shape; `at` is its path in the document
    /// (`connections[3].tgt.port`, `processes["Web Server"].component`).
    #[error("{}: {at}: {reason}", file.display())]
    Malformed { file: PathBuf, at: String, reason: String },

    /// An edge or IIP names a process the graph does not define.
    #[error("{}: {connection}: process {process:?} does not exist", file.display())]
    UnknownProcess { file: PathBuf, connection: String, process: String },

    #[error("{}: {reason}", file.display())]
    UnsupportedFormat { file: PathBuf, reason: String },
}

/// Loads a graph file, choosing the reader by extension: `.json` is FBP JSON; `.fbp` (the
/// text DSL) and anything else is refused with [`GraphError::UnsupportedFormat`].
pub fn load_graph(path: &Path) -> Result<Graph, GraphError> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => json::load_json(path),
        Some("fbp") => Err(GraphError::UnsupportedFormat {
            file: path.to_path_buf(),
            reason: "the .fbp text DSL is not supported; write the graph as FBP JSON \
                     (the `fbp` npm tool converts: `fbp graph.fbp > graph.json`)"
                .into(),
        }),
        _ => Err(GraphError::UnsupportedFormat {
            file: path.to_path_buf(),
            reason: "unknown graph file type (expected a .json FBP graph)".into(),
        }),
    }
}
