//! Part of a graph in one run, the rest in another (`Network::prepare_part`, the hook
//! `reflow_cluster` runs a graph on several workers with): bridges stand for the far end of
//! each crossing edge; the parts together give the whole graph's answer, and a part stopped
//! mid-way resumes from its checkpoint, its bridges' positions included.

use reflow_abi::{Message, PluginMetadata, PortDefinition};
use reflow_network::{
    ActorFailure, Bridge, Component, ComponentError, CrossingEdge, Network, NetworkError, Observer, Outputs, Payload, RunOptions, SourceStatus,
    StateBinding,
};
use reflow_script::Limits;
use reflow_state::{ActorKey, MemoryStore, StateStore, StoreOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// numbers (1..=n) -> count -> sink `out.jsonl`, and numbers -> probe; count exported (the
/// state tests' graph).
fn graph(dir: &Path, n: i64) -> PathBuf {
    crate::state::graph_file(dir, "g", crate::state::sink_graph(n))
}

/// What crossed each connection, by connection number: the "network" between the parts.
type Wire = Arc<Mutex<BTreeMap<usize, Vec<Message>>>>;

fn metadata(name: &str, inport: bool) -> PluginMetadata {
    let port = vec![PortDefinition::new(if inport { "in" } else { "out" }, "crossing", "any", false)];
    PluginMetadata {
        component: name.into(),
        description: String::new(),
        inports: if inport { port.clone() } else { Vec::new() },
        outports: if inport { Vec::new() } else { port },
        config_schema: None,
    }
}

/// The sending end: appends what it receives to the wire.
struct Collect {
    metadata: PluginMetadata,
    wire: Wire,
    connection: usize,
}

impl Component for Collect {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, payload: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        let message = payload.remove("in").expect("a message on in");
        self.wire.lock().unwrap().entry(self.connection).or_default().push(message);
        Ok(())
    }
}

/// The receiving end: a source sending what the wire holds, from its position on.
struct Feed {
    metadata: PluginMetadata,
    messages: Vec<Message>,
    next: usize,
}

impl Component for Feed {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }
    fn poll_source(&mut self, out: &Outputs, budget: usize) -> Result<SourceStatus, ComponentError> {
        for message in self.messages.iter().skip(self.next).take(budget) {
            out.send("out", message.clone());
            self.next += 1;
        }
        Ok(if self.next == self.messages.len() { SourceStatus::Done } else { SourceStatus::More })
    }
    fn checkpoint(&mut self) -> Result<Option<Value>, ComponentError> {
        Ok(Some(json!(self.next)))
    }
    fn restore(&mut self, saved: Value) -> Result<(), ComponentError> {
        self.next = saved.as_u64().ok_or_else(|| ComponentError::new("not a position"))? as usize;
        Ok(())
    }
}

fn bridges(wire: &Wire) -> impl FnMut(&CrossingEdge) -> Bridge + '_ {
    move |edge| {
        let name = format!("bridge{}", edge.connection);
        let component: Box<dyn Component> = if edge.leaves {
            Box::new(Collect { metadata: metadata(&name, true), wire: wire.clone(), connection: edge.connection })
        } else {
            let messages = wire.lock().unwrap().get(&edge.connection).cloned().unwrap_or_default();
            Box::new(Feed { metadata: metadata(&name, false), messages, next: 0 })
        };
        Bridge { name, component }
    }
}

/// Exported counts; raises `halt` (if any) once `after` is exported, as if the part was killed.
#[derive(Default)]
struct Counts {
    seen: Mutex<Vec<i64>>,
    halt_at: Option<(i64, reflow_network::Halt)>,
}

impl Observer for Counts {
    fn exported(&self, _: &str, message: &Message) {
        if let Message::Integer(n) = message {
            self.seen.lock().unwrap().push(*n);
            if let Some((at, halt)) = &self.halt_at {
                if n == at {
                    halt.raise();
                }
            }
        }
    }
    fn failed(&self, failure: &ActorFailure) {
        panic!("{failure}");
    }
}

fn network(file: &Path, store: &Arc<dyn StateStore>, id: &str) -> Network {
    let binding = StateBinding { store: store.clone(), graph_id: id.to_string() };
    Network::load(file, Limits::default()).unwrap().with_state(binding).with_checkpoint_interval(std::time::Duration::from_millis(1))
}

fn state(store: &Arc<dyn StateStore>, id: &str, process: &str) -> Value {
    Value::Object(store.load(&ActorKey::new(id, process)).unwrap().expect("a stored state").state)
}

const SOURCE: &[&str] = &["numbers"];

fn in_source(name: &str) -> bool {
    SOURCE.contains(&name)
}

#[test]
fn two_parts_joined_by_bridges_give_the_whole_graphs_answer() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph(dir.path(), 500);
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let whole = Arc::new(Counts::default());
    network(&file, &store, "whole").run(&RunOptions::default(), whole.clone()).unwrap();
    let want_sink = std::fs::read(dir.path().join("out.jsonl")).unwrap();
    std::fs::remove_file(dir.path().join("out.jsonl")).unwrap();

    let wire = Wire::default();
    let first = network(&file, &store, "first");
    let prepared = first.prepare_part(&in_source, &mut bridges(&wire)).unwrap();
    assert_eq!(prepared.plan.len(), 3, "numbers and one bridge per crossing edge");
    let report = first.run_prepared(prepared, &RunOptions::default(), Arc::new(Counts::default()));
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(wire.lock().unwrap().keys().copied().collect::<Vec<_>>(), [0, 1], "both edges out of numbers crossed");

    let second = network(&file, &store, "second");
    let counts = Arc::new(Counts::default());
    let prepared = second.prepare_part(&|p| !in_source(p), &mut bridges(&wire)).unwrap();
    let report = second.run_prepared(prepared, &RunOptions::default(), counts.clone());
    assert!(report.failures.is_empty(), "{report:?}");

    assert_eq!(*counts.seen.lock().unwrap(), *whole.seen.lock().unwrap(), "the second part exports what the whole graph does");
    for process in ["count", "probe"] {
        assert_eq!(state(&store, "second", process), state(&store, "whole", process), "{process}");
    }
    assert!(std::fs::read(dir.path().join("out.jsonl")).unwrap() == want_sink, "the sink file is the whole run's");
}

#[test]
fn a_part_stopped_mid_way_resumes_its_bridges_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph(dir.path(), 3000);
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    network(&file, &store, "whole").run(&RunOptions::default(), Arc::new(Counts::default())).unwrap();
    let want_sink = std::fs::read(dir.path().join("out.jsonl")).unwrap();
    std::fs::remove_file(dir.path().join("out.jsonl")).unwrap();

    let wire = Wire::default();
    let first = network(&file, &store, "first");
    let prepared = first.prepare_part(&in_source, &mut bridges(&wire)).unwrap();
    first.run_prepared(prepared, &RunOptions::default(), Arc::new(Counts::default()));

    let halt = reflow_network::Halt::new();
    let second = network(&file, &store, "second");
    let prepared = second.prepare_part(&|p| !in_source(p), &mut bridges(&wire)).unwrap();
    let options = RunOptions { halt: Some(halt.clone()), queue_capacity: 4, ..RunOptions::default() };
    let stopped = Arc::new(Counts { halt_at: Some((1500, halt)), ..Counts::default() });
    second.run_prepared(prepared, &options, stopped);
    let unfinished = store.unfinished_run("second").unwrap().expect("a part stopped mid-way leaves an unfinished run");
    assert!(unfinished["actors"]["bridge0"]["saved"].as_u64().is_some_and(|at| at > 0 && at < 3000), "{unfinished}");

    // Fresh bridges (at position 0) get the checkpoint's positions back.
    let resumed = network(&file, &store, "second");
    let prepared = resumed.prepare_part(&|p| !in_source(p), &mut bridges(&wire)).unwrap();
    assert!(prepared.resumed.is_some());
    let report = resumed.run_prepared(prepared, &RunOptions::default(), Arc::new(Counts::default()));
    assert!(report.failures.is_empty(), "{report:?}");
    for process in ["count", "probe"] {
        assert_eq!(state(&store, "second", process), state(&store, "whole", process), "{process}: nothing lost or applied twice");
    }
    assert!(std::fs::read(dir.path().join("out.jsonl")).unwrap() == want_sink, "the sink file is the uninterrupted run's");
}

#[test]
fn a_bridge_without_the_port_its_edge_needs_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = graph(dir.path(), 3);
    let network = Network::load(&file, Limits::default()).unwrap();
    // A receiving bridge (an outport only) where the edge leaves the part.
    let mut wrong = |edge: &CrossingEdge| Bridge {
        name: format!("bridge{}", edge.connection),
        component: Box::new(Feed { metadata: metadata("feed", false), messages: Vec::new(), next: 0 }),
    };
    let error = network.prepare_part(&in_source, &mut wrong).err().expect("refused");
    assert!(matches!(error, NetworkError::Bridge { .. }), "{error:?}");
    assert_eq!(error.to_string(), "bridge \"bridge0\": it stands for one end of connection numbers.out -> count.increment but declares no inport");
    // A bridge named like a process of the part.
    let mut clash = |edge: &CrossingEdge| Bridge {
        name: "numbers".into(),
        component: Box::new(Collect { metadata: metadata("c", true), wire: Wire::default(), connection: edge.connection }),
    };
    let error = network.prepare_part(&in_source, &mut clash).err().expect("refused");
    assert_eq!(error.to_string(), "bridge \"numbers\": an actor of the part already has this name");
}
