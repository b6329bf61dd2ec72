//! Replay (`reflow replay`): a recorded actor's calls run again, in order, each with its
//! recorded payload, state and clock and random reads, on the recorded plugin or a new
//! version of it; what each call sent, returned and left as state is compared with the
//! recording.
//!
//! One instance runs all of an actor's calls, as in the run (a plugin's own memory carries
//! over between calls there too, and a failed call replaces the instance in both). A call's
//! WASI reads are served from the recording in order; a plugin that reads more, fewer or other
//! values than recorded is reported as a difference, since its answer cannot be compared
//! exactly.

use reflow_abi::{ActorConfig, Message};
use reflow_script::{Entropy, Limits, PluginModule, ScriptActor, ScriptConfig};
use reflow_trace::{CallRecord, ProcessInfo, Record, Start};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Why a replay cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("the recording has no process {process:?} (it has: {known})")]
    UnknownProcess { process: String, known: String },

    #[error("process {process:?} runs {component:?}, which is not a plugin: only plugin calls are recorded")]
    NotAPlugin { process: String, component: String },

    #[error("cannot load plugin {plugin}: {reason}")]
    Load { plugin: PathBuf, reason: String },
}

/// One way a replayed call differs from its recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// `state`, `outputs`, `sent`, `error`, `limit` or `clock/random reads`, with a JSON path into it
    /// (`state/count`, `outputs[0]`).
    pub at: String,
    pub recorded: Value,
    pub replayed: Value,
}

/// A call whose replay differs.
#[derive(Debug, Clone, PartialEq)]
pub struct CallDiff {
    /// The call's number among the actor's calls, from 1.
    pub call: usize,
    pub seq: u64,
    pub payload: Vec<(String, Message)>,
    pub differences: Vec<Difference>,
}

/// One actor's replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorReplay {
    pub process: String,
    pub plugin: PathBuf,
    /// The limits the calls were replayed under.
    pub limits: Limits,
    pub calls: usize,
    pub diffs: Vec<CallDiff>,
}

impl ActorReplay {
    pub fn identical(&self) -> bool {
        self.diffs.is_empty()
    }
}

/// The plugin processes of a recording that made calls, in the graph's order.
pub fn recorded_actors(start: &Start, records: &[(u64, Record)]) -> Vec<String> {
    let mut called = vec![false; start.processes.len()];
    for (_, record) in records {
        if let Record::Call(call) = record {
            if let Some(flag) = called.get_mut(call.process as usize) {
                *flag = true;
            }
        }
    }
    start.processes.iter().zip(called).filter(|(p, called)| p.plugin.is_some() && *called).map(|(p, _)| p.name.clone()).collect()
}

/// The limits `process` was recorded under: the defaults for a recording that has none.
pub fn recorded_limits(start: &Start, process: &str) -> Limits {
    start.processes.iter().find(|p| p.name == process).and_then(|p| p.limits).map_or_else(Limits::default, Limits::from)
}

/// Replays `process`'s recorded calls on its recorded plugin, or on `plugin` when given,
/// under `limits`, or the recorded ones ([`recorded_limits`]) when `None`. A call that went
/// over a limit in the recording must go over the same one in the replay.
pub fn replay(start: &Start, records: &[(u64, Record)], process: &str, plugin: Option<&Path>, limits: Option<Limits>) -> Result<ActorReplay, ReplayError> {
    let limits = limits.unwrap_or_else(|| recorded_limits(start, process));
    let Some(index) = start.processes.iter().position(|p| p.name == process) else {
        let known = start.processes.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(ReplayError::UnknownProcess { process: process.to_string(), known });
    };
    let info = &start.processes[index];
    let plugin = match (plugin, &info.plugin) {
        (Some(given), _) => given.to_path_buf(),
        (None, Some(recorded)) => PathBuf::from(recorded),
        (None, None) => return Err(ReplayError::NotAPlugin { process: process.to_string(), component: info.component.clone() }),
    };
    let mut actor = start_actor(info, &plugin, limits)?;
    let mut calls: Vec<&CallRecord> = records
        .iter()
        .filter_map(|(_, record)| match record {
            Record::Call(call) if call.process as usize == index => Some(call),
            _ => None,
        })
        .collect();
    calls.sort_by_key(|call| call.seq);
    let diffs = calls
        .iter()
        .enumerate()
        .filter_map(|(number, call)| {
            let differences = replay_call(&mut actor, call);
            (!differences.is_empty()).then(|| CallDiff { call: number + 1, seq: call.seq, payload: call.payload.clone(), differences })
        })
        .collect();
    Ok(ActorReplay { process: process.to_string(), plugin, limits, calls: calls.len(), diffs })
}

fn start_actor(info: &ProcessInfo, plugin: &Path, limits: Limits) -> Result<ScriptActor, ReplayError> {
    let load = |reason: String| ReplayError::Load { plugin: plugin.to_path_buf(), reason };
    let source = std::fs::read(plugin).map_err(|e| load(e.to_string()))?;
    let packages = (!info.grants.is_empty()).then(|| info.grants.clone());
    let config = ScriptConfig { packages, ..ScriptConfig::new(source) };
    let module = PluginModule::load(&plugin.display().to_string(), &config, limits).map_err(|e| load(e.to_string()))?;
    let config = ActorConfig {
        node_id: info.name.clone(),
        component: module.metadata().component.clone(),
        config: info.config.clone(),
        ..ActorConfig::default()
    };
    ScriptActor::new(&module, config).map_err(|e| load(e.to_string()))
}

/// Runs `call` again on `actor` and lists how it differs.
fn replay_call(actor: &mut ScriptActor, call: &CallRecord) -> Vec<Difference> {
    actor.engine_mut().set_state(call.state_before.clone());
    actor.engine_mut().set_entropy(Entropy::replay(call.entropy.clone()));
    let payload: HashMap<String, Message> = call.payload.iter().cloned().collect();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink: reflow_script::OutputSink = {
        let sent = sent.clone();
        Arc::new(move |port: &str, message: Message| sent.lock().unwrap_or_else(|p| p.into_inner()).push((port.to_string(), message)))
    };
    let mut outputs = Vec::new();
    let result = actor.process_split(&payload, sink, &mut |port, message| outputs.push((port.to_string(), message)));
    let misses = actor.engine_mut().take_entropy().replay_misses();
    let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
    let mut differences = Vec::new();
    let limit = result.as_ref().err().and_then(crate::record::limit_of).map(|l| reflow_trace::limit_name(l).to_string());
    let error = result.err().map(|e| e.to_string());
    if error.is_some() != call.error.is_some() {
        differences.push(Difference { at: "error".into(), recorded: json_option(&call.error), replayed: json_option(&error) });
    }
    // Recordings made before limits were recorded say nothing about them.
    if call.error.is_some() && call.limit.is_some() && limit != call.limit {
        differences.push(Difference { at: "limit".into(), recorded: json_option(&call.limit), replayed: json_option(&limit) });
    }
    diff(&mut differences, "state", &Value::Object(call.state_after().clone()), &Value::Object(actor.engine().state().clone()));
    diff(&mut differences, "outputs", &messages(&call.outputs), &messages(&outputs));
    diff(&mut differences, "sent", &messages(&call.sent), &messages(&sent));
    if misses > 0 {
        differences.push(Difference {
            at: "clock/random reads".into(),
            recorded: Value::from(call.entropy.len()),
            replayed: Value::String(format!("{misses} read(s) not as recorded")),
        });
    }
    differences
}

fn json_option(text: &Option<String>) -> Value {
    text.as_ref().map_or(Value::Null, |t| Value::String(t.clone()))
}

/// Messages as `[{"PORT": MESSAGE}, ...]`, in order.
fn messages(list: &[(String, Message)]) -> Value {
    Value::Array(list.iter().map(|(port, m)| Value::Object(Map::from_iter([(port.clone(), m.to_json())]))).collect())
}

/// Every place where `replayed` differs from `recorded`, deepest first found, by JSON path.
fn diff(out: &mut Vec<Difference>, at: &str, recorded: &Value, replayed: &Value) {
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))).collect();
            keys.sort();
            for key in keys {
                let path = format!("{at}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff(out, &path, x, y),
                    (x, y) => out.push(Difference { at: path, recorded: x.cloned().unwrap_or(Value::Null), replayed: y.cloned().unwrap_or(Value::Null) }),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(out, &format!("{at}[{i}]"), x, y);
            }
        }
        (a, b) if a != b => out.push(Difference { at: at.to_string(), recorded: a.clone(), replayed: b.clone() }),
        _ => {}
    }
}

impl fmt::Display for CallDiff {
    /// `call 3 (seq 17), payload {"increment": ...}:` then one line per difference.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "call {} (seq {}), payload {}:", self.call, self.seq, messages(&self.payload))?;
        for d in &self.differences {
            writeln!(f, "  {}: recorded {}, replayed {}", d.at, d.recorded, d.replayed)?;
        }
        Ok(())
    }
}
