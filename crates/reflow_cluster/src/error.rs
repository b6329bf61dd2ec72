//! What can go wrong in the cluster, each naming the server, worker, graph or process.

/// A failure of a cluster operation.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{url}: cannot connect to NATS: {reason}")]
    Connect { url: String, reason: String },

    /// A JetStream call failed (the server is gone, a bucket cannot be made).
    #[error("NATS {operation}: {reason}")]
    Nats { operation: String, reason: String },

    /// The lease of `process` was lost: it lapsed or another worker holds it now. The worker
    /// must not run the actor again.
    #[error("graph {graph:?}, process {process:?}: worker {worker:?} lost its lease ({reason}); it no longer runs this actor")]
    Fenced { graph: String, process: String, worker: String, reason: String },

    #[error("worker {worker:?} runs reflow {theirs}, this is {ours}: a cluster runs one version")]
    Version { worker: String, theirs: String, ours: String },

    #[error("process {process:?} is pinned to worker {worker:?} (metadata.worker), which is not live; live: {live:?}")]
    PinnedToAbsent { process: String, worker: String, live: Vec<String> },

    #[error("{file}: {reason}")]
    Graph { file: std::path::PathBuf, reason: String },

    #[error("worker {worker:?}: {reason}")]
    Run { worker: String, reason: String },

    #[error("no live worker to place process {process:?} on")]
    NoWorkers { process: String },
}

impl ClusterError {
    pub(crate) fn nats(operation: &str, reason: impl std::fmt::Display) -> ClusterError {
        ClusterError::Nats { operation: operation.to_string(), reason: reason.to_string() }
    }
}
