//! trace:* : network events kept while tracing is on, dumped as a flowtrace.

use crate::support::{components_dir, start_server, Client};
use reflow_protocol::RuntimeConfig;
use serde_json::{json, Value};

/// `calc`: 21 -> double (doubler.wasm) -> sink (core/Drop).
fn calc(c: &mut Client) {
    c.request("graph", "clear", json!({"id": "calc"}), "clear");
    c.request("graph", "addnode", json!({"id": "double", "component": "doubler.wasm", "graph": "calc"}), "addnode");
    c.request("graph", "addnode", json!({"id": "sink", "component": "core/Drop", "graph": "calc"}), "addnode");
    let edge = json!({"src": {"node": "double", "port": "output"}, "tgt": {"node": "sink", "port": "in"}, "graph": "calc"});
    c.request("graph", "addedge", edge, "addedge");
    c.request("graph", "addinitial", json!({"src": {"data": 21}, "tgt": {"node": "double", "port": "input"}, "graph": "calc"}), "addinitial");
}

fn run_to_end(c: &mut Client) {
    c.request("network", "start", json!({"graph": "calc"}), "started");
    c.expect("network", "stopped");
}

fn dump(c: &mut Client) -> Value {
    let reply = c.request("trace", "dump", json!({"graph": "calc", "type": "flowtrace.json"}), "dump");
    assert_eq!(reply["type"], "flowtrace.json");
    serde_json::from_str(reply["flowtrace"].as_str().unwrap()).expect("the flowtrace is JSON")
}

#[test]
fn a_traced_run_dumps_as_a_flowtrace_with_its_graph_and_events() {
    let dir = components_dir("trace", &["doubler.wasm"]);
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));
    calc(&mut c);
    let runtime = c.request("runtime", "getruntime", json!({}), "runtime");
    assert!(runtime["capabilities"].as_array().unwrap().contains(&json!("protocol:trace")));

    run_to_end(&mut c);
    assert_eq!(dump(&mut c)["events"], json!([]), "nothing is kept before trace:start");

    let started = c.request("trace", "start", json!({"graph": "calc"}), "start");
    assert_eq!(started, json!({"graph": "calc", "buffersize": 400}));
    run_to_end(&mut c);
    let trace = dump(&mut c);
    assert_eq!(trace["header"]["main"], "calc");
    assert_eq!(trace["header"]["graphs"]["calc"]["processes"]["double"]["component"], "doubler.wasm");
    let events: Vec<(String, Value)> = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["command"].as_str().unwrap().to_string(), e["payload"]["id"].clone()))
        .collect();
    assert_eq!(
        events,
        vec![
            ("started".to_string(), Value::Null),
            ("data".to_string(), json!("DATA -> INPUT double()")),
            ("data".to_string(), json!("double() OUTPUT -> IN sink()")),
            ("stopped".to_string(), Value::Null),
        ]
    );
    assert!(trace["events"].as_array().unwrap().iter().all(|e| e["graph"] == "calc" && e["time"].is_string()));

    c.request("trace", "stop", json!({"graph": "calc"}), "stop");
    run_to_end(&mut c);
    assert_eq!(dump(&mut c)["events"].as_array().unwrap().len(), 4, "stopped: nothing more kept");
    c.request("trace", "clear", json!({"graph": "calc"}), "clear");
    assert_eq!(dump(&mut c)["events"], json!([]));
}

#[test]
fn the_buffer_keeps_the_latest_events() {
    let dir = components_dir("trace-buffer", &["doubler.wasm"]);
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));
    calc(&mut c);
    c.request("trace", "start", json!({"graph": "calc", "buffersize": 2}), "start");
    run_to_end(&mut c);
    let commands: Vec<Value> = dump(&mut c)["events"].as_array().unwrap().iter().map(|e| e["command"].clone()).collect();
    assert_eq!(commands, vec![json!("data"), json!("stopped")]);
    let error = c.request("trace", "start", json!({"graph": "calc", "buffersize": 0}), "error");
    assert!(error["message"].as_str().unwrap().contains("buffersize"));
    let error = c.request("trace", "dump", json!({"graph": "nope"}), "error");
    assert_eq!(error["message"], "Requested graph not found");
}
