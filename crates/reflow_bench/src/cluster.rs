//! What an edge between workers costs: messages per second over one connection whose ends
//! run in two parts (two `Network::prepare_part` runs, as two workers run them) joined by
//! `reflow_cluster`'s bridges over a real nats-server's JetStream (file storage, loopback),
//! against the same connection in-process, measured in the same run.

use crate::cases::{emit, Quiet, Row};
use crate::measure::median_of;
use reflow_cluster::bridge::{EdgeLink, Egress, Ingress};
use reflow_cluster::edge::{Connection, EdgeOptions};
use reflow_network::loader::json::parse_json;
use reflow_network::{Bridge, CrossingEdge, Network, RunOptions};
use reflow_script::Limits;
use serde_json::json;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

const PACKETS: u64 = 200_000;

fn network(dir: &Path) -> Result<Network, String> {
    let graph = json!({
        "processes": {
            "src": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": PACKETS}}},
            "sink": {"component": "core/Drop"}
        },
        "connections": [{"src": {"process": "src", "port": "out"}, "tgt": {"process": "sink", "port": "in"}}]
    });
    let file = dir.join("bench-cluster.json");
    let graph = parse_json(graph.to_string().as_bytes(), &file).map_err(|e| e.to_string())?;
    Network::from_graph(dir, graph, Limits::default()).map_err(|e| e.to_string())
}

fn delivered(report: &reflow_network::RunReport) -> u64 {
    report.actors.iter().find(|a| a.name == "sink").map_or(0, |a| a.received)
}

fn in_process(dir: &Path) -> Result<f64, String> {
    let network = network(dir)?;
    let plan = network.instantiate().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let report = plan.run(&RunOptions::default(), Arc::new(Quiet));
    let seconds = start.elapsed().as_secs_f64();
    match delivered(&report) {
        PACKETS => Ok(PACKETS as f64 / seconds),
        n => Err(format!("in-process edge: delivered {n} of {PACKETS}")),
    }
}

/// Both parts at once, each on a thread of its own (as on two workers), one run id each time.
fn across(dir: &Path, runtime: &tokio::runtime::Runtime, js: &async_nats::jetstream::Context, run: usize) -> Result<f64, String> {
    let link = EdgeLink {
        runtime: runtime.handle().clone(),
        js: js.clone(),
        connection: Connection { graph: "bench-cluster".into(), run: format!("b{run}"), number: 0 },
        options: EdgeOptions::default(),
        abandoned: Arc::new(AtomicBool::new(false)),
    };
    let part = |keep: &'static str| {
        let (dir, link) = (dir.to_path_buf(), link.clone());
        move || -> Result<u64, String> {
            let network = network(&dir)?;
            let mut bridge = |edge: &CrossingEdge| {
                let link = EdgeLink { connection: Connection { number: edge.connection, ..link.connection.clone() }, ..link.clone() };
                if edge.leaves {
                    Bridge { name: "out".into(), component: Box::new(Egress::new(link, "out")) }
                } else {
                    Bridge { name: "in".into(), component: Box::new(Ingress::new(link, "in")) }
                }
            };
            let prepared = network.prepare_part(&|p| p == keep, &mut bridge).map_err(|e| e.to_string())?;
            Ok(delivered(&network.run_prepared(prepared, &RunOptions::default(), Arc::new(Quiet))))
        }
    };
    let start = Instant::now();
    let sender = std::thread::spawn(part("src"));
    let receiver = std::thread::spawn(part("sink"));
    sender.join().map_err(|_| "the sending part panicked")??;
    let got = receiver.join().map_err(|_| "the receiving part panicked")??;
    let seconds = start.elapsed().as_secs_f64();
    match got {
        PACKETS => Ok(PACKETS as f64 / seconds),
        n => Err(format!("cross-worker edge: delivered {n} of {PACKETS}")),
    }
}

pub fn run(dir: &Path) -> Result<(), String> {
    let server = reflow_test_nats::NatsServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| e.to_string())?;
    let client = runtime.block_on(async_nats::connect(server.url())).map_err(|e| e.to_string())?;
    let js = {
        let _inside = runtime.enter();
        async_nats::jetstream::new(client)
    };
    let base = median_of(3, || in_process(dir).unwrap_or(f64::NAN));
    let mut run = 0;
    let ours = median_of(3, || {
        run += 1;
        across(dir, &runtime, &js, run).unwrap_or_else(|e| {
            eprintln!("reflow_bench: {e}");
            f64::NAN
        })
    });
    emit(Row {
        case: "one cross-worker edge (JetStream file stream, loopback), Range -> Drop",
        unit: "msg/s",
        ours,
        baseline: "the same edge in-process",
        base,
        target: ">= 100,000 msg/s",
        met: ours >= 100_000.0,
    });
    Ok(())
}
