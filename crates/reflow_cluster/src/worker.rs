//! A worker's life and a graph's run on the cluster.
//!
//! `reflow run GRAPH --nats URL` ([`submit`]) places the graph on the live workers and puts
//! the [`Submission`] in the `reflow_graphs` bucket. The processes placed on one worker are a
//! *part*, named after that worker. Every worker ([`Worker::serve`]) watches the bucket and,
//! for each part of a submission:
//!
//! - runs its own part: takes the leases of its processes, builds the part
//!   (`Network::prepare_part`: its processes, the edges between them in-process, an
//!   [`Egress`] or [`Ingress`] per edge that crosses to another part), runs it on the
//!   scheduler with its state and checkpoints in the shared `NatsStore`, renewing its leases,
//!   and puts its [`Outcome`] in `reflow_results`;
//! - for another worker's part, waits: if that worker leaves the cluster (killed, cut off)
//!   before the part's outcome is in, it takes the part's leases as they lapse and runs the
//!   part itself, resumed from the part's last checkpoint (`crate::store`).
//!
//! The submitter waits for every part's outcome; a failure cancels the run on the others, so
//! nothing waits for a part that will never come. A worker that loses a lease stops its part
//! at once, as if killed (fenced: it never writes for that part again).

use crate::bridge::{EdgeLink, Egress, Ingress};
use crate::edge::{self, Connection, EdgeOptions};
use crate::lease::{Lease, Leases};
use crate::members::{self, Member};
use crate::placement::{self, Wanted};
use crate::store::{part_id, Fence, PartStore};
use crate::{bucket, key_token, ClusterError};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::StreamExt;
use reflow_network::{ActorFailure, Bridge, Halt, Network, Observer, RunOptions, StateBinding};
use reflow_script::{Limits, Message};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const GRAPHS: &str = "reflow_graphs";
pub const RESULTS: &str = "reflow_results";
/// The bucket of actor state every worker shares (`reflow_state::NatsStore`).
pub const STATE: &str = "reflow_state";

/// How long a worker or a lease lives without renewal.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6);

/// A graph placed on the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The graph's id (`reflow_network::graph_id`), the key of its state and edges.
    pub graph: String,
    /// The graph file, as an absolute path every worker can read (docs/cluster.md).
    pub file: PathBuf,
    /// Process to part (the worker it was placed on).
    pub placement: BTreeMap<String, String>,
    /// Tells runs of the same graph apart (letters and digits).
    pub run: String,
}

impl Submission {
    /// The parts, by name.
    pub fn parts(&self) -> BTreeSet<String> {
        self.placement.values().cloned().collect()
    }

    /// The processes of `part`, in name order (the order their leases are taken in).
    pub fn processes_of(&self, part: &str) -> Vec<String> {
        self.placement.iter().filter(|(_, p)| *p == part).map(|(process, _)| process.clone()).collect()
    }
}

/// What a part said when it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub part: String,
    /// The worker that ran it to its end (the part's own, or one that took it over).
    pub worker: String,
    pub error: Option<String>,
}

/// How a worker runs parts (tests shorten the checkpoint interval).
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// The life of a worker's key and of its leases without renewal.
    pub ttl: Duration,
    pub checkpoint_interval: Duration,
    pub edges: EdgeOptions,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions { ttl: DEFAULT_TTL, checkpoint_interval: reflow_network::scheduler::DEFAULT_CHECKPOINT_INTERVAL, edges: EdgeOptions::default() }
    }
}

/// Places `file` on the live workers and computes its submission.
pub fn plan(file: &Path, live: &[String], run: &str) -> Result<Submission, ClusterError> {
    let file = file.canonicalize().map_err(|e| ClusterError::Graph { file: file.to_path_buf(), reason: e.to_string() })?;
    let graph = reflow_network::load_graph(&file).map_err(|e| ClusterError::Graph { file: file.clone(), reason: e.to_string() })?;
    let pins: Vec<(String, Option<String>)> = graph
        .processes()
        .map(|p| (p.name().to_string(), p.metadata.get("worker").and_then(|w| w.as_str()).map(str::to_string)))
        .collect();
    let wanted: Vec<Wanted<'_>> = pins.iter().map(|(p, w)| Wanted { process: p, pinned: w.as_deref() }).collect();
    let placement = placement::place(&wanted, live)?;
    let edges: Vec<(String, String)> = graph.edges().map(|e| (e.src.process.clone(), e.tgt.process.clone())).collect();
    if let Some((a, b)) = placement::worker_cycle(&placement, &edges) {
        return Err(ClusterError::Graph {
            file,
            reason: format!("this placement makes workers {a:?} and {b:?} feed each other, which a cluster run cannot end; pin processes (metadata.worker) so that edges between workers go one way"),
        });
    }
    Ok(Submission { graph: reflow_network::graph_id(&file), file, placement, run: run.to_string() })
}

#[derive(Clone)]
struct Buckets {
    graphs: kv::Store,
    results: kv::Store,
}

async fn buckets(js: &jetstream::Context) -> Result<Buckets, ClusterError> {
    let (graphs, _) = bucket::open(js, GRAPHS, "Reflow graphs submitted to the cluster", Duration::ZERO).await?;
    let (results, _) = bucket::open(js, RESULTS, "Reflow run outcomes, per part", Duration::ZERO).await?;
    Ok(Buckets { graphs, results })
}

fn result_key(run: &str, part: &str) -> String {
    format!("r{run}.p{}", key_token(part))
}

fn cancel_key(run: &str) -> String {
    format!("r{run}.cancel")
}

/// Submits `file` to the cluster and waits until every part has ended. A part whose worker
/// dies is taken over by another; the run fails when a part fails, or when no worker is left.
pub async fn submit(client: &async_nats::Client, file: &Path) -> Result<Submission, ClusterError> {
    let live = members::live_same_version(client).await?;
    let run: String = client.new_inbox().chars().filter(char::is_ascii_alphanumeric).collect();
    let submission = plan(file, &live, &run)?;
    let js = jetstream::new(client.clone());
    let buckets = buckets(&js).await?;
    let mut results = buckets
        .results
        .watch(format!("r{run}.>"))
        .await
        .map_err(|e| ClusterError::nats("watch the run's outcomes", e))?;
    let value = Bytes::from(serde_json::to_vec(&submission).expect("a submission serialises"));
    buckets.graphs.put(key_token(&submission.graph), value).await.map_err(|e| ClusterError::nats("submit the graph", e))?;
    let mut waiting = submission.parts();
    let outcome = loop {
        if waiting.is_empty() {
            break Ok(());
        }
        let entry = tokio::select! {
            entry = results.next() => entry,
            gone = no_worker_left(client) => {
                gone?;
                break Err(ClusterError::Run { worker: "(none)".into(), reason: "every worker left the cluster before the run ended".into() });
            }
        };
        let entry = match entry {
            Some(Ok(entry)) => entry,
            Some(Err(e)) => break Err(ClusterError::nats("watch the run's outcomes", e)),
            None => break Err(ClusterError::nats("watch the run's outcomes", "the watch ended")),
        };
        let Ok(outcome) = serde_json::from_slice::<Outcome>(&entry.value) else { continue };
        if let Some(reason) = outcome.error {
            let _ = buckets.results.put(cancel_key(&run), Bytes::from_static(b"1")).await;
            break Err(ClusterError::Run { worker: outcome.worker, reason });
        }
        waiting.remove(&outcome.part);
    };
    // The run is over either way: no worker starts a part of it any more.
    let _ = buckets.graphs.delete(key_token(&submission.graph)).await;
    outcome?;
    edge::remove_stream(&js, &submission.graph).await?;
    Ok(submission)
}

/// Resolves once no worker is live, looking at each heartbeat's pace (a second).
async fn no_worker_left(client: &async_nats::Client) -> Result<(), ClusterError> {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if members::live(client).await?.is_empty() {
            return Ok(());
        }
    }
}

/// A worker that joined the cluster and watches for submissions (from the moment it joined:
/// a graph submitted once [`Worker::join`] returned is never missed).
pub struct Worker {
    client: async_nats::Client,
    member: Member,
    leases: Leases,
    buckets: Buckets,
    submissions: kv::Watch,
    options: WorkerOptions,
}

impl Worker {
    pub async fn join(client: async_nats::Client, name: &str, options: WorkerOptions) -> Result<Worker, ClusterError> {
        let member = Member::join(&client, name, options.ttl).await?;
        let leases = Leases::open(&client, name, options.ttl).await?;
        let js = jetstream::new(client.clone());
        let buckets = buckets(&js).await?;
        let submissions = buckets.graphs.watch_all().await.map_err(|e| ClusterError::nats("watch submissions", e))?;
        tracing::info!(worker = name, "joined the cluster");
        Ok(Worker { client, member, leases, buckets, submissions, options })
    }

    pub fn name(&self) -> &str {
        &self.member.info().name
    }

    /// Renews the membership and runs (or stands by for) every part of every submitted
    /// graph, until `stop` resolves or the worker is dropped from the cluster; then leaves.
    pub async fn serve(mut self, stop: impl std::future::Future<Output = ()>) -> Result<(), ClusterError> {
        let name = self.member.info().name.clone();
        let mut heartbeat = tokio::time::interval(self.member.heartbeat_every());
        let mut started: HashSet<(String, String)> = HashSet::new();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = heartbeat.tick() => self.member.heartbeat().await?,
                entry = self.submissions.next() => {
                    let entry = match entry {
                        Some(Ok(entry)) if entry.operation == kv::Operation::Put => entry,
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(ClusterError::nats("watch submissions", e)),
                        None => return Err(ClusterError::nats("watch submissions", "the watch ended")),
                    };
                    let Ok(submission) = serde_json::from_slice::<Submission>(&entry.value) else { continue };
                    for part in submission.parts() {
                        if !started.insert((submission.run.clone(), part.clone())) {
                            continue;
                        }
                        let runner = Part {
                            client: self.client.clone(),
                            leases: self.leases.clone(),
                            results: self.buckets.results.clone(),
                            worker: name.clone(),
                            options: self.options,
                            submission: submission.clone(),
                            part,
                        };
                        tokio::spawn(runner.attempt());
                    }
                }
            }
        }
        self.member.leave().await
    }
}

/// One part of one run, as one worker sees it.
struct Part {
    client: async_nats::Client,
    leases: Leases,
    results: kv::Store,
    worker: String,
    options: WorkerOptions,
    submission: Submission,
    part: String,
}

/// Why a part did not run to its end here.
enum Stopped {
    /// Another worker runs it, or it is done: nothing to report.
    NotHere,
    /// It failed: the run fails.
    Failed(String),
}

impl Part {
    async fn attempt(self) {
        let processes = self.submission.processes_of(&self.part);
        let mine = self.part == self.worker;
        match self.orphaned(mine).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => return self.report(Some(e)).await,
        }
        let mut held = Vec::new();
        let result = match self.take_leases(&processes, mine, &mut held).await {
            Ok(()) => self.run_held(&mut held).await,
            Err(e) => Err(e),
        };
        // Reported before the leases are given up, so a worker waiting for them finds the
        // part ended rather than running it again.
        match result {
            Ok(()) => self.report(None).await,
            Err(Stopped::NotHere) => {}
            Err(Stopped::Failed(reason)) => {
                tracing::warn!(worker = %self.worker, "graph {:?}, part {:?} failed: {reason}", self.submission.graph, self.part);
                self.report(Some(reason)).await;
            }
        }
        for lease in held {
            let _ = self.leases.release(lease).await;
        }
    }

    async fn report(&self, error: Option<String>) {
        let outcome = Outcome { part: self.part.clone(), worker: self.worker.clone(), error };
        let value = Bytes::from(serde_json::to_vec(&outcome).expect("an outcome serialises"));
        if let Err(e) = self.results.put(result_key(&self.submission.run, &self.part), value).await {
            tracing::warn!(worker = %self.worker, "cannot report the outcome of part {:?}: {e}", self.part);
        }
    }

    async fn reported(&self) -> Result<bool, String> {
        let entry = self.results.entry(result_key(&self.submission.run, &self.part)).await.map_err(|e| e.to_string())?;
        Ok(entry.is_some_and(|e| e.operation == kv::Operation::Put))
    }

    /// Whether to run the part here: at once for the part's own worker (unless it has
    /// ended); for another, once the part's own worker has left the cluster (true) or never,
    /// if the part ends first (false). Looks at the pace of the workers' heartbeats.
    async fn orphaned(&self, mine: bool) -> Result<bool, String> {
        let mut tick = tokio::time::interval(self.leases.renew_every());
        loop {
            tick.tick().await;
            if self.reported().await? || self.cancelled().await? {
                return Ok(false);
            }
            if mine {
                return Ok(true);
            }
            if !members::is_live(&self.client, &self.part).await.map_err(|e| e.to_string())? {
                tracing::info!(worker = %self.worker, "worker {:?} left the cluster: taking over its part of graph {:?}", self.part, self.submission.graph);
                return Ok(true);
            }
        }
    }

    async fn cancelled(&self) -> Result<bool, String> {
        let entry = self.results.entry(cancel_key(&self.submission.run)).await.map_err(|e| e.to_string())?;
        Ok(entry.is_some_and(|e| e.operation == kv::Operation::Put))
    }

    /// Takes the lease of every process of the part, in order, renewing those already held.
    /// The part's own worker takes them at once (none held by another: someone took its part
    /// over); another worker waits for each to lapse.
    async fn take_leases(&self, processes: &[String], mine: bool, held: &mut Vec<Lease>) -> Result<(), Stopped> {
        let graph = &self.submission.graph;
        let mut renew = tokio::time::interval(self.leases.renew_every());
        renew.tick().await;
        for process in processes {
            if mine {
                match self.leases.acquire(graph, process).await.map_err(|e| Stopped::Failed(e.to_string()))? {
                    Some(lease) => held.push(lease),
                    None => return Err(Stopped::NotHere),
                }
                continue;
            }
            loop {
                tokio::select! {
                    lease = self.leases.take_over(graph, process) => {
                        held.push(lease.map_err(|e| Stopped::Failed(e.to_string()))?);
                        break;
                    }
                    _ = renew.tick() => self.renew(held).await.map_err(|_| Stopped::NotHere)?,
                }
            }
            // Whoever held it before may have ended the part meanwhile.
            if self.reported().await.map_err(Stopped::Failed)? || self.cancelled().await.map_err(Stopped::Failed)? {
                return Err(Stopped::NotHere);
            }
        }
        self.renew(held).await.map_err(|_| Stopped::NotHere)
    }

    /// Renews every lease in `held`; an error when one is lost (the part must stop here).
    async fn renew(&self, held: &mut [Lease]) -> Result<(), String> {
        for lease in held.iter_mut() {
            if let Err(e) = self.leases.renew(lease).await {
                if matches!(e, ClusterError::Fenced { .. }) || !lease.is_valid() {
                    return Err(e.to_string());
                }
                tracing::warn!(worker = %self.worker, "{e} (retrying)");
            }
        }
        Ok(())
    }

    /// Runs the part while every lease in `held` is renewed.
    async fn run_held(&self, held: &mut [Lease]) -> Result<(), Stopped> {
        let id = part_id(&self.submission.graph, &self.part);
        let fence = Fence::until(earliest(held));
        let (store, done) = self.open_store(fence.clone(), &id).await?;
        if done {
            // Its holder wrote the last checkpoint and died before reporting.
            return Ok(());
        }
        let abandoned = Arc::new(AtomicBool::new(false));
        let link = EdgeLink {
            runtime: tokio::runtime::Handle::current(),
            js: jetstream::new(self.client.clone()),
            connection: Connection { graph: self.submission.graph.clone(), run: self.submission.run.clone(), number: 0 },
            options: self.options.edges,
            abandoned: abandoned.clone(),
        };
        let halt = Halt::new();
        let run_options = RunOptions { halt: Some(halt.clone()), ..RunOptions::default() };
        let observer = Arc::new(Failures::default());
        let observed = observer.clone();
        let (submission, part, interval) = (self.submission.clone(), self.part.clone(), self.options.checkpoint_interval);
        let binding = StateBinding { store: Arc::new(store), graph_id: id };
        let mut run = tokio::task::spawn_blocking(move || -> Result<reflow_network::RunReport, String> {
            let network = Network::load(&submission.file, Limits::default()).map_err(|e| format!("{e:#}"))?;
            let network = network.with_state(binding).with_checkpoint_interval(interval);
            let keep = |process: &str| submission.placement.get(process) == Some(&part);
            let mut bridge = |crossing: &reflow_network::CrossingEdge| {
                let link = EdgeLink { connection: Connection { number: crossing.connection, ..link.connection.clone() }, ..link.clone() };
                if crossing.leaves {
                    let name = format!("reflow.cluster.out.{}", crossing.connection);
                    Bridge { component: Box::new(Egress::new(link, &name)), name }
                } else {
                    let name = format!("reflow.cluster.in.{}", crossing.connection);
                    Bridge { component: Box::new(Ingress::new(link, &name)), name }
                }
            };
            let prepared = network.prepare_part(&keep, &mut bridge).map_err(|e| format!("{}", reflow_network::error::chain(&e)))?;
            if let Some(resumed) = &prepared.resumed {
                tracing::info!("resuming part {part:?} from its checkpoint of {:.1} s ago", resumed.age().as_secs_f64());
            }
            Ok(network.run_prepared(prepared, &run_options, observed))
        });
        let mut renew = tokio::time::interval(self.leases.renew_every());
        renew.tick().await;
        let mut cancelled = self.results.watch(cancel_key(&self.submission.run)).await.map_err(|e| Stopped::Failed(e.to_string()))?;
        let stop_run = || {
            abandoned.store(true, Ordering::SeqCst);
            halt.raise();
        };
        let mut stopped = None;
        let report = loop {
            tokio::select! {
                report = &mut run => break report.map_err(|e| Stopped::Failed(e.to_string()))?.map_err(Stopped::Failed)?,
                _ = renew.tick(), if stopped.is_none() => {
                    match self.renew(held).await {
                        Ok(()) => fence.extend_to(earliest(held)),
                        Err(reason) => {
                            tracing::warn!(worker = %self.worker, "stopping part {:?}: {reason}", self.part);
                            fence.close();
                            stop_run();
                            stopped = Some(Stopped::NotHere);
                        }
                    }
                    if !fence.is_open() && stopped.is_none() {
                        // A renewal that failed for long enough: the lease is no longer ours.
                        tracing::warn!(worker = %self.worker, "stopping part {:?}: its leases lapsed", self.part);
                        stop_run();
                        stopped = Some(Stopped::NotHere);
                    }
                }
                Some(_) = cancelled.next(), if stopped.is_none() => {
                    fence.close();
                    stop_run();
                    stopped = Some(Stopped::NotHere);
                }
            }
        };
        if let Some(stopped) = stopped {
            return Err(stopped);
        }
        if !fence.is_open() {
            // Its leases lapsed before the renewal loop noticed (a checkpoint was refused by
            // the fence): another worker runs the part, this one says nothing.
            return Err(Stopped::NotHere);
        }
        if let Some(reason) = report.graph_failed.clone().or(report.checkpoint_failed.clone()) {
            return Err(Stopped::Failed(reason));
        }
        let failures = observer.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match failures.first() {
            Some(first) => Err(Stopped::Failed(format!("{} failed call(s), the first: {first}", failures.len()))),
            None => Ok(()),
        }
    }

    /// The part's store, and whether the part is done (its last checkpoint was written).
    async fn open_store(&self, fence: Fence, part: &str) -> Result<(PartStore, bool), Stopped> {
        let (client, run, part) = (self.client.clone(), self.submission.run.clone(), part.to_string());
        let handle = tokio::runtime::Handle::current();
        // The store's calls block on the runtime: off its threads.
        tokio::task::spawn_blocking(move || {
            let store = reflow_state::NatsStore::open(handle, client, STATE, Default::default()).map_err(|e| e.to_string())?;
            let store = PartStore::new(Arc::new(store), &run, fence);
            let done = store.is_done(&part).map_err(|e| e.to_string())?;
            Ok((store, done))
        })
        .await
        .map_err(|e| Stopped::Failed(e.to_string()))?
        .map_err(Stopped::Failed)
    }
}

/// When the first of `held` stops being valid.
fn earliest(held: &[Lease]) -> std::time::Instant {
    held.iter().map(Lease::valid_until).min().unwrap_or_else(std::time::Instant::now)
}

/// Keeps the failures of a worker's part (what reaches graph outports stays on the worker).
#[derive(Default)]
struct Failures(Mutex<Vec<ActorFailure>>);

impl Observer for Failures {
    fn exported(&self, _port: &str, _message: &Message) {}
    fn failed(&self, failure: &ActorFailure) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(failure.clone());
    }
}
