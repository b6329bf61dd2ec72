//! network:* over WASM actors built with graph:* messages.

use crate::support::{components_dir, start_server, Client};
use reflow_protocol::RuntimeConfig;
use serde_json::json;
use std::time::Duration;

/// `calc`: 21 -> double (doubler.wasm) -> show (core/Output) -> sink (core/Drop).
fn doubler_graph(c: &mut Client) {
    c.request("graph", "clear", json!({"id": "calc"}), "clear");
    c.request("graph", "addnode", json!({"id": "double", "component": "doubler.wasm", "graph": "calc"}), "addnode");
    c.request("graph", "addnode", json!({"id": "show", "component": "core/Output", "graph": "calc"}), "addnode");
    c.request("graph", "addnode", json!({"id": "sink", "component": "core/Drop", "graph": "calc"}), "addnode");
    let edge = |a: &str, ap: &str, b: &str, bp: &str| json!({"src": {"node": a, "port": ap}, "tgt": {"node": b, "port": bp}, "graph": "calc"});
    c.request("graph", "addedge", edge("double", "output", "show", "in"), "addedge");
    c.request("graph", "addedge", edge("show", "out", "sink", "in"), "addedge");
    c.request("graph", "addinitial", json!({"src": {"data": 21}, "tgt": {"node": "double", "port": "input"}, "graph": "calc"}), "addinitial");
}

fn server_with_doubler(test: &str) -> Client {
    let dir = components_dir(test, &["doubler.wasm", "failing.wasm"]);
    Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }))
}

#[test]
fn a_started_wasm_network_reports_its_data_output_and_end() {
    let mut c = server_with_doubler("data");
    doubler_graph(&mut c);
    c.request("graph", "addoutport", json!({"public": "doubled", "node": "double", "port": "output", "graph": "calc"}), "addoutport");
    c.expect("runtime", "ports");
    c.send("network", "start", json!({"graph": "calc"}));
    let started = c.recv();
    assert_eq!(started["command"], "started", "started comes first: {started:#}");
    assert_eq!(started["payload"]["graph"], "calc");

    let mut data = Vec::new();
    let mut output = Vec::new();
    let mut packets = Vec::new();
    let ended = loop {
        let message = c.recv();
        match message["command"].as_str().unwrap() {
            "data" => data.push(message["payload"].clone()),
            "output" => output.push(message["payload"]["message"].clone()),
            "packet" => packets.push(message["payload"].clone()),
            "stopped" => break message["payload"].clone(),
            other => panic!("unexpected {other}: {message:#}"),
        }
    };
    assert_eq!(
        data,
        vec![
            json!({"id": "DATA -> INPUT double()", "graph": "calc", "tgt": {"node": "double", "port": "input"}, "data": 21}),
            json!({"id": "double() OUTPUT -> IN show()", "graph": "calc",
                   "src": {"node": "double", "port": "output"}, "tgt": {"node": "show", "port": "in"}, "data": 42}),
            json!({"id": "show() OUT -> IN sink()", "graph": "calc",
                   "src": {"node": "show", "port": "out"}, "tgt": {"node": "sink", "port": "in"}, "data": 42}),
        ]
    );
    assert_eq!(output, vec![json!("42")]);
    assert_eq!(packets, vec![json!({"port": "doubled", "event": "data", "payload": 42, "graph": "calc"})], "exported outport");
    assert_eq!((ended["started"].clone(), ended["running"].clone()), (json!(true), json!(false)), "ended by itself");

    let status = c.request("network", "getstatus", json!({"graph": "calc"}), "status");
    assert_eq!(status, json!({"graph": "calc", "running": false, "started": true}));
    let stopped = c.request("network", "stop", json!({"graph": "calc"}), "stopped");
    assert_eq!((stopped["started"].clone(), stopped["running"].clone()), (json!(false), json!(false)));
}

#[test]
fn only_chosen_edges_are_reported() {
    let mut c = server_with_doubler("edges");
    doubler_graph(&mut c);
    let chosen = json!([{"src": {"node": "show", "port": "out"}, "tgt": {"node": "sink", "port": "in"}}]);
    let reply = c.request("network", "edges", json!({"graph": "calc", "edges": chosen}), "edges");
    assert_eq!(reply, json!({"graph": "calc", "edges": chosen}));
    c.send("network", "start", json!({"graph": "calc"}));
    let mut ids = Vec::new();
    loop {
        let message = c.recv();
        match message["command"].as_str().unwrap() {
            "data" => ids.push(message["payload"]["id"].as_str().unwrap().to_string()),
            "stopped" => break,
            _ => {}
        }
    }
    // IIPs are always reported; of the edges, only the chosen one.
    assert_eq!(ids, ["DATA -> INPUT double()", "show() OUT -> IN sink()"]);
}

#[test]
fn a_network_that_would_run_for_ages_stops_on_request() {
    let mut c = server_with_doubler("endless");
    c.request("graph", "clear", json!({"id": "endless"}), "clear");
    let range = json!({"id": "count", "component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 4_000_000_000_000_000_000i64}}, "graph": "endless"});
    c.request("graph", "addnode", range, "addnode");
    c.request("graph", "addnode", json!({"id": "double", "component": "doubler.wasm", "graph": "endless"}), "addnode");
    c.request("graph", "addnode", json!({"id": "sink", "component": "core/Drop", "graph": "endless"}), "addnode");
    let edge = |a: &str, ap: &str, b: &str, bp: &str| json!({"src": {"node": a, "port": ap}, "tgt": {"node": b, "port": bp}, "graph": "endless"});
    c.request("graph", "addedge", edge("count", "out", "double", "input"), "addedge");
    c.request("graph", "addedge", edge("double", "output", "sink", "in"), "addedge");
    // Report the range's edge only: its data events show the network counting.
    let counted = json!([{"src": {"node": "count", "port": "out"}, "tgt": {"node": "double", "port": "input"}}]);
    c.request("network", "edges", json!({"graph": "endless", "edges": counted}), "edges");

    c.request("network", "start", json!({"graph": "endless"}), "started");
    for _ in 0..3 {
        c.expect("network", "data");
    }
    c.send("network", "getstatus", json!({"graph": "endless"}));
    let status = c.expect("network", "status");
    assert_eq!(status, json!({"graph": "endless", "running": true, "started": true}), "still counting");

    c.send("network", "stop", json!({"graph": "endless"}));
    let stopped = c.expect("network", "stopped");
    assert_eq!((stopped["started"].clone(), stopped["running"].clone()), (json!(false), json!(false)));
    c.send("network", "getstatus", json!({"graph": "endless"}));
    assert_eq!(c.expect("network", "status"), json!({"graph": "endless", "running": false, "started": false}));

    // A new start waits for the stopped run's actors to end, so everything that run sends
    // comes before this `started`: here its end can no longer be announced.
    c.send("network", "start", json!({"graph": "endless"}));
    let (between, _) = c.until("network", "started", Duration::from_secs(10));
    let announced: Vec<&serde_json::Value> = between.iter().filter(|m| m["command"] != "data").collect();
    assert!(announced.is_empty(), "the end of a stopped run is not announced twice: {announced:#?}");
    c.send("network", "stop", json!({"graph": "endless"}));
    c.expect("network", "stopped");
}

#[test]
fn a_failing_actor_is_reported_by_name_and_an_invalid_graph_cannot_start() {
    let mut c = server_with_doubler("failures");
    c.request("graph", "clear", json!({"id": "bad"}), "clear");
    c.request("graph", "addnode", json!({"id": "breaks", "component": "failing.wasm", "graph": "bad"}), "addnode");
    // failing.wasm returns an error with the text it gets on `fail`.
    c.request("graph", "addinitial", json!({"src": {"data": "boom"}, "tgt": {"node": "breaks", "port": "fail"}, "graph": "bad"}), "addinitial");
    c.request("network", "start", json!({"graph": "bad"}), "started");
    let error = c.expect("network", "processerror");
    assert_eq!(error["id"], "breaks");
    assert_eq!(error["graph"], "bad");
    assert!(error["error"].as_str().unwrap().contains("boom"), "{error:#}");
    c.expect("network", "stopped");

    c.request("graph", "addnode", json!({"id": "ghost", "component": "missing.wasm", "graph": "bad"}), "addnode");
    let error = c.request("network", "start", json!({"graph": "bad"}), "error");
    assert!(error["message"].as_str().unwrap().contains("missing.wasm"), "{error:#}");
    assert_eq!(error["graph"], "bad");
}

#[test]
fn a_client_that_does_not_read_misses_packets_but_not_replies() {
    use reflow_protocol::{Runtime, MAX_BACKLOG};
    let dir = components_dir("backlog", &["doubler.wasm"]);
    let runtime = Runtime::new(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = runtime.hub().join(tx);
    let send = |protocol: &str, command: &str, payload: serde_json::Value| {
        runtime.handle(&client, &json!({"protocol": protocol, "command": command, "payload": payload}).to_string());
    };
    send("graph", "clear", json!({"id": "flood"}));
    send("graph", "addnode", json!({"id": "count", "component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 1_000_000_000_000i64}}, "graph": "flood"}));
    send("graph", "addnode", json!({"id": "sink", "component": "core/Drop", "graph": "flood"}));
    send("graph", "addedge", json!({"src": {"node": "count", "port": "out"}, "tgt": {"node": "sink", "port": "in"}, "graph": "flood"}));
    send("network", "start", json!({"graph": "flood"}));
    // The test takes messages off the queue but never counts them written (`Backlog::written`),
    // so to the hub this is a client that reads nothing: the message that makes its backlog
    // exceed MAX_BACKLOG is the last event it may be sent that can be dropped.
    let tokio = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let mut next = || {
        // A hang guard, not a timing claim: the range sends as fast as its actors go.
        let text = tokio.block_on(async { tokio::time::timeout(Duration::from_secs(60), rx.recv()).await });
        serde_json::from_str::<serde_json::Value>(&text.expect("no message within the 60 s hang guard").unwrap()).unwrap()
    };
    let mut texts = Vec::new();
    while texts.len() <= MAX_BACKLOG {
        texts.push(next());
    }
    send("network", "getstatus", json!({"graph": "flood"}));
    send("network", "stop", json!({"graph": "flood"}));
    let full = texts.len();
    while texts.last().unwrap()["command"] != "stopped" {
        texts.push(next());
    }

    let data = texts.iter().filter(|m| m["command"] == "data").count();
    assert!(data > 1000, "packets were reported: {data}");
    let after: Vec<&str> = texts[full..].iter().map(|m| m["command"].as_str().unwrap()).collect();
    assert_eq!(after, ["status", "stopped"], "past the backlog, packets are dropped and replies and control events are not");
}

#[test]
fn a_cyclic_graph_runs_until_stopped() {
    // a -> b -> a with one IIP: the packet goes round for ever (a cycle is legal; it would
    // only end by quiescence), each lap reported as data on both edges.
    let mut c = server_with_doubler("cycle");
    c.request("graph", "clear", json!({"id": "ring"}), "clear");
    for node in ["a", "b"] {
        c.request("graph", "addnode", json!({"id": node, "component": "core/Repeat", "graph": "ring"}), "addnode");
    }
    let edge = |a: &str, b: &str| json!({"src": {"node": a, "port": "out"}, "tgt": {"node": b, "port": "in"}, "graph": "ring"});
    c.request("graph", "addedge", edge("a", "b"), "addedge");
    c.request("graph", "addedge", edge("b", "a"), "addedge");
    c.request("graph", "addinitial", json!({"src": {"data": 7}, "tgt": {"node": "a", "port": "in"}, "graph": "ring"}), "addinitial");
    c.send("network", "start", json!({"graph": "ring"}));
    let mut laps = 0;
    while laps < 50 {
        let message = c.recv();
        assert_ne!(message["command"], "error", "a cycle must start: {message:#}");
        if message["command"] == "data" && message["payload"]["tgt"]["node"] == "a" {
            assert_eq!(message["payload"]["data"], json!(7));
            laps += 1;
        }
    }
    c.send("network", "stop", json!({"graph": "ring"}));
    loop {
        let message = c.recv();
        if message["command"] == "stopped" {
            break;
        }
    }
}

/// `n`: IN -> double (doubler, by its FBP name) -> OUT, exported both ways.
fn exported_doubler(c: &mut Client) {
    c.request("graph", "clear", json!({"id": "n"}), "clear");
    c.request("graph", "addnode", json!({"id": "double", "component": "doubler", "graph": "n"}), "addnode");
    c.request("graph", "addinport", json!({"public": "in", "node": "double", "port": "input", "graph": "n"}), "addinport");
    c.expect("runtime", "ports");
    c.request("graph", "addoutport", json!({"public": "out", "node": "double", "port": "output", "graph": "n"}), "addoutport");
    let ports = c.expect("runtime", "ports");
    assert_eq!(ports["inPorts"][0]["type"], "int", "typed from the plugin: {ports:#}");
}

#[test]
fn packets_sent_into_an_exported_inport_come_out_of_the_exported_outport() {
    let mut c = server_with_doubler("packets");
    exported_doubler(&mut c);
    // Not running yet: refused.
    c.send("runtime", "packet", json!({"graph": "n", "port": "in", "event": "data", "payload": 1}));
    let refused = c.expect("runtime", "error");
    assert!(refused["message"].as_str().unwrap().contains("not running"), "{refused:#}");

    c.request("network", "start", json!({"graph": "n"}), "started");
    let mut sent = Vec::new();
    for (event, payload) in [("connect", None), ("begingroup", Some(json!("batch"))), ("data", Some(json!(21))), ("endgroup", Some(json!("batch"))), ("disconnect", None)] {
        let mut packet = json!({"graph": "n", "port": "in", "event": event});
        if let Some(payload) = &payload {
            packet["payload"] = payload.clone();
        }
        c.send("runtime", "packet", packet.clone());
        sent.push(packet);
    }
    // Each is acknowledged in order; the doubled data may come out between the acknowledgements.
    let (mut acknowledged, mut out) = (Vec::new(), Vec::new());
    while acknowledged.len() < sent.len() || out.is_empty() {
        let message = c.recv();
        match (message["protocol"].as_str(), message["command"].as_str()) {
            (Some("runtime"), Some("packetsent")) => acknowledged.push(message["payload"].clone()),
            (Some("runtime"), Some("packet")) => out.push(message["payload"].clone()),
            _ => panic!("unexpected {message:#}"),
        }
    }
    assert_eq!(acknowledged, sent, "packetsent echoes each event");
    assert_eq!(out, vec![json!({"port": "out", "event": "data", "payload": 42, "graph": "n"})]);
    // The network waits for more instead of ending: a second packet is doubled too.
    c.request("runtime", "packet", json!({"graph": "n", "port": "in", "event": "data", "payload": -4}), "packetsent");
    assert_eq!(c.expect("runtime", "packet")["payload"], -8);
    let status = c.request("network", "getstatus", json!({"graph": "n"}), "status");
    assert_eq!(status["running"], true, "{status:#}");

    for (packet, why) in [
        (json!({"graph": "n", "port": "nope", "event": "data", "payload": 1}), "nope"),
        (json!({"graph": "n", "port": "in", "event": "shout", "payload": 1}), "shout"),
        (json!({"graph": "missing", "port": "in", "event": "data", "payload": 1}), "not found"),
    ] {
        c.send("runtime", "packet", packet);
        let refused = c.expect("runtime", "error");
        assert!(refused["message"].as_str().unwrap().contains(why), "{why}: {refused:#}");
    }
    c.request("network", "stop", json!({"graph": "n"}), "stopped");
    c.send("runtime", "packet", json!({"graph": "n", "port": "in", "event": "data", "payload": 1}));
    assert!(c.expect("runtime", "error")["message"].as_str().unwrap().contains("not running"));
}

#[test]
fn a_graph_without_exported_inports_still_ends_by_itself() {
    let mut c = server_with_doubler("ends");
    doubler_graph(&mut c);
    c.request("network", "start", json!({"graph": "calc"}), "started");
    let stopped = c.expect("network", "stopped");
    assert_eq!(stopped["running"], false);
}
