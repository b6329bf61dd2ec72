//! What `reflow cluster status` shows: the live workers, which actor runs where (the leases),
//! and how far behind each edge between workers is (its consumer's pending batches).

use crate::members::{self, WorkerInfo};
use crate::{edge, from_key_token, lease, ClusterError};
use async_nats::jetstream;
use futures_util::{StreamExt, TryStreamExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub workers: Vec<WorkerInfo>,
    pub actors: Vec<Placed>,
    pub edges: Vec<EdgeLag>,
}

/// An actor and the worker whose lease it is under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub graph: String,
    pub process: String,
    pub worker: String,
}

/// One edge's backlog: batches stored but not yet taken, and taken but not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeLag {
    pub graph: String,
    pub consumer: String,
    pub pending: u64,
    pub unacknowledged: usize,
}

pub async fn status(client: &async_nats::Client) -> Result<Status, ClusterError> {
    let workers = members::live(client).await?;
    let js = jetstream::new(client.clone());
    let mut actors = Vec::new();
    if let Ok(kv) = js.get_key_value(lease::BUCKET).await {
        let keys: Vec<String> = kv
            .keys()
            .await
            .map_err(|e| ClusterError::nats("list leases", e))?
            .try_collect()
            .await
            .map_err(|e| ClusterError::nats("list leases", e))?;
        for key in keys {
            let Some((graph, process)) = key.split_once(".p").and_then(|(g, p)| Some((from_key_token(g.strip_prefix('g')?)?, from_key_token(p)?))) else {
                continue;
            };
            if let Some((holder, _)) = lease::Leases::holder_in(&kv, &key).await? {
                actors.push(Placed { graph, process, worker: holder.worker });
            }
        }
    }
    actors.sort_by(|a, b| (&a.graph, &a.process).cmp(&(&b.graph, &b.process)));
    let mut edges = Vec::new();
    let mut names = js.stream_names();
    while let Some(name) = names.next().await {
        let name = name.map_err(|e| ClusterError::nats("list streams", e))?;
        let Some(graph) = name.strip_prefix(edge::STREAM_PREFIX).and_then(from_key_token) else { continue };
        let stream = js.get_stream(&name).await.map_err(|e| ClusterError::nats("read an edge stream", e))?;
        let mut consumers = stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info.map_err(|e| ClusterError::nats("read an edge consumer", e))?;
            edges.push(EdgeLag { graph: graph.clone(), consumer: info.name, pending: info.num_pending, unacknowledged: info.num_ack_pending });
        }
    }
    edges.sort_by(|a, b| (&a.graph, &a.consumer).cmp(&(&b.graph, &b.consumer)));
    Ok(Status { workers, actors, edges })
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "workers: {}", self.workers.len())?;
        for w in &self.workers {
            writeln!(f, "  {} (reflow {})", w.name, w.version)?;
        }
        writeln!(f, "actors: {}", self.actors.len())?;
        for a in &self.actors {
            writeln!(f, "  {}/{} on {}", a.graph, a.process, a.worker)?;
        }
        writeln!(f, "edges: {}", self.edges.len())?;
        for e in &self.edges {
            writeln!(f, "  {}/{}: {} batches pending, {} unacknowledged", e.graph, e.consumer, e.pending, e.unacknowledged)?;
        }
        Ok(())
    }
}
