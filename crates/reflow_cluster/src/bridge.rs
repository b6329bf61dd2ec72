//! The two ends of an edge between workers as [`Component`]s, given to
//! `Network::prepare_part` as bridges: an [`Egress`] stands for the remote target on the
//! sending worker, an [`Ingress`] for the remote source on the receiving one. To the scheduler
//! they are actors like any other, so they are checkpointed in the same consistent cut as the
//! actors beside them, which is what makes a part resumed on another worker exact:
//!
//! - an [`Egress`]'s checkpoint first makes every message it was handed durable in the stream
//!   (it waits for the server's acknowledgements, during the checkpoint's pause), then records
//!   the index of the next message; resumed, it sends again from there (`crate::edge`);
//! - an [`Ingress`]'s checkpoint is its [`Position`]: the next index it takes, and the stream
//!   sequence to read from; resumed, it reads from there and skips what it already took.
//!
//! Each hands messages to a task on the worker's tokio runtime through a bounded channel: the
//! runtime waits on NATS, the scheduler's threads do not, except when the channel is full (the
//! edge is behind), which is the back-pressure reaching the producer.

use crate::edge::{Connection, EdgeOptions, EdgeReceiver, EdgeSender, Position};
use async_nats::jetstream;
use reflow_abi::{Message, PluginMetadata, PortDefinition};
use reflow_network::{Component, ComponentError, Outputs, Payload, SourceStatus};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

/// The port names of the bridge components.
pub const IN: &str = "in";
pub const OUT: &str = "out";

/// Messages waiting between the scheduler and an egress's task.
const CHANNEL: usize = 4096;
/// Batches waiting between an ingress's task and the scheduler.
const BATCHES: usize = 16;

/// What a bridge needs to reach its edge.
#[derive(Clone)]
pub struct EdgeLink {
    pub runtime: Handle,
    pub js: jetstream::Context,
    pub connection: Connection,
    pub options: EdgeOptions,
    /// Set when this worker's part is being stopped (its lease was lost, the run cancelled):
    /// the run then ends as if killed, and an egress must not end its edge.
    pub abandoned: Arc<AtomicBool>,
}

enum Item {
    Message(Vec<u8>),
    Flush(oneshot::Sender<Result<(), String>>),
    End(oneshot::Sender<Result<(), String>>),
}

/// Sends what reaches its `in` port over one edge; its `finish` ends the edge.
pub struct Egress {
    metadata: PluginMetadata,
    link: EdgeLink,
    /// The index of the next message (where a checkpoint left it, before the first).
    next: u64,
    items: Option<mpsc::Sender<Item>>,
    /// `finish` ended the edge (everything is stored; the run's last checkpoint follows).
    ended: bool,
}

impl Egress {
    pub fn new(link: EdgeLink, name: &str) -> Egress {
        Egress { metadata: bridge_metadata(name, true), link, next: 0, items: None, ended: false }
    }

    /// The task publishing this edge, started at the first message (after any restore).
    fn items(&mut self) -> &mpsc::Sender<Item> {
        let (link, next) = (&self.link, self.next);
        self.items.get_or_insert_with(|| {
            let (items, received) = mpsc::channel::<Item>(CHANNEL);
            let sender = EdgeSender::new(link.js.clone(), link.connection.clone(), next, link.options);
            link.runtime.spawn(publish(sender, received));
            items
        })
    }

    fn ask(&mut self, item: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Item) -> Result<(), ComponentError> {
        let (done, result) = oneshot::channel();
        self.items().blocking_send(item(done)).map_err(|_| stopped())?;
        result.blocking_recv().map_err(|_| stopped())?.map_err(ComponentError::new)
    }
}

fn stopped() -> ComponentError {
    ComponentError::new("the edge's sender stopped")
}

/// Publishes what the scheduler hands over: whole batches as they fill, and what is there
/// whenever the channel runs dry (so a slow trickle is not held back waiting for a batch).
async fn publish(mut sender: EdgeSender, mut received: mpsc::Receiver<Item>) {
    let mut failed: Option<String> = None;
    while let Some(mut item) = received.recv().await {
        loop {
            match item {
                Item::Message(json) => {
                    if failed.is_none() {
                        if let Err(e) = sender.send(&json).await {
                            failed = Some(e.to_string());
                        }
                    }
                }
                Item::Flush(done) => {
                    let result = match &failed {
                        Some(e) => Err(e.clone()),
                        None => sender.flush().await.map_err(|e| e.to_string()),
                    };
                    let _ = done.send(result);
                }
                Item::End(done) => {
                    let result = match &failed {
                        Some(e) => Err(e.clone()),
                        None => sender.finish().await.map_err(|e| e.to_string()),
                    };
                    let _ = done.send(result);
                    return;
                }
            }
            match received.try_recv() {
                Ok(next) => item = next,
                Err(_) => break,
            }
        }
        if failed.is_none() {
            if let Err(e) = sender.publish_pending().await {
                failed = Some(e.to_string());
            }
        }
    }
}

impl Component for Egress {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    fn process(&mut self, payload: &mut Payload, _out: &Outputs) -> Result<(), ComponentError> {
        if let Some(message) = payload.remove(IN) {
            let json = serde_json::to_vec(&message.to_json()).map_err(|e| ComponentError::new(format!("a message does not serialise: {e}")))?;
            self.items().blocking_send(Item::Message(json)).map_err(|_| stopped())?;
            self.next += 1;
        }
        Ok(())
    }

    fn finish(&mut self, _out: &Outputs) -> Result<(), ComponentError> {
        if self.link.abandoned.load(Ordering::SeqCst) {
            // Stopped as if killed: whoever resumes this part ends the edge.
            return Ok(());
        }
        self.ask(Item::End)?;
        self.ended = true;
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<Option<Value>, ComponentError> {
        // Everything handed over so far must be in the stream before the cut counts it sent.
        if !self.ended {
            self.ask(Item::Flush)?;
        }
        Ok(Some(json!({"next": self.next})))
    }

    fn restore(&mut self, saved: Value) -> Result<(), ComponentError> {
        self.next = saved.get("next").and_then(Value::as_u64).ok_or_else(|| ComponentError::new(format!("not an edge sender's checkpoint: {saved}")))?;
        Ok(())
    }
}

enum Received {
    Batch { sequence: u64, first: u64, messages: Vec<Message> },
    End { sequence: u64, count: u64 },
    Failed(String),
}

/// Sends on its `out` port what arrives over one edge, until the edge ends.
pub struct Ingress {
    metadata: PluginMetadata,
    link: EdgeLink,
    position: Position,
    batches: Option<std::sync::mpsc::Receiver<Received>>,
    /// The batch being taken: its sequence, the index of its front message, the messages.
    current: Option<(u64, u64, VecDeque<Message>)>,
}

impl Ingress {
    pub fn new(link: EdgeLink, name: &str) -> Ingress {
        Ingress { metadata: bridge_metadata(name, false), link, position: Position::default(), batches: None, current: None }
    }

    fn batches(&mut self) -> &std::sync::mpsc::Receiver<Received> {
        let (link, from) = (&self.link, self.position);
        self.batches.get_or_insert_with(|| {
            let (send, batches) = std::sync::mpsc::sync_channel(BATCHES);
            link.runtime.spawn(receive(link.clone(), from, send));
            batches
        })
    }

    /// Takes up to `budget` messages of the current batch (skipping those already taken
    /// before a resume); `Done` at the end of the edge.
    fn take(&mut self, out: &Outputs, budget: usize) -> Result<Option<SourceStatus>, ComponentError> {
        let mut sent = 0;
        while sent < budget {
            let Some((sequence, front, messages)) = &mut self.current else { return Ok((sent > 0).then_some(SourceStatus::More)) };
            let Some(message) = messages.pop_front() else {
                self.position.sequence = *sequence + 1;
                self.current = None;
                continue;
            };
            let index = *front;
            *front += 1;
            self.position.sequence = *sequence;
            if index < self.position.next {
                continue;
            }
            if index > self.position.next {
                return Err(ComponentError::new(format!("edge {}: message {} arrived while {} was expected (the stream lost messages)", self.link.connection.subject(), index, self.position.next)));
            }
            out.send(OUT, message);
            self.position.next += 1;
            sent += 1;
        }
        Ok(Some(SourceStatus::More))
    }
}

async fn receive(link: EdgeLink, from: Position, send: std::sync::mpsc::SyncSender<Received>) {
    let fail = |send: &std::sync::mpsc::SyncSender<Received>, e: String| {
        let _ = send.send(Received::Failed(e));
    };
    let mut receiver = match EdgeReceiver::open(&link.js, &link.connection, from, link.options).await {
        Ok(receiver) => receiver,
        Err(e) => return fail(&send, e.to_string()),
    };
    loop {
        let batch = match receiver.next().await {
            Ok(batch) => batch,
            Err(e) => return fail(&send, e.to_string()),
        };
        let item = match batch.end {
            Some(count) => Received::End { sequence: batch.sequence, count },
            None => {
                let decoded: Result<Vec<Message>, String> = batch
                    .messages()
                    .map(|line| {
                        let value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
                        Message::from_json(value).map_err(|e| e.to_string())
                    })
                    .collect();
                match decoded {
                    Ok(messages) => Received::Batch { sequence: batch.sequence, first: batch.first, messages },
                    Err(e) => return fail(&send, format!("a message on {} does not decode: {e}", link.connection.subject())),
                }
            }
        };
        // A full channel waits here, not in the scheduler: the stream holds the rest.
        let sender = send.clone();
        if tokio::task::spawn_blocking(move || sender.send(item)).await.map_or(true, |r| r.is_err()) {
            return;
        }
        if let Err(e) = batch.ack().await {
            return fail(&send, e.to_string());
        }
    }
}

impl Component for Ingress {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    fn process(&mut self, _payload: &mut Payload, _out: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }

    fn poll_source(&mut self, out: &Outputs, budget: usize) -> Result<SourceStatus, ComponentError> {
        if let Some(status) = self.take(out, budget)? {
            return Ok(status);
        }
        // Waits a little for the next batch (an activation must return, so a quiet edge
        // gives its thread back), then says to poll again later.
        let received = match self.batches().recv_timeout(Duration::from_millis(10)) {
            Ok(received) => received,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return Ok(SourceStatus::Yield),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(ComponentError::new("the edge's receiver stopped")),
        };
        match received {
            Received::Failed(e) => Err(ComponentError::new(e)),
            Received::End { sequence, count } if count == self.position.next => {
                self.position.sequence = sequence;
                Ok(SourceStatus::Done)
            }
            Received::End { count, .. } => Err(ComponentError::new(format!(
                "edge {}: its sender ended after {count} messages, {} were taken",
                self.link.connection.subject(),
                self.position.next
            ))),
            Received::Batch { sequence, first, messages } => {
                self.current = Some((sequence, first, messages.into()));
                Ok(self.take(out, budget)?.unwrap_or(SourceStatus::More))
            }
        }
    }

    fn checkpoint(&mut self) -> Result<Option<Value>, ComponentError> {
        Ok(Some(serde_json::to_value(self.position).expect("a position serialises")))
    }

    fn restore(&mut self, saved: Value) -> Result<(), ComponentError> {
        self.position = serde_json::from_value(saved.clone()).map_err(|e| ComponentError::new(format!("not an edge receiver's checkpoint ({e}): {saved}")))?;
        Ok(())
    }
}

fn bridge_metadata(name: &str, egress: bool) -> PluginMetadata {
    let port = |n: &str| vec![PortDefinition::new(n, "a message crossing workers", "any", false)];
    PluginMetadata {
        component: name.to_string(),
        description: if egress { "sends to another worker" } else { "receives from another worker" }.to_string(),
        inports: if egress { port(IN) } else { Vec::new() },
        outports: if egress { Vec::new() } else { port(OUT) },
        config_schema: None,
    }
}
