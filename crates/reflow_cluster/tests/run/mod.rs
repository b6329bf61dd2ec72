//! A graph on three workers gives the same answer as on one process; bad input is a clear
//! error, not a hang.

use crate::{client, within};
use reflow_cluster::worker::{self, Worker, WorkerOptions};
use reflow_network::{graph_id, Network, Observer, RunOptions, StateBinding};
use reflow_state::{ActorKey, MemoryStore, NatsStore, StateStore, StoreOptions};
use reflow_test_nats::NatsServer;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(3);

fn plugin(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins").join(name);
    assert!(path.is_file(), "{}: missing; `cargo xtask build-plugins` builds it", path.display());
    path.canonicalize().unwrap().display().to_string()
}

/// numbers (1..=N) -> six doublers -> counter -> sink (one JSON line per count), the sink
/// pinned to `sink_worker` when given.
fn pipeline(dir: &Path, name: &str, sink: &str, sink_worker: Option<&str>) -> PathBuf {
    let mut processes = serde_json::Map::new();
    processes.insert("numbers".into(), json!({"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 300}}}));
    let mut connections = Vec::new();
    let mut previous = ("numbers".to_string(), "out");
    for i in 1..=6 {
        let stage = format!("double{i}");
        processes.insert(stage.clone(), json!({"component": plugin("doubler.wasm")}));
        connections.push(json!({"src": {"process": previous.0, "port": previous.1}, "tgt": {"process": stage, "port": "input"}}));
        previous = (stage, "output");
    }
    processes.insert("count".into(), json!({"component": plugin("counter.wasm")}));
    connections.push(json!({"src": {"process": previous.0, "port": previous.1}, "tgt": {"process": "count", "port": "increment"}}));
    let mut sink_metadata = json!({"config": {"path": sink}});
    if let Some(worker) = sink_worker {
        sink_metadata["worker"] = json!(worker);
    }
    processes.insert("sink".into(), json!({"component": "reflow/WriteJsonLines", "metadata": sink_metadata}));
    connections.push(json!({"src": {"process": "count", "port": "count"}, "tgt": {"process": "sink", "port": "in"}}));
    let graph = json!({"caseSensitive": true, "properties": {"name": name}, "processes": processes, "connections": connections});
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&graph).unwrap()).unwrap();
    file
}

struct Quiet;
impl Observer for Quiet {
    fn exported(&self, _: &str, _: &reflow_script::Message) {}
    fn failed(&self, failure: &reflow_network::ActorFailure) {
        panic!("{failure}");
    }
}

async fn workers(url: &str, names: &[&str]) -> Vec<tokio::sync::oneshot::Sender<()>> {
    let mut stops = Vec::new();
    for name in names {
        let options = WorkerOptions { ttl: TTL, checkpoint_interval: Duration::from_millis(20), ..WorkerOptions::default() };
        let worker = Worker::join(client(url).await, name, options).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(worker.serve(async move {
            let _ = stopped.await;
        }));
        stops.push(stop);
    }
    stops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_give_the_answer_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    // One process, state in memory.
    let local = pipeline(dir.path(), "pipeline", "local.jsonl", None);
    let memory = Arc::new(MemoryStore::new(StoreOptions::default()));
    let binding = StateBinding { store: memory.clone(), graph_id: graph_id(&local) };
    let network = Network::load(&local, Default::default()).unwrap().with_state(binding);
    let report = tokio::task::spawn_blocking(move || network.run(&RunOptions::default(), Arc::new(Quiet)).unwrap()).await.unwrap();
    assert!(report.failures.is_empty());
    let expected_state = memory.load(&ActorKey::new(graph_id(&local), "count")).unwrap().unwrap().state;
    assert_eq!(expected_state["count"], json!(300));

    // Three workers, the sink pinned to the last one.
    let cluster_dir = dir.path().join("cluster");
    std::fs::create_dir(&cluster_dir).unwrap();
    let file = pipeline(&cluster_dir, "pipeline", "cluster.jsonl", Some("w3"));
    let server = NatsServer::start();
    let _stops = workers(&server.url(), &["w1", "w2", "w3"]).await;
    let nats = client(&server.url()).await;
    let submission = within("the cluster run", worker::submit(&nats, &file)).await.unwrap();
    let on: std::collections::BTreeSet<_> = submission.placement.values().cloned().collect();
    assert_eq!(on.len(), 3, "{:?}", submission.placement);
    assert_eq!(submission.placement["sink"], "w3");

    let local_sink = std::fs::read(dir.path().join("local.jsonl")).unwrap();
    let cluster_sink = std::fs::read(cluster_dir.join("cluster.jsonl")).unwrap();
    assert_eq!(String::from_utf8_lossy(&cluster_sink).lines().count(), 300);
    assert!(local_sink == cluster_sink, "the sinks differ");
    let url = server.url();
    let graph = reflow_cluster::store::part_id(&submission.graph, &submission.placement["count"]);
    let state = tokio::task::spawn_blocking(move || {
        let store = NatsStore::connect(&url, worker::STATE, StoreOptions::default()).unwrap();
        store.load(&ActorKey::new(graph, "count")).unwrap().unwrap().state
    })
    .await
    .unwrap();
    assert_eq!(state, expected_state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_a_worker_cannot_load_fails_the_run_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    let graph = json!({"caseSensitive": true, "processes": {
        "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 3}}},
        "stage": {"component": dir.path().join("missing.wasm").display().to_string(), "metadata": {"worker": "w2"}},
    }, "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "stage", "port": "input"}}]});
    std::fs::write(&file, graph.to_string()).unwrap();
    let server = NatsServer::start();
    let _stops = workers(&server.url(), &["w1", "w2"]).await;
    let nats = client(&server.url()).await;
    let error = within("the failing run", worker::submit(&nats, &file)).await.unwrap_err();
    let message = error.to_string();
    // Every worker validates the whole graph, so whichever reports first names the plugin.
    assert!(message.starts_with("worker \"w") && message.contains("missing.wasm: No such file or directory"), "{message}");
}
