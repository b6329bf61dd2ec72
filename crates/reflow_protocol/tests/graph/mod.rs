//! graph:* edits over a real connection, and the graph they leave behind.

use crate::support::{check_schema, components_dir, start_server, Client};
use reflow_abi::Message;
use reflow_network::{ActorFailure, Network, Observer, RunOptions};
use reflow_protocol::{Runtime, RuntimeConfig};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

fn new_graph(client: &mut Client, id: &str) {
    let reply = client.request("graph", "clear", json!({"id": id, "name": "Test graph", "main": true}), "clear");
    assert_eq!(reply, json!({"id": id, "name": "Test graph", "main": true}));
}

#[test]
fn edits_are_echoed_with_the_schema_keys() {
    let addr = start_server(RuntimeConfig::default());
    let mut c = Client::connect(addr);
    new_graph(&mut c, "g");
    let node = c.request("graph", "addnode", json!({"id": "r", "component": "core/Repeat", "metadata": {"x": 1}, "graph": "g"}), "addnode");
    assert_eq!(node, json!({"id": "r", "component": "core/Repeat", "metadata": {"x": 1}, "graph": "g"}));
    c.request("graph", "addnode", json!({"id": "d", "component": "core/Drop", "graph": "g"}), "addnode");

    let edge = json!({"src": {"node": "r", "port": "out"}, "tgt": {"node": "d", "port": "in"}});
    let mut add = edge.clone();
    add["graph"] = json!("g");
    add["metadata"] = json!({"route": 3});
    assert_eq!(c.request("graph", "addedge", add.clone(), "addedge"), add);

    let mut change = edge.clone();
    change["graph"] = json!("g");
    change["metadata"] = json!({"route": null, "secure": true});
    let changed = c.request("graph", "changeedge", change, "changeedge");
    assert_eq!(changed["metadata"], json!({"secure": true}), "null deletes, other keys merge");

    let iip = c.request("graph", "addinitial", json!({"src": {"data": 5}, "tgt": {"node": "r", "port": "in"}, "graph": "g"}), "addinitial");
    assert_eq!(iip, json!({"src": {"data": 5}, "tgt": {"node": "r", "port": "in"}, "graph": "g"}));

    let renamed = c.request("graph", "renamenode", json!({"from": "d", "to": "sink", "graph": "g"}), "renamenode");
    assert_eq!(renamed, json!({"from": "d", "to": "sink", "graph": "g"}));

    // Each change of the graph's ports is followed by runtime:ports, the whole list.
    let port = |name: &str| json!({"id": name, "type": "all", "required": false, "addressable": false});
    c.request("graph", "addinport", json!({"public": "start", "node": "r", "port": "in", "graph": "g"}), "addinport");
    assert_eq!(c.expect("runtime", "ports"), json!({"graph": "g", "inPorts": [port("start")], "outPorts": []}));
    let renamed = c.request("graph", "renameinport", json!({"from": "start", "to": "go", "graph": "g"}), "renameinport");
    assert_eq!(renamed, json!({"from": "start", "to": "go", "graph": "g"}));
    assert_eq!(c.expect("runtime", "ports")["inPorts"], json!([port("go")]));
    c.request("graph", "addoutport", json!({"public": "result", "node": "r", "port": "out", "graph": "g"}), "addoutport");
    assert_eq!(c.expect("runtime", "ports")["outPorts"], json!([port("result")]));
    c.request("graph", "renameoutport", json!({"from": "result", "to": "res", "graph": "g"}), "renameoutport");
    c.expect("runtime", "ports");
    assert_eq!(c.request("graph", "removeoutport", json!({"public": "res", "graph": "g"}), "removeoutport"), json!({"public": "res", "graph": "g"}));
    assert_eq!(c.expect("runtime", "ports"), json!({"graph": "g", "inPorts": [port("go")], "outPorts": []}));

    let group = c.request("graph", "addgroup", json!({"name": "all", "nodes": ["r", "sink"], "graph": "g"}), "addgroup");
    assert_eq!(group, json!({"name": "all", "nodes": ["r", "sink"], "graph": "g"}));
    c.request("graph", "renamegroup", json!({"from": "all", "to": "both", "graph": "g"}), "renamegroup");
    let changed = c.request("graph", "changegroup", json!({"name": "both", "metadata": {"description": "d"}, "graph": "g"}), "changegroup");
    assert_eq!(changed, json!({"name": "both", "metadata": {"description": "d"}, "graph": "g"}));
    c.request("graph", "removegroup", json!({"name": "both", "graph": "g"}), "removegroup");

    // Removing a node announces what went with it, then the node.
    c.send("graph", "removenode", json!({"id": "r", "graph": "g"}));
    let mut commands = Vec::new();
    loop {
        let message = c.recv();
        commands.push(message["command"].as_str().unwrap().to_string());
        if message["command"] == "removenode" {
            assert_eq!(message["payload"], json!({"id": "r", "graph": "g"}));
            break;
        }
    }
    assert_eq!(commands, ["removeedge", "removeinitial", "removeinport", "removenode"]);
    assert_eq!(c.expect("runtime", "ports"), json!({"graph": "g", "inPorts": [], "outPorts": []}));
}

#[test]
fn node_metadata_merges_and_null_deletes() {
    let addr = start_server(RuntimeConfig::default());
    let mut c = Client::connect(addr);
    new_graph(&mut c, "m");
    c.request("graph", "addnode", json!({"id": "n", "component": "core/Drop", "metadata": {}, "graph": "m"}), "addnode");
    let one = c.request("graph", "changenode", json!({"id": "n", "metadata": {"a": 1}, "graph": "m"}), "changenode");
    assert_eq!(one["metadata"], json!({"a": 1}));
    let two = c.request("graph", "changenode", json!({"id": "n", "metadata": {"b": 2}, "graph": "m"}), "changenode");
    assert_eq!(two["metadata"], json!({"a": 1, "b": 2}));
    let three = c.request("graph", "changenode", json!({"id": "n", "metadata": {"a": null}, "graph": "m"}), "changenode");
    assert_eq!(three["metadata"], json!({"b": 2}));
}

/// Collects what reaches exported outports.
#[derive(Default)]
struct Exports(Mutex<Vec<(String, Message)>>);

impl Observer for Exports {
    fn exported(&self, port: &str, message: &Message) {
        self.0.lock().unwrap().push((port.to_string(), message.clone()));
    }
    fn failed(&self, failure: &ActorFailure) {
        panic!("{failure}");
    }
}

#[test]
fn an_edited_graph_exports_as_fbp_json_that_runs_like_a_graph_file() {
    let dir = components_dir("export", &["doubler.wasm"]);
    let runtime = Runtime::new(RuntimeConfig { components: Some(dir.clone()), ..RuntimeConfig::default() });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = runtime.hub().join(tx);
    let messages = [
        json!({"protocol": "graph", "command": "clear", "payload": {"id": "calc"}}),
        json!({"protocol": "graph", "command": "addnode", "payload": {"id": "double", "component": "doubler.wasm", "graph": "calc"}}),
        json!({"protocol": "graph", "command": "addinitial", "payload": {"src": {"data": 21}, "tgt": {"node": "double", "port": "input"}, "graph": "calc"}}),
        json!({"protocol": "graph", "command": "addoutport", "payload": {"public": "result", "node": "double", "port": "output", "graph": "calc"}}),
    ];
    for message in &messages {
        runtime.handle(&client, &message.to_string());
        let reply: Value = serde_json::from_str(&rx.try_recv().expect("a reply")).unwrap();
        check_schema(&reply);
        assert_eq!(reply["command"], message["command"], "{reply:#}");
    }

    // The export's type comes from the plugin's metadata (Integer).
    let ports: Value = serde_json::from_str(&rx.try_recv().expect("runtime:ports")).unwrap();
    check_schema(&ports);
    assert_eq!(ports["payload"]["outPorts"], json!([{"id": "result", "type": "int", "required": false, "addressable": false}]));

    let text = runtime.graph_json("calc").expect("the graph exists");
    let file = dir.join("calc.json");
    std::fs::write(&file, &text).unwrap();
    let network = Network::load(&file, Default::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let exports = Arc::new(Exports::default());
    let report = network.run(&RunOptions::default(), exports.clone()).unwrap();
    assert!(report.failures.is_empty());
    assert_eq!(*exports.0.lock().unwrap(), vec![("result".to_string(), Message::Integer(42))]);
}

#[test]
fn persist_writes_each_graph_as_fbp_json_that_reflow_runs_or_says_graphs_are_not_kept() {
    // Without the operator's --allow-persist: refused, nothing written.
    let dir = components_dir("persist-off", &["doubler.wasm"]);
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir.clone()), ..RuntimeConfig::default() }));
    new_graph(&mut c, "calc");
    c.send("network", "persist", json!({}));
    assert!(c.expect("network", "error")["message"].as_str().unwrap().contains("--allow-persist"));
    assert!(!dir.join("calc.json").exists());

    let dir = components_dir("persist-on", &["doubler.wasm"]);
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir.clone()), persist: true, ..RuntimeConfig::default() }));
    new_graph(&mut c, "my/calc");
    c.request("graph", "addnode", json!({"id": "d", "component": "doubler", "graph": "my/calc"}), "addnode");
    c.request("graph", "addinitial", json!({"src": {"data": 21}, "tgt": {"node": "d", "port": "input"}, "graph": "my/calc"}), "addinitial");
    c.request("graph", "addoutport", json!({"public": "result", "node": "d", "port": "output", "graph": "my/calc"}), "addoutport");
    c.expect("runtime", "ports");
    assert_eq!(c.request("network", "persist", json!({}), "persist"), json!({"graphs": ["my/calc"]}));
    let file = dir.join("my_calc.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"doubler.wasm\""), "plugins by path, as graph files name them: {text}");
    let exports = Arc::new(Exports::default());
    let report = Network::load(&file, Default::default()).unwrap().run(&RunOptions::default(), exports.clone()).unwrap();
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(*exports.0.lock().unwrap(), vec![("result".to_string(), Message::Integer(42))]);
}
