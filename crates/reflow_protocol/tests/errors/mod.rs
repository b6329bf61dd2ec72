//! What a client gets for bad input: a protocol `error`, nothing changed, the server up.

use crate::support::{start_server, Client};
use reflow_protocol::RuntimeConfig;
use serde_json::json;

#[test]
fn unknown_graph_missing_graph_and_unknown_node_get_the_protocols_errors() {
    let addr = start_server(RuntimeConfig::default());
    let mut c = Client::connect(addr);
    let error = c.request("graph", "addnode", json!({"id": "a", "component": "core/Drop", "graph": "nope"}), "error");
    assert_eq!(error, json!({"message": "Requested graph not found"}));
    let error = c.request("graph", "addnode", json!({"id": "a", "component": "core/Drop"}), "error");
    assert_eq!(error, json!({"message": "No graph specified"}));
    let error = c.request("network", "start", json!({"graph": "nope"}), "error");
    assert_eq!(error, json!({"message": "Requested graph not found"}));

    c.request("graph", "clear", json!({"id": "g"}), "clear");
    let error = c.request("graph", "removenode", json!({"id": "ghost", "graph": "g"}), "error");
    assert_eq!(error["message"], "Requested node not found: ghost");
    let error = c.request("graph", "addedge",
        json!({"src": {"node": "ghost", "port": "out"}, "tgt": {"node": "ghost", "port": "in"}, "graph": "g"}), "error");
    assert_eq!(error["message"], "Requested node not found: ghost");
    let error = c.request("graph", "addnode", json!({"id": "x", "component": "core/Nothing", "graph": "g"}), "error");
    assert!(error["message"].as_str().unwrap().contains("core/Nothing"));
    let error = c.request("graph", "addnode", json!({"id": "x", "graph": "g"}), "error");
    assert_eq!(error["message"], "Missing `component` in payload");

    // Nothing was added by the refused requests.
    c.request("graph", "addnode", json!({"id": "x", "component": "core/Drop", "graph": "g"}), "addnode");
    let error = c.request("graph", "addnode", json!({"id": "x", "component": "core/Drop", "graph": "g"}), "error");
    assert!(error["message"].as_str().unwrap().contains("already exists"));
}

#[test]
fn malformed_frames_get_runtime_errors_and_the_connection_goes_on() {
    let addr = start_server(RuntimeConfig::default());
    let mut c = Client::connect(addr);
    c.send_text("{not json");
    let error = c.recv();
    assert_eq!((error["protocol"].as_str(), error["command"].as_str()), (Some("runtime"), Some("error")));
    assert!(error["payload"]["message"].as_str().unwrap().starts_with("Malformed message"));
    c.send_text(r#"{"protocol": "graph"}"#);
    assert_eq!(c.recv()["command"], "error", "a message without command");
    c.send_text(r#"{"protocol": "graph", "command": "clear", "payload": [1]}"#);
    assert_eq!(c.recv()["payload"]["message"], "The payload must be a JSON object");
    c.send_binary(vec![0, 1, 2]);
    assert_eq!(c.recv()["command"], "error");
    c.send_text(r#"{"protocol": "nonsense", "command": "x", "payload": {}}"#);
    assert_eq!(c.recv()["protocol"], "runtime");
    c.send("graph", "frobnicate", json!({"graph": "none"}));
    assert_eq!(c.recv()["command"], "error");

    let runtime = c.request("runtime", "getruntime", json!({}), "runtime");
    assert_eq!(runtime["type"], "reflow");
    // And a second client is served too.
    let mut other = Client::connect(addr);
    other.request("runtime", "getruntime", json!({}), "runtime");
}

#[test]
fn a_secret_is_required_when_set_and_nothing_happens_without_it() {
    let addr = start_server(RuntimeConfig { secret: Some("s3cret".into()), ..RuntimeConfig::default() });
    let mut c = Client::connect(addr);
    let error = c.request("runtime", "getruntime", json!({}), "error");
    assert_eq!(error, json!({"message": "Invalid secret"}));
    c.secret = Some("wrong".into());
    let error = c.request("graph", "clear", json!({"id": "g"}), "error");
    assert_eq!(error, json!({"message": "Invalid secret"}));

    // An error and nothing else: the runtime answers a client's messages one at a time, in
    // order, so the next message after the error is the reply to the next request (`request`
    // asserts it), with no deadline to wait out.
    c.secret = Some("s3cret".into());
    let runtime = c.request("runtime", "getruntime", json!({}), "runtime");
    assert!(runtime.get("secret").is_none());
    // The refused clear created nothing.
    let error = c.request("graph", "addnode", json!({"id": "a", "component": "core/Drop", "graph": "g"}), "error");
    assert_eq!(error["message"], "Requested graph not found");
    // The legacy place, payload.secret, works too.
    c.secret = None;
    c.request("runtime", "getruntime", json!({"secret": "s3cret"}), "runtime");
}
