//! Graph files in, [`Graph`] out. Each format has a reader that builds the model through its
//! constructors; the file's own types never leave the reader.
//!
//! - [`json`]: FBP JSON as NoFlo, Flowhub and fbp-graph write it (`.json`).
//! - [`fbp`]: the FBP text language (`.fbp`), as the npm `fbp` parser reads it.
//!
//! [`resolve_component`] is the one place that says which plugin a `.fbp` component name
//! means (the language has no `.` in names, so `double` stands for `double.wasm`).
//!
//! A file that cannot be read as a graph gives one [`GraphError`] naming the file and the
//! place in it. Problems that need the components' metadata are reported by
//! [`validate`](crate::validate::validate), all at once.

pub mod fbp;
pub mod json;

use crate::graph::Graph;
use std::path::{Path, PathBuf};

/// Why a graph file could not be loaded. Every variant names the file; the rest says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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

    /// The `.fbp` text does not follow the language; line and column as the reference
    /// parser (npm `fbp`) reports them, 1-based.
    #[error("{}:{line}:{column}: {reason}", file.display())]
    Syntax { file: PathBuf, line: usize, column: usize, reason: String },

    #[error("{}: {reason}", file.display())]
    UnsupportedFormat { file: PathBuf, reason: String },
}

/// Loads a graph file, choosing the reader by extension: `.json` is FBP JSON, `.fbp` the
/// text language (read case-insensitively, the reference parser's default, with its
/// component names resolved by [`resolve_component`]); anything else is refused with
/// [`GraphError::UnsupportedFormat`].
pub fn load_graph(path: &Path) -> Result<Graph, GraphError> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => json::load_json(path),
        Some("fbp") => {
            let mut graph = fbp::load_fbp(path, fbp::FbpOptions::default())?;
            resolve_components(&mut graph);
            Ok(graph)
        }
        _ => Err(GraphError::UnsupportedFormat {
            file: path.to_path_buf(),
            reason: "unknown graph file type (expected a .json FBP graph or a .fbp file)".into(),
        }),
    }
}

/// What component a name in a `.fbp` file means: a built-in if one has that name, a path
/// ending in `.wasm` as it is, anything else the plugin `NAME.wasm` (relative to the graph
/// file's folder, as every plugin path is). `double` is `double.wasm`, `text/split` is
/// `text/split.wasm`, `core/Output` is the built-in. See `docs/graph-format.md`.
pub fn resolve_component(name: &str) -> String {
    if name.ends_with(".wasm") || crate::builtins::metadata(name).is_some() {
        name.to_string()
    } else {
        format!("{name}.wasm")
    }
}

/// The inverse of [`resolve_component`] for plugins: the name a `.fbp` file writes.
pub fn unresolve_component(component: &str) -> String {
    match component.strip_suffix(".wasm") {
        Some(name) if crate::builtins::metadata(name).is_none() => name.to_string(),
        _ => component.to_string(),
    }
}

/// Applies [`resolve_component`] to every process of a graph read from `.fbp`.
pub fn resolve_components(graph: &mut Graph) {
    let names: Vec<String> = graph.processes().map(|p| p.name().to_string()).collect();
    for name in names {
        let process = graph.process_mut(&name).expect("listed just above");
        process.component = resolve_component(&process.component);
    }
}
