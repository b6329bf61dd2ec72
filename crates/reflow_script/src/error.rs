//! Everything that can go wrong loading or calling a plugin, each naming the plugin or actor.

/// A failure of this crate. `plugin` names the module (usually its file), `actor` the process.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    #[error("{plugin}: not a valid WebAssembly module: {reason}")]
    InvalidModule { plugin: String, reason: String },

    #[error("{plugin}: missing export `{export}` (a Reflow plugin exports `get_metadata` and its entry point, see docs/abi.md)")]
    MissingExport { plugin: String, export: String },

    #[error("{plugin}: cannot load plugin: {reason}")]
    Load { plugin: String, reason: String },

    #[error("{plugin}: invalid metadata from `get_metadata`: {reason}")]
    Metadata { plugin: String, reason: String },

    #[error("actor {actor}: plugin call failed: {reason}")]
    Call { actor: String, reason: String },

    /// A grant of `ScriptConfig.packages` that cannot be read or used; the grant and why are
    /// its `source` (not repeated here, so a printed cause chain names them once).
    #[error("{plugin}: cannot apply its grants")]
    Grant { plugin: String, source: crate::GrantError },

    /// A call stopped for going over one of its [`Limits`](crate::Limits): `limit` says which
    /// (match on it), `limits` are the ones the call ran under (the message names the value:
    /// "the 10 s call time limit").
    #[error("actor {actor}: exceeded {}", limits.describe(*limit))]
    LimitExceeded { actor: String, limit: crate::Limit, limits: crate::Limits },

    #[error("actor {actor}: the plugin returned an invalid ActorResult: {reason}")]
    InvalidResult { actor: String, reason: String },
}
