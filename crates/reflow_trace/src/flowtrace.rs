//! The FBP flowtrace format (the flowbased/flowtrace tools' JSON): a header with the graph and
//! the events of a run. `reflow serve`'s trace sub-protocol dumps it from its live buffer and
//! `reflow trace export --flowtrace` from a recording; both build it here.

use crate::format::{EdgeInfo, Record, Start};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// One flowtrace event: a protocol message of a run, with its graph and time.
pub fn event(protocol: &str, command: &str, payload: &Value, graph: &str, time: &str) -> Value {
    json!({"protocol": protocol, "command": command, "payload": payload, "graph": graph, "time": time})
}

/// The whole trace: `{header: {metadata, graphs, main}, events}`, the graph as FBP JSON.
pub fn document(graph_id: &str, graph: Value, start: Option<&str>, end: &str, events: impl IntoIterator<Item = Value>) -> Value {
    json!({
        "header": {
            "metadata": {
                "runtime": "reflow",
                "type": "reflow",
                "label": "Reflow WASM runtime",
                "start": start,
                "end": end,
            },
            "graphs": { graph_id: graph },
            "main": graph_id,
        },
        "events": events.into_iter().collect::<Vec<_>>(),
    })
}

/// The protocol's edge id, an FBP DSL line: `SRC() OUT -> IN TGT()` (`IN[2]` for an
/// array-port slot).
pub fn edge_id(from: &str, outport: &str, from_index: Option<usize>, to: &str, inport: &str, to_index: Option<usize>) -> String {
    format!("{from}() {} -> {} {to}()", port_id(outport, from_index), port_id(inport, to_index))
}

/// A port in an edge id: upper-case name, `[index]` for an array-port slot.
pub fn port_id(name: &str, index: Option<usize>) -> String {
    match index {
        Some(index) => format!("{}[{index}]", name.to_uppercase()),
        None => name.to_uppercase(),
    }
}

/// A `network:data` event's payload for a message on `edge`, as `reflow serve` sends it.
pub fn data_payload(edge: &EdgeInfo, graph: &str, data: Value) -> Value {
    let port = |node: &str, port: &str, index: Option<usize>| {
        let mut value = json!({"node": node, "port": port});
        if let Some(index) = index {
            value["index"] = json!(index);
        }
        value
    };
    json!({
        "id": edge_id(&edge.from, &edge.outport, edge.from_index, &edge.to, &edge.inport, edge.to_index),
        "graph": graph,
        "src": port(&edge.from, &edge.outport, edge.from_index),
        "tgt": port(&edge.to, &edge.inport, edge.to_index),
        "data": data,
    })
}

/// A recording as a flowtrace: one `network:data` event per recorded message, in sequence
/// order; `graph_id` names the graph.
pub fn from_recording(graph_id: &str, start: &Start, records: &[(u64, Record)]) -> Value {
    let began = SystemTime::UNIX_EPOCH + Duration::from_millis(start.started_ms);
    let mut edges: Vec<_> = records
        .iter()
        .filter_map(|(_, record)| match record {
            Record::Edge(edge) => Some(edge),
            _ => None,
        })
        .collect();
    edges.sort_by_key(|edge| edge.seq);
    let mut end = began;
    let events: Vec<Value> = edges
        .into_iter()
        .filter_map(|record| {
            let edge = start.edges.get(record.edge as usize)?;
            let at = began + Duration::from_micros(record.micros);
            end = end.max(at);
            Some(event("network", "data", &data_payload(edge, graph_id, record.message.data()), graph_id, &rfc3339(at)))
        })
        .collect();
    document(graph_id, start.graph.clone(), Some(&rfc3339(began)), &rfc3339(end), events)
}

/// `time` as RFC 3339 UTC with milliseconds (`2026-11-27T21:05:00.123Z`), the protocol's
/// `time`.
pub fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_813_500_123)), "2026-11-27T21:05:00.123Z");
    }

    #[test]
    fn edge_ids_follow_the_fbp_dsl() {
        assert_eq!(edge_id("Hello", "out", None, "World", "in", Some(2)), "Hello() OUT -> IN[2] World()");
    }
}
