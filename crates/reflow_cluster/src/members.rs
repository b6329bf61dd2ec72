//! The live workers: each is a key in the `reflow_workers` bucket, made when it joins and
//! renewed while it lives; the bucket's `max_age` removes a worker that stopped renewing
//! (killed, cut off). A worker says its name and version; the cluster runs one version.

use crate::{bucket, key_token, ClusterError, VERSION};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const BUCKET: &str = "reflow_workers";

/// What a worker's key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub name: String,
    pub version: String,
}

/// A joined worker; [`Member::heartbeat`] keeps it live.
pub struct Member {
    kv: kv::Store,
    info: WorkerInfo,
    key: String,
    revision: u64,
    ttl: Duration,
}

impl Member {
    /// Joins as `name`. A name another live worker has is refused, so two workers never
    /// answer to one name.
    pub async fn join(client: &async_nats::Client, name: &str, ttl: Duration) -> Result<Member, ClusterError> {
        Self::join_as(client, WorkerInfo { name: name.to_string(), version: VERSION.to_string() }, ttl).await
    }

    /// Joins with `info` as given (tests join with another version).
    pub async fn join_as(client: &async_nats::Client, info: WorkerInfo, ttl: Duration) -> Result<Member, ClusterError> {
        let js = jetstream::new(client.clone());
        let (kv, ttl) = bucket::open(&js, BUCKET, "Reflow live workers (docs/cluster.md)", ttl).await?;
        let key = format!("w{}", key_token(&info.name));
        let value = Bytes::from(serde_json::to_vec(&info).expect("worker info serialises"));
        let revision = kv.create(&key, value).await.map_err(|e| match e.kind() {
            kv::CreateErrorKind::AlreadyExists => ClusterError::nats(&format!("join as {:?}", info.name), "a live worker already has this name"),
            _ => ClusterError::nats(&format!("join as {:?}", info.name), e),
        })?;
        Ok(Member { kv, info, key, revision, ttl })
    }

    pub fn info(&self) -> &WorkerInfo {
        &self.info
    }

    /// How often to call [`Member::heartbeat`].
    pub fn heartbeat_every(&self) -> Duration {
        self.ttl / 4
    }

    /// Renews this worker's key; an error means it was dropped from the cluster (it must stop
    /// its actors: their leases lapse with it).
    pub async fn heartbeat(&mut self) -> Result<(), ClusterError> {
        let value = Bytes::from(serde_json::to_vec(&self.info).expect("worker info serialises"));
        self.revision = self
            .kv
            .update(&self.key, value, self.revision)
            .await
            .map_err(|e| ClusterError::nats(&format!("heartbeat of {:?}", self.info.name), e))?;
        Ok(())
    }

    /// Leaves the cluster at once (rather than when the key expires).
    pub async fn leave(self) -> Result<(), ClusterError> {
        self.kv.purge(&self.key).await.map_err(|e| ClusterError::nats("leave", e))
    }
}

/// Whether the worker named `name` is live (its key is there and not deleted).
pub async fn is_live(client: &async_nats::Client, name: &str) -> Result<bool, ClusterError> {
    let js = jetstream::new(client.clone());
    let kv = match js.get_key_value(BUCKET).await {
        Ok(kv) => kv,
        Err(e) if e.kind() == jetstream::context::KeyValueErrorKind::GetBucket => return Ok(false),
        Err(e) => return Err(ClusterError::nats("look a worker up", e)),
    };
    let entry = kv.entry(format!("w{}", key_token(name))).await.map_err(|e| ClusterError::nats("look a worker up", e))?;
    Ok(entry.is_some_and(|e| e.operation == kv::Operation::Put))
}

/// The live workers, sorted by name.
pub async fn live(client: &async_nats::Client) -> Result<Vec<WorkerInfo>, ClusterError> {
    let js = jetstream::new(client.clone());
    let kv = match js.get_key_value(BUCKET).await {
        Ok(kv) => kv,
        // No worker ever joined.
        Err(e) if e.kind() == jetstream::context::KeyValueErrorKind::GetBucket => return Ok(Vec::new()),
        Err(e) => return Err(ClusterError::nats("list workers", e)),
    };
    let keys: Vec<String> = kv
        .keys()
        .await
        .map_err(|e| ClusterError::nats("list workers", e))?
        .try_collect()
        .await
        .map_err(|e| ClusterError::nats("list workers", e))?;
    let mut workers = Vec::new();
    for key in keys {
        if let Some(value) = kv.get(&key).await.map_err(|e| ClusterError::nats("list workers", e))? {
            workers.push(serde_json::from_slice::<WorkerInfo>(&value).map_err(|e| ClusterError::nats("list workers", e))?);
        }
    }
    workers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(workers)
}

/// The live workers' names, refusing the cluster if one of them runs another version.
pub async fn live_same_version(client: &async_nats::Client) -> Result<Vec<String>, ClusterError> {
    let workers = live(client).await?;
    if let Some(other) = workers.iter().find(|w| w.version != VERSION) {
        return Err(ClusterError::Version { worker: other.name.clone(), theirs: other.version.clone(), ours: VERSION.to_string() });
    }
    Ok(workers.into_iter().map(|w| w.name).collect())
}
