//! The KV buckets the cluster keeps its facts in: entries live for the bucket's `max_age`
//! unless renewed, and their expiry leaves a marker that watchers see (server 2.11+), so a
//! worker waiting for a lease to lapse learns it from the server, not from a timer of its own.

use crate::ClusterError;
use async_nats::jetstream::{self, kv};
use std::time::Duration;

/// Opens `name`, creating it with entries that expire after `ttl` when it does not exist;
/// returns the store and the bucket's own expiry (the first worker's choice holds for all).
pub(crate) async fn open(js: &jetstream::Context, name: &str, description: &str, ttl: Duration) -> Result<(kv::Store, Duration), ClusterError> {
    let store = match js.get_key_value(name).await {
        Ok(store) => store,
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: name.to_string(),
                description: description.to_string(),
                history: 1,
                max_age: ttl,
                // Markers only where entries expire (a bucket without max_age keeps them).
                limit_markers: (!ttl.is_zero()).then(|| ttl.max(Duration::from_secs(1))),
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats(&format!("create bucket {name}"), e))?,
    };
    let mut stream = js.get_stream(format!("KV_{name}")).await.map_err(|e| ClusterError::nats(&format!("open bucket {name}"), e))?;
    let info = stream.info().await.map_err(|e| ClusterError::nats(&format!("open bucket {name}"), e))?;
    Ok((store, info.config.max_age))
}
