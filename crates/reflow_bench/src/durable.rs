//! What durability costs: runs with a state store (checkpoints every second, the default)
//! against the same runs with none (`--ephemeral`), and how long a large graph takes to come
//! back from its last checkpoint against starting it afresh.

use crate::cases::{chain_graph as chain, emit, Quiet, Row};
use crate::measure::median_of;
use reflow_network::loader::json::parse_json;
use reflow_network::{ActorFailure, Halt, Network, Observer, RunOptions, StateBinding};
use reflow_script::{Limits, Message};
use reflow_state::{DbStore, StateStore, StoreOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A fresh state directory for one measurement (removed by the caller's next one).
fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reflow-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn network(dir: &Path, name: &str, graph: &Value) -> Result<Network, String> {
    let file = dir.join(format!("bench-{name}.json"));
    let graph = parse_json(graph.to_string().as_bytes(), &file).map_err(|e| e.to_string())?;
    Network::from_graph(&file, graph, Limits::default()).map_err(|e| e.to_string())
}

fn durable(network: Network, store: &Path) -> Result<Network, String> {
    let store: Arc<dyn StateStore> = Arc::new(DbStore::open_or_create(store, StoreOptions::default()).map_err(|e| e.to_string())?);
    Ok(network.with_state(StateBinding { store, graph_id: "bench".into() }))
}

/// Messages per second of one run of `graph` (`packets` reach `sink`), with a store or none.
fn throughput(dir: &Path, name: &str, graph: &Value, packets: u64, with_store: Option<std::time::Duration>) -> Result<f64, String> {
    let mut network = network(dir, name, graph)?;
    let store = state_dir(name);
    if let Some(interval) = with_store {
        network = durable(network, &store)?.with_checkpoint_interval(interval);
    }
    let start = Instant::now();
    let report = network.run(&RunOptions::default(), Arc::new(Quiet)).map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&store);
    if let Some(reason) = report.checkpoint_failed {
        return Err(reason);
    }
    let delivered = report.actors.iter().find(|a| a.name == "sink").map_or(0, |a| a.received);
    if delivered != packets {
        return Err(format!("{name}: delivered {delivered} of {packets} messages"));
    }
    Ok(packets as f64 / seconds)
}

fn compare(dir: &Path, case: &str, graph: &Value, packets: u64, interval: std::time::Duration, target: &str, factor: f64) -> Result<(), String> {
    let name = case.split(',').next().unwrap_or(case).replace(' ', "-");
    let ephemeral = median_of(3, || throughput(dir, &name, graph, packets, None).unwrap_or(f64::NAN));
    let stored = median_of(3, || throughput(dir, &name, graph, packets, Some(interval)).unwrap_or(f64::NAN));
    emit(Row { case, unit: "msg/s", ours: stored, baseline: "same, --ephemeral", base: ephemeral, target, met: stored >= ephemeral * factor });
    Ok(())
}

/// Raises `halt` at the `after`-th exported message.
struct HaltAt {
    seen: AtomicU64,
    after: u64,
    halt: Halt,
}

impl Observer for HaltAt {
    fn exported(&self, _: &str, _: &Message) {
        if self.seen.fetch_add(1, Ordering::Relaxed) + 1 == self.after {
            self.halt.raise();
        }
    }
    fn failed(&self, failure: &ActorFailure) {
        eprintln!("bench: {failure}");
    }
}

/// Milliseconds from loading a 1,000-actor graph to its first activation: resumed from an
/// unfinished run's checkpoint (read the store, restore every actor and queued message)
/// against a fresh start of the same graph (no unfinished run).
fn recovery(dir: &Path) -> Result<(), String> {
    let mut graph = chain(&dir.join("echo.wasm").display().to_string(), "in", "out", 998, 1_000_000);
    graph["outports"] = json!({"last": {"process": "s997", "port": "out"}});
    let store = state_dir("recovery");
    // A run halted after messages reached the end of the chain: the chain is full of them.
    let halt = Halt::new();
    let observer = Arc::new(HaltAt { seen: AtomicU64::new(0), after: 2_000, halt: halt.clone() });
    let options = RunOptions { halt: Some(halt), ..RunOptions::default() };
    let first = durable(network(dir, "recovery", &graph)?, &store)?.with_checkpoint_interval(std::time::Duration::from_millis(50));
    first.run(&options, observer).map_err(|e| e.to_string())?;
    drop(first);
    let prepare = |resumed: bool| -> Result<f64, String> {
        let start = Instant::now();
        let mut network = network(dir, "recovery", &graph)?;
        if resumed {
            network = durable(network, &store)?;
        }
        let prepared = network.prepare().map_err(|e| e.to_string())?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if prepared.resumed.is_some() != resumed {
            return Err("the halted run left no checkpoint to resume".into());
        }
        Ok(ms)
    };
    let resumed = median_of(3, || prepare(true).unwrap_or(f64::NAN));
    let fresh = median_of(3, || prepare(false).unwrap_or(f64::NAN));
    let _ = std::fs::remove_dir_all(&store);
    emit(Row { case: "recovery of a 1,000-actor graph from its checkpoint", unit: "ms", ours: resumed, baseline: "fresh start of the same graph", base: fresh, target: "(report)", met: true });
    Ok(())
}

pub fn run(dir: &Path) -> Result<(), String> {
    let counter = dir.join("counter.wasm").display().to_string();
    let counter_graph = chain(&counter, "increment", "count", 1, 20_000);
    let default = reflow_network::scheduler::DEFAULT_CHECKPOINT_INTERVAL;
    compare(dir, "counter pipeline, durable (default)", &counter_graph, 20_000, default, ">= 50% of ephemeral", 0.5)?;
    // Long enough for many checkpoints during the run: what each one costs while it goes.
    let many = chain(&counter, "increment", "count", 1, 200_000);
    let often = std::time::Duration::from_millis(10);
    compare(dir, "counter pipeline, durable, checkpoints every 10 ms", &many, 200_000, often, ">= 50% of ephemeral", 0.5)?;
    let echo = dir.join("echo.wasm").display().to_string();
    compare(dir, "10-stage WASM pipeline, durable (default)", &chain(&echo, "in", "out", 10, 20_000), 20_000, default, ">= 50% of ephemeral", 0.5)?;
    recovery(dir)
}
