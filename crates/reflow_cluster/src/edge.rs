//! Edges between workers: one JetStream stream per graph, one subject per connection and run
//! (`reflow.edge.<hex graph>.<run>.<connection>`), so the stream keeps each connection's
//! order and a consumer reads exactly its own.
//!
//! Every message on a connection has an **index** (0, 1, 2, ...: its place on the
//! connection), which is what makes a resumed worker exact (docs/cluster.md):
//!
//! - the sender packs messages into batches (one stored message holds up to
//!   [`EdgeOptions::batch`] graph messages, one JSON text per line, and the index of its
//!   first in the [`FIRST_HEADER`]): a stored message per graph message would cap an edge
//!   near the server's per-message rate, while a batch amortises the acknowledgement. Its id
//!   (`Nats-Msg-Id`: run, connection, first index, count) lets the server drop a batch published
//!   twice with the same messages;
//! - a sender resumed from a checkpoint sends again from the index it had reached, and the
//!   receiver skips every message whose index it has already taken. The graph's actors are
//!   deterministic, so what is sent again is what was sent before;
//! - the receiver's checkpoint is the next index it expects and the stream sequence to read
//!   from ([`Position`]); a receiver resumed elsewhere reads from there, so a batch delivered
//!   twice is never applied twice.
//!
//! Bounds: at most [`EdgeOptions::window`] batches wait for the server's acknowledgement, and
//! a sender whose receiver is more than [`EdgeOptions::max_lag`] batches behind waits for it
//! (back-pressure reaches the producer: its bridge's channel fills, then the scheduler parks
//! the actor feeding it). The stream keeps a run's batches until the run ends (a receiver
//! resumed elsewhere may need them), bounded by [`EdgeOptions::max_bytes`] (a sender past it
//! fails with the server's reason); the submitter removes the stream when the run has ended.

use crate::{key_token, ClusterError};
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// How an edge batches and bounds what it holds.
#[derive(Debug, Clone, Copy)]
pub struct EdgeOptions {
    /// Graph messages per stored batch (at most).
    pub batch: usize,
    /// Batches published but not yet acknowledged by the server.
    pub window: usize,
    /// Batches stored but not yet taken by the receiver, past which the sender waits.
    pub max_lag: u64,
    /// The graph's stream's size limit in bytes.
    pub max_bytes: i64,
}

impl Default for EdgeOptions {
    fn default() -> Self {
        EdgeOptions { batch: 100, window: 64, max_lag: 256, max_bytes: 1 << 30 }
    }
}

/// The index of a batch's first message.
pub const FIRST_HEADER: &str = "Reflow-First";
/// Marks the last batch of a connection (no messages): its value is the connection's count.
pub const END_HEADER: &str = "Reflow-End";

/// What every graph's edge stream's name starts with; the rest is the graph's key token.
pub const STREAM_PREFIX: &str = "REFLOW_EDGES_";

pub fn stream_name(graph: &str) -> String {
    format!("{STREAM_PREFIX}{}", key_token(graph))
}

/// One connection of one run: what names its subject and its consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub graph: String,
    /// The run's id: letters and digits only (a NATS inbox token).
    pub run: String,
    /// The edge's number in the graph's edge order.
    pub number: usize,
}

impl Connection {
    pub fn subject(&self) -> String {
        format!("reflow.edge.{}.{}.{}", key_token(&self.graph), self.run, self.number)
    }

    pub fn consumer(&self) -> String {
        format!("{}-{}", self.run, self.number)
    }
}

/// The graph's edge stream, made when missing.
pub async fn ensure_stream(js: &jetstream::Context, graph: &str, options: EdgeOptions) -> Result<stream::Stream, ClusterError> {
    js.get_or_create_stream(stream::Config {
        name: stream_name(graph),
        subjects: vec![format!("reflow.edge.{}.>", key_token(graph))],
        // Kept until the run ends (a receiver resumed elsewhere reads again from its
        // checkpoint), or a day for a run that never ended.
        retention: stream::RetentionPolicy::Limits,
        max_age: Duration::from_secs(24 * 3600),
        storage: stream::StorageType::File,
        max_bytes: options.max_bytes,
        discard: stream::DiscardPolicy::New,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .map_err(|e| ClusterError::nats(&format!("create the edge stream of graph {graph:?}"), e))
}

/// Removes the graph's edge stream (a run that ended needs none of it).
pub async fn remove_stream(js: &jetstream::Context, graph: &str) -> Result<(), ClusterError> {
    match js.delete_stream(stream_name(graph)).await {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("not found") => Ok(()),
        Err(e) => Err(ClusterError::nats(&format!("remove the edge stream of graph {graph:?}"), e)),
    }
}

/// The sending end of one connection.
pub struct EdgeSender {
    js: jetstream::Context,
    stream: Option<stream::Stream>,
    connection: Connection,
    subject: String,
    options: EdgeOptions,
    /// The index of the next message handed to [`EdgeSender::send`].
    next: u64,
    pending: Vec<u8>,
    first_pending: u64,
    in_pending: usize,
    unacknowledged: VecDeque<jetstream::context::PublishAckFuture>,
    since_lag_check: u64,
}

impl EdgeSender {
    /// A sender whose next message has index `next` (0, or where a checkpoint left it).
    pub fn new(js: jetstream::Context, connection: Connection, next: u64, options: EdgeOptions) -> EdgeSender {
        EdgeSender {
            js,
            stream: None,
            subject: connection.subject(),
            connection,
            options,
            next,
            pending: Vec::new(),
            first_pending: next,
            in_pending: 0,
            unacknowledged: VecDeque::new(),
            since_lag_check: 0,
        }
    }

    /// The index of the next message.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// Queues one message (its JSON text, which must hold no newline: compact JSON never
    /// does); publishes a batch when one is full.
    pub async fn send(&mut self, json: &[u8]) -> Result<(), ClusterError> {
        if self.in_pending == 0 {
            self.first_pending = self.next;
        }
        self.pending.extend_from_slice(json);
        self.pending.push(b'\n');
        self.in_pending += 1;
        self.next += 1;
        if self.in_pending >= self.options.batch {
            self.publish().await?;
        }
        Ok(())
    }

    /// Publishes what is queued (a batch that is not full), without waiting.
    pub async fn publish_pending(&mut self) -> Result<(), ClusterError> {
        if self.in_pending > 0 {
            self.publish().await?;
        }
        Ok(())
    }

    /// Publishes what is queued and waits until the server has stored every batch: after it,
    /// every message sent so far survives this worker.
    pub async fn flush(&mut self) -> Result<(), ClusterError> {
        if self.in_pending > 0 {
            self.publish().await?;
        }
        while let Some(ack) = self.unacknowledged.pop_front() {
            self.acknowledged(ack).await?;
        }
        Ok(())
    }

    /// Publishes what is queued, then the end of the connection, and waits until the server
    /// has stored all of it.
    pub async fn finish(&mut self) -> Result<(), ClusterError> {
        if self.in_pending > 0 {
            self.publish().await?;
        }
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(END_HEADER, self.next.to_string().as_str());
        let id = format!("{}.{}.end.{}", self.connection.run, self.connection.number, self.next);
        let publish = jetstream::message::PublishMessage::build().headers(headers).message_id(id);
        let ack = self.js.send_publish(self.subject.clone(), publish).await.map_err(|e| self.failed(e))?;
        self.unacknowledged.push_back(ack);
        self.flush().await
    }

    async fn publish(&mut self) -> Result<(), ClusterError> {
        if self.stream.is_none() {
            // The receiver's worker may not have made it yet.
            self.stream = Some(ensure_stream(&self.js, &self.connection.graph, self.options).await?);
        }
        self.wait_for_receiver().await?;
        let payload = Bytes::from(std::mem::take(&mut self.pending));
        let count = std::mem::take(&mut self.in_pending);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(FIRST_HEADER, self.first_pending.to_string().as_str());
        let id = format!("{}.{}.{}.{count}", self.connection.run, self.connection.number, self.first_pending);
        let publish = jetstream::message::PublishMessage::build().payload(payload).headers(headers).message_id(id);
        let ack = self.js.send_publish(self.subject.clone(), publish).await.map_err(|e| self.failed(e))?;
        self.unacknowledged.push_back(ack);
        while self.unacknowledged.len() > self.options.window {
            let oldest = self.unacknowledged.pop_front().expect("the window is not empty");
            self.acknowledged(oldest).await?;
        }
        Ok(())
    }

    /// Waits while the receiver is more than `max_lag` batches behind (checked every
    /// `max_lag / 4` batches, so the check costs one request per many batches).
    async fn wait_for_receiver(&mut self) -> Result<(), ClusterError> {
        self.since_lag_check += 1;
        if self.since_lag_check < (self.options.max_lag / 4).max(1) {
            return Ok(());
        }
        self.since_lag_check = 0;
        let mut wait = Duration::from_millis(1);
        loop {
            let lag = self.lag().await?;
            if lag <= self.options.max_lag {
                return Ok(());
            }
            // The receiver is behind (or not started yet, or being taken over): wait for it,
            // a little longer each time, up to a tenth of a second between looks.
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(100));
        }
    }

    /// Batches stored on this connection that its receiver has not taken yet.
    async fn lag(&mut self) -> Result<u64, ClusterError> {
        if self.stream.is_none() {
            self.stream = Some(ensure_stream(&self.js, &self.connection.graph, self.options).await?);
        }
        let stream = self.stream.as_ref().expect("opened above");
        match stream.get_consumer::<consumer::pull::Config>(&self.connection.consumer()).await {
            Ok(mut consumer) => {
                let info = consumer.info().await.map_err(|e| self.failed(e))?;
                Ok(info.num_pending + info.num_ack_pending as u64)
            }
            // No receiver yet: everything stored on the subject is behind.
            Err(_) => {
                let mut subjects = stream.info_with_subjects(&self.subject).await.map_err(|e| self.failed(e))?;
                let mut stored = 0;
                while let Some((_, count)) = futures_util::TryStreamExt::try_next(&mut subjects).await.map_err(|e| self.failed(e))? {
                    stored += count as u64;
                }
                Ok(stored)
            }
        }
    }

    async fn acknowledged(&self, ack: jetstream::context::PublishAckFuture) -> Result<(), ClusterError> {
        ack.await.map(|_| ()).map_err(|e| ClusterError::nats(&format!("store a batch of {}", self.subject), e))
    }

    fn failed(&self, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::nats(&format!("publish on {}", self.subject), e)
    }
}

/// Where a receiver is: the index of the next message it takes, and the stream sequence to
/// read from to find it (what its checkpoint holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Position {
    pub next: u64,
    /// 0: from the stream's start.
    pub sequence: u64,
}

/// One batch as received.
pub struct Batch {
    /// Its stream sequence.
    pub sequence: u64,
    /// The index of its first message.
    pub first: u64,
    /// `Some(count)` for the end of the connection.
    pub end: Option<u64>,
    message: jetstream::Message,
}

impl Batch {
    /// The messages' JSON texts, in the order they were sent.
    pub fn messages(&self) -> impl Iterator<Item = &[u8]> {
        self.message.payload.split(|b| *b == b'\n').filter(|line| !line.is_empty())
    }

    /// Tells the server this batch was taken (it stays in the stream until the run ends or a
    /// checkpoint no longer needs it).
    pub async fn ack(self) -> Result<(), ClusterError> {
        self.message.ack().await.map_err(|e| ClusterError::nats("acknowledge a batch", e))
    }
}

/// The receiving end of one connection: a durable consumer named after it, one batch in
/// flight at a time (so batches arrive in stream order even after a redelivery).
pub struct EdgeReceiver {
    messages: consumer::pull::Stream,
    subject: String,
}

impl EdgeReceiver {
    /// Reads `connection` from `from.sequence` on (from the start for 0). A consumer left by
    /// an earlier holder of the receiving actor is replaced: where to read from is the
    /// checkpoint's to say, not the consumer's.
    pub async fn open(js: &jetstream::Context, connection: &Connection, from: Position, options: EdgeOptions) -> Result<EdgeReceiver, ClusterError> {
        let stream = ensure_stream(js, &connection.graph, options).await?;
        let subject = connection.subject();
        let name = connection.consumer();
        let _ = stream.delete_consumer(&name).await;
        let deliver_policy = match from.sequence {
            0 => consumer::DeliverPolicy::All,
            start_sequence => consumer::DeliverPolicy::ByStartSequence { start_sequence },
        };
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: subject.clone(),
                deliver_policy,
                ack_policy: consumer::AckPolicy::Explicit,
                max_ack_pending: 1,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::nats(&format!("create the consumer of {subject}"), e))?;
        let messages = consumer.messages().await.map_err(|e| ClusterError::nats(&format!("consume {subject}"), e))?;
        Ok(EdgeReceiver { messages, subject })
    }

    /// The next batch, waiting for one.
    pub async fn next(&mut self) -> Result<Batch, ClusterError> {
        let message = match self.messages.next().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => return Err(ClusterError::nats(&format!("consume {}", self.subject), e)),
            None => return Err(ClusterError::nats(&format!("consume {}", self.subject), "the consumer ended")),
        };
        let sequence = message.info().map_err(|e| ClusterError::nats("read a batch's sequence", e))?.stream_sequence;
        let header = |name: &str| -> Option<u64> { message.headers.as_ref()?.get(name)?.as_str().parse().ok() };
        let (first, end) = match (header(FIRST_HEADER), header(END_HEADER)) {
            (_, Some(count)) => (count, Some(count)),
            (Some(first), None) => (first, None),
            (None, None) => return Err(ClusterError::nats(&format!("consume {}", self.subject), format!("stored message {sequence} is not a batch of ours"))),
        };
        Ok(Batch { sequence, first, end, message })
    }
}
