//! Messages an actor has waiting go to its plugin in one call (docs/abi.md, "Batches"); what
//! comes out is what one call per message gives: the same outputs in the same order, the state
//! handed from message to message, and a failure in the middle failing that message only.

use crate::run::support::{integers, network, run};
use reflow_abi::Message;

#[test]
fn a_batch_with_failures_in_the_middle_gives_what_one_call_per_message_gives() {
    // IIPs are all in the inboxes before the first activation, so each actor takes them in one
    // activation: one batch, broken by the failures.
    let iip = |data: serde_json::Value, process: &str, port: &str| {
        serde_json::json!({"data": data, "tgt": {"process": process, "port": port}})
    };
    let flow = serde_json::json!({"type": "Flow"});
    let connections = vec![
        iip(1.into(), "f", "in"),
        iip(2.into(), "f", "in"),
        iip("broken".into(), "f", "fail"),
        iip(3.into(), "f", "in"),
        iip(true.into(), "f", "panic"),
        iip(4.into(), "f", "in"),
        iip(5.into(), "f", "in"),
        iip(flow.clone(), "c", "increment"),
        iip(flow.clone(), "c", "increment"),
        iip(flow.clone(), "c", "increment"),
        iip(flow.clone(), "c", "decrement"),
        iip(flow.clone(), "c", "increment"),
    ];
    let graph = serde_json::json!({
        "processes": {
            "f": {"component": "failing.wasm"},
            "c": {"component": "counter.wasm", "metadata": {"config": {"initial_value": 10}}}
        },
        "connections": connections,
        "outports": {"echo": {"process": "f", "port": "out"}, "count": {"process": "c", "port": "count"}}
    });
    let (report, exported) = run(&network(&graph.to_string()));
    assert_eq!(integers(&exported, "echo"), [1, 2, 3, 4, 5]);
    assert_eq!(integers(&exported, "count"), [11, 12, 13, 12, 13], "each message saw the state the one before it left");
    let failures: Vec<_> = report.failures.iter().map(|f| (f.actor.as_str(), f.message.contains("broken"), f.message.contains("trap"))).collect();
    assert_eq!(failures, [("f", true, false), ("f", false, true)], "{:?}", report.failures);
    let dead: Vec<_> = report.dead_letters.iter().map(|d| d.payload.keys().cloned().collect::<Vec<_>>()).collect();
    assert_eq!(dead, [vec!["fail".to_string()], vec!["panic".to_string()]]);
    assert_eq!(report.dead_letters[0].payload["fail"], Message::String("broken".into()));
    let f = report.actors.iter().find(|a| a.name == "f").unwrap();
    assert_eq!((f.calls, f.errors, f.dead_letters), (7, 2, 2));
}
