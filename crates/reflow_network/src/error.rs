//! The crate's one error type, [`NetworkError`]: why a graph cannot be loaded, validated,
//! configured or started. Each variant names what went wrong and where; a cause from another
//! crate (a plugin that does not load, a state store that cannot be read, a file that cannot be
//! opened) is kept as the error's `source`, not flattened into text, so callers can match on
//! it and `{:#}` (anyhow) or [`chain`] prints the whole chain, outermost first.
//!
//! The other error types here are not failures of the crate but what its parts report:
//! [`GraphError`] (a loader's, naming the file and the place in it), [`ValidationError`]
//! (one problem of a graph, of which validation reports all), [`EditError`](crate::EditError)
//! (a refused edit of the in-memory model), [`ComponentError`](crate::ComponentError) (what
//! a component's call returns) and [`SnapshotMismatch`](crate::SnapshotMismatch).

use crate::loader::GraphError;
use crate::validate::ValidationError;
use reflow_script::{GrantError, ScriptError};
use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a network, or one of its processes, cannot start.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The graph file cannot be read as a graph.
    #[error(transparent)]
    Graph(#[from] GraphError),

    /// Every problem validation found, one per line.
    #[error("{}", lines(.0.iter().map(|e| e.to_string())))]
    Invalid(Vec<ValidationError>),

    /// Every process whose settings (`metadata.sandbox`, `metadata.on_failure`) cannot be
    /// read, one per line, each a [`NetworkError::Process`] with its cause.
    #[error("{}", lines(.0.iter().map(|e| chain(e))))]
    Settings(Vec<NetworkError>),

    /// Something about one process of a graph file; `source` says what.
    #[error("{}: process {process:?}", file.display())]
    Process {
        file: PathBuf,
        process: String,
        #[source]
        source: Box<NetworkError>,
    },

    /// A process's component is neither a built-in nor a plugin path.
    #[error("unknown component {component:?}")]
    UnknownComponent { component: String },

    /// A component name without `.wasm` that no built-in has.
    #[error("no built-in component has that name (built-ins: {}; a plugin path ends in .wasm)", known.join(", "))]
    UnknownBuiltin { component: String, known: Vec<String> },

    /// A component name asked of the plugin catalog that is not a plugin path.
    #[error("{component:?} is not a plugin path")]
    NotAPlugin { component: String },

    /// A recording cannot be created (`Network::record_to`).
    #[error("cannot record the run into {}", file.display())]
    Record {
        file: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },

    #[error("cannot read plugin {}", path.display())]
    ReadPlugin {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },

    /// A plugin that does not load, or whose actor cannot be created.
    #[error(transparent)]
    Script(#[from] ScriptError),

    /// A built-in's `metadata.config` is missing a setting or has a wrong one.
    #[error("{component}: {reason}")]
    Config { component: String, reason: String },

    /// A built-in cannot open the file its configuration names.
    #[error("{component}: cannot create {}", path.display())]
    CreateFile {
        component: String,
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },

    /// A setting of `metadata.sandbox` or `metadata.on_failure` has the wrong shape or an
    /// unknown key; `key` is its full name (`metadata.sandbox.timeout_ms`).
    #[error("{key} {reason}")]
    Setting { key: String, reason: String },

    /// A key of `metadata.sandbox` or `metadata.on_failure` that means nothing there (a
    /// misspelt limit is never silently the default).
    #[error("unknown key {key} (known: {known})")]
    UnknownKey { key: String, known: &'static str },

    /// A grant in `metadata.sandbox.grants` that does not parse.
    #[error("{key}")]
    Grant {
        key: String,
        #[source]
        source: GrantError,
    },

    /// A protocol client's graph asks for more than `reflow serve` allows.
    #[error("{key} = {asked} is above what the operator allows ({most})")]
    AboveCeiling { key: String, asked: String, most: String },

    /// A protocol client's graph asks for a grant `reflow serve` does not allow.
    #[error("metadata.sandbox.grants: {reason}")]
    GrantNotAllowed { reason: String },

    /// The state store cannot give an actor its state.
    #[error("cannot restore the actor's state")]
    State(#[source] Arc<reflow_state::StateError>),

    /// The unfinished run in the state store cannot be resumed: the graph changed since its
    /// checkpoint (every change is named), or the checkpoint cannot be read.
    #[error("{0}")]
    Resume(String),

    /// A bridge given to [`Network::prepare_part`](crate::Network::prepare_part) cannot
    /// stand for its edge's other end.
    #[error("bridge {name:?}: {reason}")]
    Bridge { name: String, reason: String },
}

impl From<reflow_state::StateError> for NetworkError {
    fn from(e: reflow_state::StateError) -> Self {
        NetworkError::State(Arc::new(e))
    }
}

impl NetworkError {
    /// `self` as the cause of a problem with `process` of the graph `file`.
    pub(crate) fn in_process(self, file: impl Into<PathBuf>, process: &str) -> NetworkError {
        NetworkError::Process { file: file.into(), process: process.to_string(), source: Box::new(self) }
    }

    /// A `metadata.*` setting `key` that is wrong for `reason`.
    pub(crate) fn setting(key: impl Into<String>, reason: impl Into<String>) -> NetworkError {
        NetworkError::Setting { key: key.into(), reason: reason.into() }
    }
}

/// `error` and each of its sources, outermost first, joined by `": "` (what `{:#}` prints with
/// anyhow), for the places that have one line of text to give (a protocol reply, a
/// validation problem).
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn lines(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join("\n")
}
