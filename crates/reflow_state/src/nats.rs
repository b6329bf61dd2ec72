//! The JetStream KV backend (`--features nats`): records in one KV bucket of a NATS server, so
//! an actor can resume on another machine from its last commit (`docs/cluster.md`).
//!
//! Layout: one key per actor, `a.g<hex graph>.p<hex process>` (hex, because KV keys allow
//! only `[-/_=.a-zA-Z0-9]` and a process name may be anything, even empty), and a format
//! marker under [`FORMAT_KEY`]. A value is [`MAGIC`], the state's length (u32, little endian)
//! and the state's JSON (anything after it, which the first version wrote as per-call pending
//! messages, is ignored): one KV value per actor, so a commit is one put. A graph's
//! unfinished run is one more key, `r.g<hex graph>` (its JSON); a checkpoint (states and run
//! together) is one atomic batch.
//!
//! Whole-graph replacement ([`StateStore::replace_graph`]) touches many keys; it is one
//! JetStream atomic batch (ADR-50, servers 2.12+), so readers see all of it or none of it.
//!
//! The trait is synchronous (the scheduler's workers are plain threads); each call runs on the
//! store's own tokio runtime and the caller waits for its answer on a channel, which works
//! from any thread, inside a runtime or not.
//!
//! Durability is the server's: a put is acknowledged once the stream has it, which survives a
//! crash of this process; a crash of the server's machine is covered by the stream's replicas
//! (a 3-node cluster with `num_replicas: 3`), not by one server's lazy fsync.

use crate::store::{decode, encode_state, encode_states};
use crate::{ActorKey, ActorRecord, StateError, StateStore, StoreOptions};
use async_nats::jetstream::{self, kv};
use async_nats::{HeaderMap, HeaderValue};
use bytes::Bytes;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// The first bytes of every record value: a value without them was not written by us.
const MAGIC: &[u8; 4] = b"RFS1";
/// Marks a bucket as a Reflow state bucket of this format.
pub const FORMAT_KEY: &str = "reflow.format";
const FORMAT: &[u8] = b"reflow-state-1";
/// The most messages one atomic batch may hold (the server's default limit).
const MAX_BATCH: usize = 1000;

/// A [`StateStore`] in a JetStream KV bucket.
pub struct NatsStore {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    kv: kv::Store,
    bucket: String,
    /// What errors name: `nats://HOST:PORT/BUCKET`.
    location: PathBuf,
    options: StoreOptions,
}

impl std::fmt::Debug for NatsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsStore").field("location", &self.location).finish_non_exhaustive()
    }
}

impl NatsStore {
    /// Connects to `url` and opens (or creates) `bucket`, on a runtime of the store's own.
    /// An unreachable server is an [`StateError::Open`] after the connection timeout, never a
    /// hang.
    pub fn connect(url: &str, bucket: &str, options: StoreOptions) -> Result<NatsStore, StateError> {
        let location = PathBuf::from(format!("{}/{bucket}", url.trim_end_matches('/')));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("reflow-state-nats")
            .enable_all()
            .build()
            .map_err(|e| StateError::Open { path: location.clone(), reason: format!("cannot start a runtime: {e}") })?;
        let url_owned = url.to_string();
        let client = run_on(runtime.handle(), async move {
            async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5)).connect(url_owned).await
        })
        .map_err(|e| StateError::Open { path: location.clone(), reason: format!("cannot connect to NATS: {e}") })?;
        let mut store = Self::open(runtime.handle().clone(), client, bucket, options)?;
        store.runtime = Some(runtime);
        Ok(store)
    }

    /// Opens (or creates) `bucket` over an existing connection whose tasks run on `handle`.
    pub fn open(
        handle: tokio::runtime::Handle,
        client: async_nats::Client,
        bucket: &str,
        options: StoreOptions,
    ) -> Result<NatsStore, StateError> {
        let location = PathBuf::from(format!("nats://{}/{bucket}", client.server_info().host));
        // The JetStream context starts a task of its own, so it is made inside the runtime.
        let jetstream = {
            let _inside = handle.enter();
            jetstream::new(client.clone())
        };
        let (js, name, loc) = (jetstream.clone(), bucket.to_string(), location.clone());
        let kv = run_on(&handle, async move { open_bucket(&js, &name, &loc).await })?;
        Ok(NatsStore { runtime: None, handle, client, jetstream, kv, bucket: bucket.to_string(), location, options })
    }

    /// The connection this store uses (the cluster shares it).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    fn block<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        run_on(&self.handle, future)
    }

    fn storage(&self, operation: &str, reason: impl std::fmt::Display) -> StateError {
        StateError::Storage { path: self.location.clone(), operation: operation.to_string(), reason: reason.to_string() }
    }

    fn bad_record(&self, key: &ActorKey, reason: String) -> StateError {
        StateError::BadRecord { path: self.location.clone(), graph: key.graph.clone(), process: key.process.clone(), reason }
    }

    /// The live entry of `key` (a deleted one is none).
    fn entry(&self, key: &ActorKey) -> Result<Option<kv::Entry>, StateError> {
        let (kv, name) = (self.kv.clone(), kv_key(key));
        let entry = self.block(async move { kv.entry(name).await }).map_err(|e| self.storage("read", e))?;
        Ok(entry.filter(|e| e.operation == kv::Operation::Put))
    }

    fn decoded(&self, key: &ActorKey, value: &[u8]) -> Result<ActorRecord, StateError> {
        let state = unframe(value).map_err(|reason| self.bad_record(key, reason))?;
        decode(state).map_err(|reason| self.bad_record(key, reason))
    }

    /// The processes stored under `graph`, from the bucket's key list.
    fn processes(&self, graph: &str) -> Result<Vec<String>, StateError> {
        let kv = self.kv.clone();
        let keys: Vec<String> = self
            .block(async move {
                let keys = kv.keys().await.map_err(|e| e.to_string())?;
                keys.try_collect::<Vec<String>>().await.map_err(|e| e.to_string())
            })
            .map_err(|e| self.storage("list keys", e))?;
        let prefix = format!("a.g{}.p", hex(graph));
        let mut processes = Vec::new();
        for key in keys {
            if let Some(process) = key.strip_prefix(&prefix) {
                let name = unhex(process).ok_or_else(|| self.storage("list keys", format!("key {key:?} is not one of ours")))?;
                processes.push(name);
            }
        }
        processes.sort();
        Ok(processes)
    }

    /// Publishes `messages` (subject, headers, payload) as one atomic batch and waits for its
    /// acknowledgement: the stream stores all of them or none.
    fn atomic_batch(&self, messages: Vec<(String, HeaderMap, Bytes)>) -> Result<(), StateError> {
        if messages.is_empty() {
            return Ok(());
        }
        if messages.len() > MAX_BATCH {
            return Err(self.storage(
                "replace graph",
                format!("{} changes in one atomic step exceed the server's batch limit of {MAX_BATCH}", messages.len()),
            ));
        }
        let (client, js) = (self.client.clone(), self.jetstream.clone());
        // A fresh inbox name is a unique token, which is all a batch id must be.
        let id = self.client.new_inbox().trim_start_matches("_INBOX.").to_string();
        self.block(async move {
            let last = messages.len();
            for (n, (subject, mut headers, payload)) in messages.into_iter().enumerate() {
                headers.insert(async_nats::header::NATS_BATCH_ID, id.as_str());
                headers.insert(async_nats::header::NATS_BATCH_SEQUENCE, HeaderValue::from((n + 1).to_string().as_str()));
                if n + 1 < last {
                    // Only the commit is acknowledged; the others go on the same connection,
                    // so the server sees them first and in order.
                    client.publish_with_headers(subject, headers, payload).await.map_err(|e| e.to_string())?;
                } else {
                    headers.insert(async_nats::header::NATS_BATCH_COMMIT, "1");
                    let ack = js.publish_with_headers(subject, headers, payload).await.map_err(|e| e.to_string())?;
                    ack.await.map_err(|e| e.to_string())?;
                }
            }
            Ok::<(), String>(())
        })
        .map_err(|e| self.storage("replace graph (atomic batch)", e))
    }

    /// The batch entry that makes `graph`'s unfinished run `run` (a delete when `None`).
    fn run_change(&self, graph: &str, run: Option<&Value>) -> (String, HeaderMap, Bytes) {
        let subject = self.subject(&run_key(graph));
        match run {
            Some(run) => (subject, HeaderMap::new(), Bytes::from(serde_json::to_vec(run).expect("JSON values always serialise"))),
            None => {
                let mut headers = HeaderMap::new();
                headers.insert("KV-Operation", "DEL");
                (subject, headers, Bytes::new())
            }
        }
    }

    fn subject(&self, key: &str) -> String {
        format!("$KV.{}.{key}", self.bucket)
    }
}

impl Drop for NatsStore {
    fn drop(&mut self) {
        // Dropping a runtime inside another one's task panics; shutting it down in the
        // background does not.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl StateStore for NatsStore {
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError> {
        self.entry(key)?.map(|entry| self.decoded(key, &entry.value)).transpose()
    }

    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError> {
        let value = frame(&encode_state(key, &record.state, self.options)?);
        let (kv, name) = (self.kv.clone(), kv_key(key));
        self.block(async move { kv.put(name, value).await }).map_err(|e| self.storage("commit", e))?;
        Ok(())
    }

    fn checkpoint(&self, graph: &str, states: &[(String, Map<String, Value>)], run: Option<&Value>) -> Result<(), StateError> {
        let mut messages = Vec::with_capacity(states.len() + 1);
        for (process, bytes) in encode_states(graph, states, self.options)? {
            messages.push((self.subject(&kv_key(&ActorKey::new(graph, process))), HeaderMap::new(), frame(&bytes)));
        }
        messages.push(self.run_change(graph, run));
        self.atomic_batch(messages)
    }

    fn unfinished_run(&self, graph: &str) -> Result<Option<Value>, StateError> {
        let (kv, name) = (self.kv.clone(), run_key(graph));
        let entry = self.block(async move { kv.entry(name).await }).map_err(|e| self.storage("read", e))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else { return Ok(None) };
        serde_json::from_slice(&entry.value).map(Some).map_err(|e| StateError::BadRecord {
            path: self.location.clone(),
            graph: graph.to_string(),
            process: "(its unfinished run)".into(),
            reason: format!("the checkpoint is not JSON: {e}"),
        })
    }

    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError> {
        let mut actors = Vec::new();
        for process in self.processes(graph)? {
            let key = ActorKey::new(graph, process.as_str());
            // A key listed a moment ago may be gone by now: skip it, as a later list would.
            if let Some(record) = self.load(&key)? {
                actors.push((process, record));
            }
        }
        Ok(actors)
    }

    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError> {
        let mut messages = Vec::with_capacity(states.len());
        let mut kept = std::collections::BTreeSet::new();
        for (process, state) in states {
            let key = ActorKey::new(graph, process.as_str());
            let value = frame(&encode_state(&key, state, self.options)?);
            messages.push((self.subject(&kv_key(&key)), HeaderMap::new(), value));
            kept.insert(process.as_str());
        }
        for process in self.processes(graph)? {
            if !kept.contains(process.as_str()) {
                let mut headers = HeaderMap::new();
                headers.insert("KV-Operation", "DEL");
                messages.push((self.subject(&kv_key(&ActorKey::new(graph, process.as_str()))), headers, Bytes::new()));
            }
        }
        messages.push(self.run_change(graph, None));
        self.atomic_batch(messages)
    }

    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError> {
        let processes = match process {
            Some(p) => self.entry(&ActorKey::new(graph, p))?.map(|_| vec![p.to_string()]).unwrap_or_default(),
            None => self.processes(graph)?,
        };
        for process in &processes {
            let (kv, name) = (self.kv.clone(), kv_key(&ActorKey::new(graph, process.as_str())));
            self.block(async move { kv.purge(name).await }).map_err(|e| self.storage("clear", e))?;
        }
        let (kv, name) = (self.kv.clone(), run_key(graph));
        self.block(async move { kv.purge(name).await }).map_err(|e| self.storage("clear", e))?;
        Ok(processes.len())
    }

    fn options(&self) -> StoreOptions {
        self.options
    }
}

/// Runs `future` on `handle` and waits for its output from this (any) thread.
fn run_on<F>(handle: &tokio::runtime::Handle, future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().expect("the store's runtime outlives its calls")
}

/// Opens `name`, creating it (one revision per key, on disk, atomic batches allowed) when it
/// does not exist; a bucket without our format marker that holds keys is refused.
async fn open_bucket(js: &jetstream::Context, name: &str, location: &PathBuf) -> Result<kv::Store, StateError> {
    let open = |reason: String| StateError::Open { path: location.clone(), reason };
    let kv = match js.get_key_value(name).await {
        Ok(kv) => kv,
        Err(_) => {
            let config = kv::Config {
                bucket: name.to_string(),
                description: "Reflow actor state (docs/state.md)".to_string(),
                history: 1,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            };
            match js.create_key_value(config).await {
                Ok(kv) => kv,
                // Another process created the bucket meanwhile, and may already have allowed
                // atomic batches on its stream (below), which the server reports as "a
                // different configuration": take the bucket that exists.
                Err(created) => js.get_key_value(name).await.map_err(|_| open(format!("cannot create the KV bucket: {created}")))?,
            }
        }
    };
    // Whole-graph replacement is an atomic batch, which the bucket's stream must allow.
    let stream_name = format!("KV_{name}");
    let mut stream = js.get_stream(&stream_name).await.map_err(|e| open(format!("cannot read stream {stream_name}: {e}")))?;
    let info = stream.info().await.map_err(|e| open(format!("cannot read stream {stream_name}: {e}")))?;
    if !info.config.allow_atomic_publish {
        let mut config = info.config.clone();
        config.allow_atomic_publish = true;
        js.update_stream(config)
            .await
            .map_err(|e| open(format!("cannot allow atomic batches on {stream_name} (the server must be 2.12 or later): {e}")))?;
    }
    match kv.get(FORMAT_KEY).await.map_err(|e| open(format!("cannot read the format marker: {e}")))? {
        Some(format) if format.as_ref() == FORMAT => Ok(kv),
        Some(other) => Err(StateError::Incompatible {
            path: location.clone(),
            reason: format!("format {:?}, this version reads {:?}", String::from_utf8_lossy(&other), String::from_utf8_lossy(FORMAT)),
        }),
        None => {
            let keys = kv.keys().await.map_err(|e| open(e.to_string()))?;
            let mut any: Vec<String> = keys.try_collect().await.map_err(|e| open(e.to_string()))?;
            // Another worker opening the new bucket at the same moment may have just written
            // the marker (it is checked again by `create` below).
            any.retain(|k| k != FORMAT_KEY);
            if !any.is_empty() {
                return Err(StateError::Corrupt {
                    path: location.clone(),
                    reason: format!("the bucket holds {} keys but no {FORMAT_KEY} marker", any.len()),
                });
            }
            // `create`, not `put`: two workers opening a new bucket at once agree on one marker.
            match kv.create(FORMAT_KEY, Bytes::from_static(FORMAT)).await {
                Ok(_) => Ok(kv),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(kv),
                Err(e) => Err(open(format!("cannot write the format marker: {e}"))),
            }
        }
    }
}

fn kv_key(key: &ActorKey) -> String {
    format!("a.g{}.p{}", hex(&key.graph), hex(&key.process))
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if text.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

fn run_key(graph: &str) -> String {
    format!("r.g{}", hex(graph))
}

fn frame(state: &[u8]) -> Bytes {
    let mut value = Vec::with_capacity(MAGIC.len() + 4 + state.len());
    value.extend_from_slice(MAGIC);
    value.extend_from_slice(&(state.len() as u32).to_le_bytes());
    value.extend_from_slice(state);
    Bytes::from(value)
}

/// The state's bytes of a value.
fn unframe(value: &[u8]) -> Result<&[u8], String> {
    let rest = value.strip_prefix(MAGIC.as_slice()).ok_or("the value was not written by Reflow (no format marker)")?;
    let (length, rest) = rest.split_first_chunk::<4>().ok_or("the value is cut short")?;
    let length = u32::from_le_bytes(*length) as usize;
    rest.get(..length).ok_or_else(|| "the value is cut short".to_string())
}
