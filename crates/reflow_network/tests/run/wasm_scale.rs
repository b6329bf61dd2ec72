//! 10,000 WASM actors in one graph (issue 15): each a live doubler instance of one loaded
//! plugin, each handling one message, all fanned in to one sink. Near 9,350 actors this failed
//! while every instance reserved its own address space; the pool and the on-demand engine
//! (`reflow_script`'s `wasmtime_backend/alloc.rs`) hold them now.

use crate::run::support::{integers, network, run};

#[test]
fn ten_thousand_wasm_doublers_in_one_graph_each_handle_one_message() {
    const ACTORS: i64 = 10_000;
    let mut processes = serde_json::Map::new();
    let mut connections = Vec::new();
    for i in 0..ACTORS {
        processes.insert(format!("d{i}"), serde_json::json!({"component": "doubler.wasm"}));
        connections.push(serde_json::json!({"data": i, "tgt": {"process": format!("d{i}"), "port": "input"}}));
        connections.push(serde_json::json!({"src": {"process": format!("d{i}"), "port": "output"}, "tgt": {"process": "sink", "port": "in"}}));
    }
    processes.insert("sink".into(), serde_json::json!({"component": "core/Repeat"}));
    let graph = serde_json::json!({"processes": processes, "connections": connections, "outports": {"doubled": {"process": "sink", "port": "out"}}});
    let (report, exported) = run(&network(&graph.to_string()));
    assert!(report.failures.is_empty(), "{:?}", &report.failures[..report.failures.len().min(5)]);
    let mut doubled = integers(&exported, "doubled");
    doubled.sort_unstable();
    assert_eq!(doubled, (0..ACTORS).map(|i| i * 2).collect::<Vec<_>>(), "every actor answered its own message once");
    let doublers: Vec<_> = report.actors.iter().filter(|a| a.name.starts_with('d')).collect();
    assert_eq!(doublers.len(), ACTORS as usize);
    assert!(doublers.iter().all(|a| (a.received, a.calls, a.sent) == (1, 1, 1)), "each doubler handled exactly one message");
}
