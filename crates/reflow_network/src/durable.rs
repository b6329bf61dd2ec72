//! Durable runs: a network whose state store keeps, at every checkpoint of the scheduler (see
//! "Checkpoints" in [`crate::scheduler`]), every plugin actor's state and, while the run is
//! unfinished, everything else needed to carry on exactly where the checkpoint was: source
//! positions, sinks' committed lengths, and the messages in flight. `docs/state.md` states the
//! guarantee; this module is the bridge between the scheduler's [`Cut`] and the store:
//!
//! - [`StoreCheckpointer`] writes a cut in one store transaction: plugin states into the
//!   states table (what `reflow state show` lists), the rest as the graph's unfinished run
//!   (removed by the last checkpoint of a run that ended).
//! - [`resume`] gives a freshly instantiated [`Plan`] back what the unfinished run held, after
//!   checking that the graph has not changed in a way the checkpoint cannot survive.
//!
//! Without a store none of this runs and nothing is checkpointed.

use crate::network::Plan;
use crate::scheduler::{Checkpointer, Cut, SourcePhase};
use reflow_abi::Message;
use reflow_state::StateStore;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a network keeps its actors' state, and under which graph id.
#[derive(Clone)]
pub struct StateBinding {
    pub store: Arc<dyn StateStore>,
    pub graph_id: String,
}

/// The graph id a graph file's state is stored under: the file name without its `.json`
/// (`examples/graphs/demo.json` -> `demo`). Any other spelling of the extension keeps it,
/// after a `/` (`cnt.JSON` -> `cnt/JSON`): no file name holds a `/`, so no `X.json` can have
/// that id, and every file of a directory has an id of its own. Graphs sharing the default
/// state directory never share state; renaming the file leaves its state behind under the old id.
pub fn graph_id(graph_file: &Path) -> String {
    let Some(stem) = graph_file.file_stem().map(|s| s.to_string_lossy().into_owned()) else { return "graph".to_string() };
    match graph_file.extension().map(|e| e.to_string_lossy()) {
        None => format!("{stem}/"),
        Some(extension) if extension == "json" => stem,
        Some(extension) => format!("{stem}/{extension}"),
    }
}

/// The state directory `reflow run` uses unless told otherwise: `.reflow/state` in the graph
/// file's folder.
pub fn default_state_dir(graph_file: &Path) -> PathBuf {
    graph_file.parent().unwrap_or(Path::new("")).join(".reflow").join("state")
}

/// The layout of an unfinished run's record (inside the store's own format version).
const RUN_FORMAT: u64 = 1;

/// What the scheduler's actors are, as a checkpoint names them.
struct Names {
    processes: Vec<String>,
    plugin: Vec<bool>,
}

/// The ports and connections a checkpoint depends on: a graph resumed from it must still have
/// them (processes and connections may be added).
fn shape(plan: &Plan) -> Value {
    let processes: Map<String, Value> = plan
        .actors
        .iter()
        .map(|a| {
            let m = a.component.metadata();
            let names = |ports: &[reflow_abi::PortDefinition]| ports.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
            (a.name.clone(), json!({"component": m.component, "inports": names(&m.inports), "outports": names(&m.outports)}))
        })
        .collect();
    let connections: Vec<String> = plan.routes.iter().map(|r| connection(plan, r.from, &r.outport, r.to, &r.inport)).collect();
    json!({"processes": processes, "connections": connections})
}

fn connection(plan: &Plan, from: usize, outport: &str, to: usize, inport: &str) -> String {
    format!("{}.{outport} -> {}.{inport}", plan.actors[from].name, plan.actors[to].name)
}

/// Writes the scheduler's cuts to a [`StateStore`] (see the module docs).
pub struct StoreCheckpointer {
    binding: StateBinding,
    names: Names,
    shape: Value,
}

impl StoreCheckpointer {
    /// The checkpointer of `plan`'s run; `plugin(i)` says whether actor `i` is a plugin (its
    /// checkpointed value is its state).
    pub fn new(binding: StateBinding, plan: &Plan, plugin: impl Fn(usize) -> bool) -> StoreCheckpointer {
        let names = Names { processes: plan.actors.iter().map(|a| a.name.clone()).collect(), plugin: (0..plan.actors.len()).map(plugin).collect() };
        StoreCheckpointer { binding, shape: shape(plan), names }
    }
}

fn messages(list: &[(String, Message)]) -> Vec<Value> {
    list.iter().map(|(port, m)| json!([port, m.to_json()])).collect()
}

impl Checkpointer for StoreCheckpointer {
    fn write(&self, cut: Cut) -> Result<(), String> {
        let mut states = Vec::new();
        let mut actors = Map::new();
        for (i, actor) in cut.actors.into_iter().enumerate() {
            let name = &self.names.processes[i];
            let saved = if self.names.plugin[i] {
                match actor.saved {
                    Some(Value::Object(state)) => states.push((name.clone(), state)),
                    other => return Err(format!("actor {name}: a plugin's checkpoint must be its state object, got {other:?}")),
                }
                Value::Null
            } else {
                actor.saved.unwrap_or(Value::Null)
            };
            if cut.finished {
                continue;
            }
            let held: Vec<Value> = actor.held.iter().map(|(to, inport, m)| json!([self.names.processes[*to], inport, m.to_json()])).collect();
            actors.insert(name.clone(), json!({"saved": saved, "source": actor.source.name(), "inbox": messages(&actor.inbox), "held": held}));
        }
        let run = (!cut.finished).then(|| {
            let taken_at = cut.taken_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
            json!({"format": RUN_FORMAT, "taken_at_ms": taken_at, "shape": self.shape, "actors": actors})
        });
        self.binding.store.checkpoint(&self.binding.graph_id, &states, run.as_ref()).map_err(|e| e.to_string())
    }
}

/// An unfinished run found in the store.
#[derive(Debug, Clone)]
pub struct Unfinished {
    /// When its last checkpoint was taken.
    pub taken_at: SystemTime,
    record: Value,
}

impl Unfinished {
    /// How long ago its last checkpoint was taken.
    pub fn age(&self) -> Duration {
        SystemTime::now().duration_since(self.taken_at).unwrap_or_default()
    }
}

/// The graph's unfinished run, if its store holds one.
pub fn unfinished(binding: &StateBinding) -> Result<Option<Unfinished>, String> {
    let Some(record) = binding.store.unfinished_run(&binding.graph_id).map_err(|e| e.to_string())? else { return Ok(None) };
    if record.get("format").and_then(Value::as_u64) != Some(RUN_FORMAT) {
        return Err(format!("the unfinished run of graph {:?} was checkpointed in a layout this reflow does not read ({})", binding.graph_id, record.get("format").unwrap_or(&Value::Null)));
    }
    let ms = record.get("taken_at_ms").and_then(Value::as_u64).unwrap_or(0);
    Ok(Some(Unfinished { taken_at: UNIX_EPOCH + Duration::from_millis(ms), record }))
}

/// What changed between the checkpoint's graph (`then`) and `plan`'s that the checkpoint
/// cannot survive: a process or connection removed, a component or its ports changed. Empty:
/// compatible.
fn incompatibilities(then: &Value, plan: &Plan) -> Vec<String> {
    let now = shape(plan);
    let mut changes = Vec::new();
    let empty = Map::new();
    let processes = |shape: &Value| shape.get("processes").and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());
    let (before, after) = (processes(then), processes(&now));
    for (name, was) in &before {
        match after.get(name) {
            None => changes.push(format!("process {name:?} was removed")),
            Some(is) if is["component"] != was["component"] => {
                changes.push(format!("process {name:?} is now component {} (was {})", is["component"], was["component"]))
            }
            Some(is) => {
                for ports in ["inports", "outports"] {
                    if is[ports] != was[ports] {
                        changes.push(format!("process {name:?}'s {ports} changed from {} to {}", was[ports], is[ports]));
                    }
                }
            }
        }
    }
    let connections = |shape: &Value| -> BTreeSet<String> {
        shape.get("connections").and_then(Value::as_array).map(|c| c.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let still = connections(&now);
    for gone in connections(then).difference(&still) {
        changes.push(format!("connection {gone} was removed"));
    }
    changes
}

fn message(value: &Value, what: &str) -> Result<Message, String> {
    Message::from_json(value.clone()).map_err(|e| format!("a checkpointed message {what} does not decode: {e}"))
}

/// Gives `plan`'s actors what the unfinished run's checkpoint held: built-ins their positions,
/// inboxes their queued messages (instead of the IIPs, which that run had already queued),
/// senders their undelivered messages, sources their phase. Plugin states are in the store's
/// states table and were restored when the plan was made. Refused, naming every change, if
/// the graph changed incompatibly since the checkpoint.
pub fn resume(plan: &mut Plan, unfinished: &Unfinished, graph_file: &Path) -> Result<(), String> {
    let record = &unfinished.record;
    let changes = incompatibilities(&record["shape"], plan);
    if !changes.is_empty() {
        return Err(format!(
            "{}: the graph changed since the checkpoint of its unfinished run ({}); run the old graph to its end, or `reflow state clear {}` to start over",
            graph_file.display(),
            changes.join("; "),
            graph_file.display()
        ));
    }
    let index: BTreeMap<String, usize> = plan.actors.iter().enumerate().map(|(i, a)| (a.name.clone(), i)).collect();
    let empty = Map::new();
    let actors = record.get("actors").and_then(Value::as_object).unwrap_or(&empty);
    for (name, saved) in actors {
        let at = *index.get(name).ok_or_else(|| format!("checkpointed process {name:?} is not in the graph"))?;
        let actor = &mut plan.actors[at];
        let bad = |what: &str| format!("process {name:?}: its checkpoint's {what} is unreadable");
        if let Some(position) = saved.get("saved").filter(|v| !v.is_null()) {
            actor.component.restore(position.clone()).map_err(|e| format!("process {name:?}: {e}"))?;
        }
        actor.source = saved.get("source").and_then(Value::as_str).and_then(SourcePhase::from_name).ok_or_else(|| bad("source phase"))?;
        actor.initial = saved
            .get("inbox")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("inbox"))?
            .iter()
            .map(|entry| match entry.as_array().map(Vec::as_slice) {
                Some([Value::String(port), m]) => Ok((port.clone(), message(m, &format!("for {name}.{port}"))?)),
                _ => Err(bad("inbox")),
            })
            .collect::<Result<_, _>>()?;
        actor.held = saved
            .get("held")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("held messages"))?
            .iter()
            .map(|entry| match entry.as_array().map(Vec::as_slice) {
                Some([Value::String(to), Value::String(inport), m]) => {
                    let target = *index.get(to).ok_or_else(|| bad("held messages"))?;
                    Ok((target, inport.clone(), message(m, &format!("from {name} for {to}.{inport}"))?))
                }
                _ => Err(bad("held messages")),
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}
