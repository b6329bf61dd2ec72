//! One graph across several `reflow` processes and machines, with NATS JetStream as the
//! engine (`docs/cluster.md`): we take its streams, KV buckets and compare-and-set rather
//! than write a cluster protocol of our own.
//!
//! # Brief overview
//!
//! - [`placement`]: which live worker runs which process: pinned by the process's
//!   `metadata.worker`, spread otherwise in contiguous runs of the graph's order.
//! - [`members`]: the live workers, each a key in a KV bucket whose entries expire unless the
//!   worker renews them; a worker says its version, and one of another version is refused.
//! - [`lease`]: who may run an actor, as a KV key created with compare-and-set and renewed on
//!   its revision. A lease that lapsed (the worker was killed or cut off) is never renewed:
//!   its revision is gone, so the worker that held it is fenced, even after it reconnects.
//!
//! - [`edge`]: connections between workers, over one JetStream stream per graph; every
//!   message has an index on its connection, so a resumed end neither loses nor repeats one.
//! - [`bridge`]: an edge's two ends as components that `reflow_network::Network::prepare_part`
//!   wires in place of the far end, checkpointed with the actors beside them.
//! - [`store`]: a part's state and checkpoints in the shared `NatsStore`, per run.
//! - [`worker`]: a worker's life, a graph's submission, each worker's part of its run, and
//!   the takeover of a part whose worker left.
//! - [`status`]: what `reflow cluster status` shows.
//!
//! Every call is async (tokio): the cluster's calls wait on the network, never on a plugin.

mod bucket;
pub mod edge;
pub mod bridge;
pub mod error;
pub mod lease;
pub mod members;
pub mod placement;
pub mod status;
pub mod store;
pub mod worker;

pub use error::ClusterError;

/// The version a worker announces; the cluster runs one version at a time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Connects to `url`, failing (not retrying for ever) when nothing answers there.
pub async fn connect(url: &str) -> Result<async_nats::Client, ClusterError> {
    async_nats::ConnectOptions::new()
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| ClusterError::Connect { url: url.to_string(), reason: e.to_string() })
}

/// KV keys allow only `[-/_=.a-zA-Z0-9]`; graph and process names may hold anything.
pub(crate) fn key_token(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The inverse of [`key_token`]; `None` for a token we did not make.
pub(crate) fn from_key_token(token: &str) -> Option<String> {
    if token.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..token.len()).step_by(2).map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok()).collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}
