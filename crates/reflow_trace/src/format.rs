//! The records of a recording (see the crate docs for the framing).

use reflow_abi::Message;
use reflow_script::{EntropyRead, Limit, Limits};
use std::time::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The first bytes of every recording; the version byte follows.
pub const MAGIC: &[u8; 8] = b"RFLTRACE";

/// The format this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// One record of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// What was run; always the first record, and only there.
    Start(Start),
    /// A message crossing a connection.
    Edge(EdgeRecord),
    /// A plugin call, which replay runs again.
    Call(CallRecord),
}

/// What was run: the first record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// The graph file, as given to `reflow run`.
    pub graph_file: String,
    /// The graph as FBP JSON (the flowtrace header carries it).
    pub graph: Value,
    /// When the run started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Every process, in the graph's order; [`CallRecord::process`] indexes it.
    pub processes: Vec<ProcessInfo>,
    /// Every connection, in the graph's order; [`EdgeRecord::edge`] indexes it.
    pub edges: Vec<EdgeInfo>,
}

/// A process and, for a plugin, what its actor was started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// The process name in the graph.
    pub name: String,
    /// The component as the graph names it.
    pub component: String,
    /// The plugin file (absolute), for a plugin.
    pub plugin: Option<String>,
    /// The sandbox grants the actor ran with (`fs:`, `http:`, `env:`).
    pub grants: Vec<String>,
    /// The process configuration (`ActorConfig.config`).
    pub config: Map<String, Value>,
    /// The limits the actor's calls ran under (a replay runs under the same ones). Absent
    /// from recordings made before they were recorded, and for a built-in.
    #[serde(default)]
    pub limits: Option<RecordedLimits>,
}

/// A plugin actor's [`Limits`], as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedLimits {
    /// [`Limits::max_memory_pages`]: 64 KiB pages of linear memory and tables together.
    pub max_memory_pages: u32,
    /// [`Limits::call_timeout`] in milliseconds (saturated, as a duration may not fit).
    pub call_timeout_ms: u64,
    /// [`Limits::max_output_bytes`].
    pub max_output_bytes: u64,
    /// [`Limits::fuel`]: `None` runs unmetered.
    pub fuel: Option<u64>,
}

impl From<Limits> for RecordedLimits {
    fn from(limits: Limits) -> RecordedLimits {
        RecordedLimits {
            max_memory_pages: limits.max_memory_pages,
            call_timeout_ms: u64::try_from(limits.call_timeout.as_millis()).unwrap_or(u64::MAX),
            max_output_bytes: limits.max_output_bytes,
            fuel: limits.fuel,
        }
    }
}

impl From<RecordedLimits> for Limits {
    fn from(limits: RecordedLimits) -> Limits {
        Limits {
            max_memory_pages: limits.max_memory_pages,
            call_timeout: Duration::from_millis(limits.call_timeout_ms),
            max_output_bytes: limits.max_output_bytes,
            fuel: limits.fuel,
        }
    }
}

/// How a recording names the limit a call went over (`memory`, `time`, `output`, `fuel`).
pub fn limit_name(limit: Limit) -> &'static str {
    match limit {
        Limit::Memory => "memory",
        Limit::Time => "time",
        Limit::Output => "output",
        Limit::Fuel => "fuel",
        // A limit added later is recorded as `other` until it gets a name here.
        _ => "other",
    }
}

/// One connection: `from`'s `outport` to `to`'s `inport` (process names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeInfo {
    /// The sending process.
    pub from: String,
    /// Its outport.
    pub outport: String,
    /// The outport's index, for an addressable (array) port.
    pub from_index: Option<usize>,
    /// The receiving process.
    pub to: String,
    /// Its inport.
    pub inport: String,
    /// The inport's index, for an addressable (array) port.
    pub to_index: Option<usize>,
}

/// A message sent on a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// The record's place among every edge and call record of the run
    /// ([`TraceWriter::stamp`](crate::TraceWriter::stamp)): the order events happened in,
    /// which file order need not be (worker threads append as they finish).
    pub seq: u64,
    /// Microseconds since the run started.
    pub micros: u64,
    /// Index into [`Start::edges`].
    pub edge: u32,
    /// The message as it was sent.
    pub message: Message,
}

/// One plugin call, as it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// As [`EdgeRecord::seq`].
    pub seq: u64,
    /// Microseconds since the run started.
    pub micros: u64,
    /// Index into [`Start::processes`].
    pub process: u32,
    /// The call's input, by inport (sorted by port name).
    pub payload: Vec<(String, Message)>,
    /// The actor's state when the call started: replaying the call starts from it.
    pub state_before: Map<String, Value>,
    /// `None`: the call left the state as it was.
    pub state_after: Option<Map<String, Value>>,
    /// Messages sent with `__send_output` during the call, in order.
    pub sent: Vec<(String, Message)>,
    /// The outputs the call returned, in the metadata's outport order.
    pub outputs: Vec<(String, Message)>,
    /// What the plugin read from its WASI clocks and random source, in order.
    pub entropy: Vec<EntropyRead>,
    /// Why the call failed, if it did.
    pub error: Option<String>,
    /// The limit the call went over, if that is why it failed ([`limit_name`]). Absent from
    /// recordings made before limits were recorded.
    #[serde(default)]
    pub limit: Option<String>,
}

impl CallRecord {
    /// The state after the call, whether or not the record stores it (it is left out when
    /// the call did not change it).
    pub fn state_after(&self) -> &Map<String, Value> {
        self.state_after.as_ref().unwrap_or(&self.state_before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process and a call as recordings made before limits were recorded wrote them (the
    /// same fields, without the last one).
    #[derive(Serialize)]
    struct OldProcess {
        name: String,
        component: String,
        plugin: Option<String>,
        grants: Vec<String>,
        config: Map<String, Value>,
    }

    #[test]
    fn older_recordings_read_as_having_no_limits() {
        let old = OldProcess { name: "p".into(), component: "p.wasm".into(), plugin: None, grants: vec![], config: Map::new() };
        let bytes = rmp_serde::to_vec(&old).unwrap();
        let read: ProcessInfo = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!((read.name.as_str(), read.limits), ("p", None));
    }

    #[test]
    fn limits_survive_the_round_trip() {
        let limits = Limits { max_memory_pages: 17, call_timeout: Duration::from_millis(250), max_output_bytes: 1 << 20, fuel: Some(9) };
        assert_eq!(Limits::from(RecordedLimits::from(limits)), limits);
        assert_eq!([Limit::Memory, Limit::Time, Limit::Output, Limit::Fuel].map(limit_name), ["memory", "time", "output", "fuel"]);
    }
}
