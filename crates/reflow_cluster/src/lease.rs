//! Leases: the right of one worker to run one actor of one graph.
//!
//! A lease is a key in the `reflow_leases` bucket, made with `create` (compare-and-set on "no
//! such key"), so two workers never both hold it. The holder renews it with `update` on the
//! revision it last wrote, well before the bucket's `max_age` expires it. Two rules fence a
//! worker that lost its lease (killed, partitioned, paused):
//!
//! - it runs the actor only while [`Lease::is_valid`]: until the time it sent its last
//!   successful renewal plus the lease's life less a margin, which is before the server can
//!   have expired the key, whatever the network did meanwhile;
//! - a lease past that time is never renewed, even if the server still has it, and a renewal
//!   on a revision the server no longer has (it expired, another worker took it) fails. So a
//!   worker that comes back from a partition finds itself fenced and never runs the actor
//!   again, while the worker that took it over goes on.

use crate::{bucket, key_token, ClusterError};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "reflow_leases";

/// What a lease key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub worker: String,
}

/// One worker's handle on the lease bucket.
#[derive(Clone)]
pub struct Leases {
    kv: kv::Store,
    worker: String,
    ttl: Duration,
}

/// A lease this worker holds.
#[derive(Debug)]
pub struct Lease {
    graph: String,
    process: String,
    key: String,
    revision: u64,
    valid_until: Instant,
}

impl Lease {
    /// The revision this worker last wrote: the fencing token.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Whether the actor may run now (see the module docs).
    pub fn is_valid(&self) -> bool {
        Instant::now() < self.valid_until
    }

    /// The moment it stops being valid (unless renewed before).
    pub fn valid_until(&self) -> Instant {
        self.valid_until
    }

    pub fn process(&self) -> &str {
        &self.process
    }
}

impl Leases {
    /// Opens the bucket as `worker`; `ttl` is the life of a lease not renewed, used when this
    /// worker is the first and creates the bucket.
    pub async fn open(client: &async_nats::Client, worker: &str, ttl: Duration) -> Result<Leases, ClusterError> {
        let js = jetstream::new(client.clone());
        let (kv, ttl) = bucket::open(&js, BUCKET, "Reflow actor leases (docs/cluster.md)", ttl).await?;
        Ok(Leases { kv, worker: worker.to_string(), ttl })
    }

    /// How long a lease lives unless renewed.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How often a holder should renew: three chances before the lease is no longer valid.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 4
    }

    /// Takes the lease of `process` if nobody holds it; `None` if another worker does.
    pub async fn acquire(&self, graph: &str, process: &str) -> Result<Option<Lease>, ClusterError> {
        let key = lease_key(graph, process);
        let sent = Instant::now();
        match self.kv.create(&key, self.holder_value()).await {
            Ok(revision) => Ok(Some(Lease {
                graph: graph.to_string(),
                process: process.to_string(),
                key,
                revision,
                valid_until: sent + self.validity(),
            })),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(ClusterError::nats(&format!("acquire the lease of {process:?}"), e)),
        }
    }

    /// Renews `lease` on its revision. [`ClusterError::Fenced`] when it lapsed or another
    /// worker holds it: the actor must not run here again. Any other error leaves the lease
    /// as it was (still valid until its time; try again).
    pub async fn renew(&self, lease: &mut Lease) -> Result<(), ClusterError> {
        if !lease.is_valid() {
            return Err(self.fenced(lease, "it lapsed before it could be renewed"));
        }
        let sent = Instant::now();
        match self.kv.update(&lease.key, self.holder_value(), lease.revision).await {
            Ok(revision) => {
                lease.revision = revision;
                lease.valid_until = sent + self.validity();
                Ok(())
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                // Poison the handle: a lease once lost is never valid again.
                lease.valid_until = Instant::now() - Duration::from_secs(1);
                Err(self.fenced(lease, "its revision is gone: it expired or another worker holds it"))
            }
            Err(e) => Err(ClusterError::nats(&format!("renew the lease of {:?}", lease.process), e)),
        }
    }

    /// Gives `lease` up (a finished actor), so another worker need not wait for it to lapse.
    pub async fn release(&self, lease: Lease) -> Result<(), ClusterError> {
        match self.kv.delete_expect_revision(&lease.key, Some(lease.revision)).await {
            Ok(()) => Ok(()),
            // Already lost: nothing to give up.
            Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(()),
            Err(e) => Err(ClusterError::nats(&format!("release the lease of {:?}", lease.process), e)),
        }
    }

    /// Who holds the lease of `process`, and at which revision.
    pub async fn holder(&self, graph: &str, process: &str) -> Result<Option<(Holder, u64)>, ClusterError> {
        Self::holder_in(&self.kv, &lease_key(graph, process)).await
    }

    pub(crate) async fn holder_in(kv: &kv::Store, key: &str) -> Result<Option<(Holder, u64)>, ClusterError> {
        let entry = kv.entry(key).await.map_err(|e| ClusterError::nats("read a lease", e))?;
        match entry {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let holder = serde_json::from_slice(&entry.value).map_err(|e| ClusterError::nats("read a lease", e))?;
                Ok(Some((holder, entry.revision)))
            }
            _ => Ok(None),
        }
    }

    /// Waits until the lease of `process` is free (released or expired; the server says so),
    /// then takes it, unless a third worker is faster, in which case it waits again.
    pub async fn take_over(&self, graph: &str, process: &str) -> Result<Lease, ClusterError> {
        let key = lease_key(graph, process);
        let mut watch = self.kv.watch_with_history(&key).await.map_err(|e| ClusterError::nats("watch a lease", e))?;
        loop {
            if let Some(lease) = self.acquire(graph, process).await? {
                return Ok(lease);
            }
            // The next change of the key: its renewal, its release or its expiry marker.
            match watch.next().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(ClusterError::nats("watch a lease", e)),
                None => return Err(ClusterError::nats("watch a lease", "the watch ended")),
            }
        }
    }

    fn holder_value(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(&Holder { worker: self.worker.clone() }).expect("a holder serialises"))
    }

    /// How long after sending a renewal the lease may be used: its life less a fifth, a margin
    /// for the server's clock running a little fast and for the request's own delay.
    fn validity(&self) -> Duration {
        self.ttl - self.ttl / 5
    }

    fn fenced(&self, lease: &Lease, reason: &str) -> ClusterError {
        ClusterError::Fenced {
            graph: lease.graph.clone(),
            process: lease.process.clone(),
            worker: self.worker.clone(),
            reason: reason.to_string(),
        }
    }
}

fn lease_key(graph: &str, process: &str) -> String {
    format!("g{}.p{}", key_token(graph), key_token(process))
}
