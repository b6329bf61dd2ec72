//! Who may drive the runtime, and with what (docs/security.md, "The protocol server"): raw
//! WebSocket clients on 127.0.0.1 playing a hostile web page (foreign `Origin`), a DNS
//! rebinding (foreign `Host`), a spy without the secret, a client sending huge frames, and a
//! client asking for more than the operator allowed.

use crate::support::{components_dir, serve_with, start_server, Client};
use reflow_protocol::{Allowlist, RuntimeConfig, ServeConfig};
use reflow_network::{Grants, Limits};
use serde_json::{json, Value};
use std::time::Duration;

fn edge(graph: &str, a: &str, ap: &str, b: &str, bp: &str) -> Value {
    json!({"src": {"node": a, "port": ap}, "tgt": {"node": b, "port": bp}, "graph": graph})
}

#[test]
fn a_page_from_a_foreign_origin_or_a_rebound_host_name_is_refused_at_the_handshake() {
    let addr = serve_with(ServeConfig {
        allow: Allowlist { origins: vec!["https://app.flowhub.io".into()], hosts: vec![] },
        ..ServeConfig::default()
    });
    let port = addr.port();
    let own_host = format!("127.0.0.1:{port}");
    let refused = [
        vec![("Origin", "http://evil.example")],
        vec![("Origin", "null")],
        vec![("Origin", "http://localhost.evil.example")],
        // DNS rebinding: the page's origin and the Host both name the attacker's domain.
        vec![("Origin", "http://rebind.evil.example"), ("Host", "rebind.evil.example")],
        vec![("Host", "rebind.evil.example")],
    ];
    for headers in refused {
        let headers: Vec<(&'static str, &str)> = headers.into_iter().map(|(k, v)| (k, v)).collect();
        assert_eq!(Client::connect_with(addr, &headers).err(), Some(403), "{headers:?}");
    }
    let local_page = format!("http://localhost:{port}");
    for headers in [vec![], vec![("Origin", local_page.as_str())], vec![("Origin", "https://app.flowhub.io"), ("Host", own_host.as_str())]] {
        let mut c = Client::connect_with(addr, &headers).unwrap_or_else(|status| panic!("{headers:?} refused with {status}"));
        c.request("runtime", "getruntime", json!({}), "runtime");
    }
}

#[test]
fn without_the_secret_a_connection_gets_nothing_but_its_own_errors() {
    let addr = start_server(RuntimeConfig { secret: Some("s3cret".into()), ..RuntimeConfig::default() });
    let mut spy = Client::connect(addr);
    assert_eq!(spy.request("graph", "clear", json!({"id": "calc"}), "error"), json!({"message": "Invalid secret"}));

    let mut owner = Client::connect(addr);
    owner.secret = Some("s3cret".into());
    owner.request("graph", "clear", json!({"id": "calc"}), "clear");
    owner.request("graph", "addnode", json!({"id": "show", "component": "core/Output", "graph": "calc"}), "addnode");
    owner.request("graph", "addnode", json!({"id": "sink", "component": "core/Drop", "graph": "calc"}), "addnode");
    owner.request("graph", "addedge", edge("calc", "show", "out", "sink", "in"), "addedge");
    owner.request("graph", "addinitial", json!({"src": {"data": {"token": "t0ps3cret"}}, "tgt": {"node": "show", "port": "in"}, "graph": "calc"}), "addinitial");
    owner.send("network", "start", json!({"graph": "calc"}));
    owner.expect("network", "started");
    assert_eq!(owner.expect("network", "output")["message"], r#"{"token":"t0ps3cret"}"#);
    owner.expect("network", "stopped");

    // Every event went to the hub's clients before `stopped` reached the owner, so had the spy
    // been one, they would stand before the answer to its next message.
    spy.secret = Some("wrong".into());
    spy.send("runtime", "getruntime", json!({}));
    let next = spy.recv();
    assert_eq!((next["protocol"].as_str(), next["command"].as_str()), (Some("runtime"), Some("error")), "{next:#}");
    spy.send("network", "getstatus", json!({"graph": "calc"}));
    let reply = spy.recv();
    assert_eq!(reply["payload"], json!({"message": "Invalid secret"}), "only the answer to its own message: {reply:#}");
}

#[test]
fn oversize_frames_close_the_connection_before_they_are_parsed() {
    let addr = serve_with(ServeConfig {
        runtime: RuntimeConfig { secret: Some("s3cret".into()), ..RuntimeConfig::default() },
        max_message_bytes: 64 * 1024,
        ..ServeConfig::default()
    });
    // Without the secret, and a frame of 100 KiB that would be a valid addnode.
    let mut c = Client::connect(addr);
    let huge = json!({"protocol": "graph", "command": "addnode", "payload": {"id": "x".repeat(100 * 1024), "component": "core/Drop"}});
    let _ = c.try_send_text(huge.to_string());
    // Parsed, it would have been answered "Invalid secret"; instead the connection ends (with
    // 1009 `message too big`, unless the close races the rest of the frame and resets it).
    let code = c.closed_by_server();
    assert!(matches!(code, None | Some(1009)), "{code:?}");
    // The server goes on, and a message within the limit is served.
    let mut other = Client::connect(addr);
    other.secret = Some("s3cret".into());
    let payload = json!({"id": "g", "name": "y".repeat(60 * 1024)});
    other.request("graph", "clear", payload, "clear");
}

/// Builds graph `g` with one `doubler.wasm` node whose metadata is `metadata`, starts it, and
/// returns the first `network:error` or `network:started`.
fn start_doubler_with(c: &mut Client, metadata: Value) -> Value {
    // The events of the run before may still come first.
    c.send("graph", "clear", json!({"id": "g"}));
    c.expect("graph", "clear");
    c.send("graph", "addnode", json!({"id": "d", "component": "doubler.wasm", "metadata": metadata, "graph": "g"}));
    c.expect("graph", "addnode");
    c.send("graph", "addinitial", json!({"src": {"data": 21}, "tgt": {"node": "d", "port": "input"}, "graph": "g"}));
    c.expect("graph", "addinitial");
    c.send("network", "start", json!({"graph": "g"}));
    loop {
        let message = c.recv();
        if message["protocol"] == "network" && (message["command"] == "error" || message["command"] == "started") {
            return message;
        }
    }
}

#[test]
fn a_client_gets_grants_and_limits_only_within_the_operators_policy() {
    let dir = components_dir("policy", &["doubler.wasm"]);
    let defaults = RuntimeConfig { components: Some(dir.clone()), ..RuntimeConfig::default() };
    let mut c = Client::connect(start_server(defaults.clone()));
    for (metadata, key) in [
        (json!({"sandbox": {"grants": ["fs:ro:/=/host"]}}), "sandbox.grants"),
        (json!({"sandbox": {"grants": ["http:*"]}}), "sandbox.grants"),
        (json!({"sandbox": {"timeout_ms": 86_400_000}}), "sandbox.timeout_ms"),
        (json!({"sandbox": {"max_memory_pages": 65_536}}), "sandbox.max_memory_pages"),
    ] {
        let reply = start_doubler_with(&mut c, metadata.clone());
        assert_eq!(reply["command"], "error", "{metadata}: {reply:#}");
        let message = reply["payload"]["message"].as_str().unwrap();
        assert!(message.contains(key) && message.contains("what the operator allows"), "{message}");
    }
    // Tighter than the run's limits is always fine.
    assert_eq!(start_doubler_with(&mut c, json!({"sandbox": {"timeout_ms": 100}}))["command"], "started");

    // What the operator allowed on the command line may be asked for.
    let allowed = RuntimeConfig {
        allowed_grants: Grants::parse(&[format!("fs:ro:{}=/data", dir.display())]).unwrap(),
        limit_ceiling: Some(Limits { call_timeout: Duration::from_secs(60), ..Limits::default() }),
        ..defaults
    };
    let mut c = Client::connect(start_server(allowed));
    let inside = format!("fs:ro:{}=/d", dir.display());
    let reply = start_doubler_with(&mut c, json!({"sandbox": {"grants": [inside], "timeout_ms": 60_000}}));
    assert_eq!(reply["command"], "started", "{reply:#}");
    let reply = start_doubler_with(&mut c, json!({"sandbox": {"grants": ["fs:rw:/tmp=/tmp"]}}));
    assert_eq!(reply["command"], "error", "{reply:#}");
}

#[test]
fn plugins_come_only_from_the_components_folder() {
    let dir = components_dir("paths", &["doubler.wasm"]);
    let outside = dir.join("doubler.wasm").display().to_string();
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));
    c.request("graph", "clear", json!({"id": "g"}), "clear");
    for component in [outside.as_str(), "../paths/doubler.wasm", "sub/../../x.wasm", "./doubler.wasm"] {
        let error = c.request("graph", "addnode", json!({"id": "p", "component": component, "graph": "g"}), "error");
        assert!(error["message"].as_str().unwrap().contains("inside the components folder"), "{component}: {error:#}");
    }
    c.request("graph", "addnode", json!({"id": "p", "component": "doubler.wasm", "graph": "g"}), "addnode");

    let mut c = Client::connect(start_server(RuntimeConfig::default()));
    c.request("graph", "clear", json!({"id": "g"}), "clear");
    let error = c.request("graph", "addnode", json!({"id": "p", "component": "doubler.wasm", "graph": "g"}), "error");
    assert!(error["message"].as_str().unwrap().contains("--components"), "{error:#}");
}

#[test]
fn file_components_only_with_allow_files_and_only_inside_it() {
    let mut c = Client::connect(start_server(RuntimeConfig::default()));
    c.request("graph", "clear", json!({"id": "g"}), "clear");
    for component in ["reflow/WriteJsonLines", "reflow/ReadJsonLines"] {
        let error = c.request("graph", "addnode", json!({"id": "f", "component": component, "graph": "g"}), "error");
        assert!(error["message"].as_str().unwrap().contains("--allow-files"), "{error:#}");
    }

    let files = components_dir("files", &[]);
    let victim = files.join("../reflow-protocol-victim.jsonl");
    let mut c = Client::connect(start_server(RuntimeConfig { files: Some(files.clone()), ..RuntimeConfig::default() }));
    let write_to = |c: &mut Client, path: &str| -> Value {
        c.request("graph", "clear", json!({"id": "w"}), "clear");
        let node = json!({"id": "f", "component": "reflow/WriteJsonLines", "metadata": {"config": {"path": path}}, "graph": "w"});
        c.request("graph", "addnode", node, "addnode");
        c.request("graph", "addinitial", json!({"src": {"data": {"n": 1}}, "tgt": {"node": "f", "port": "in"}, "graph": "w"}), "addinitial");
        c.send("network", "start", json!({"graph": "w"}));
        loop {
            let message = c.recv();
            if message["protocol"] == "network" && matches!(message["command"].as_str(), Some("error" | "stopped")) {
                return message;
            }
        }
    };
    for path in ["../reflow-protocol-victim.jsonl", victim.to_str().unwrap(), "-"] {
        let reply = write_to(&mut c, path);
        assert_eq!(reply["command"], "error", "{path}: {reply:#}");
    }
    assert!(!victim.exists(), "nothing was written outside the folder");
    assert_eq!(write_to(&mut c, "out.jsonl")["command"], "stopped");
    assert_eq!(std::fs::read_to_string(files.join("out.jsonl")).unwrap(), "{\"type\":\"Object\",\"data\":{\"n\":1}}\n");
}

#[test]
fn a_start_that_compiles_for_long_does_not_hold_up_other_clients() {
    // loop_metadata.wasm spins in get_metadata until the call time limit ends it. The limit is
    // beyond the clients' 10 s hang guard, so a start that held the lock every graph shares
    // while compiling would fail this test (whatever the machine's speed).
    let dir = components_dir("slow-start", &["loop_metadata.wasm"]);
    let limits = Limits { call_timeout: Duration::from_secs(30), ..Limits::default() };
    let addr = start_server(RuntimeConfig { components: Some(dir), limits, ..RuntimeConfig::default() });
    let mut slow = Client::connect(addr);
    slow.request("graph", "clear", json!({"id": "slow"}), "clear");
    slow.request("graph", "addnode", json!({"id": "spin", "component": "loop_metadata.wasm", "graph": "slow"}), "addnode");
    slow.send("network", "start", json!({"graph": "slow"}));
    // Its `network:error` comes once the compilation gives up; the other client's edits are
    // answered meanwhile.
    let mut other = Client::connect(addr);
    other.request("graph", "clear", json!({"id": "quick"}), "clear");
    other.request("graph", "addnode", json!({"id": "x", "component": "core/Drop", "graph": "quick"}), "addnode");
    assert_eq!(other.request("network", "getstatus", json!({"graph": "quick"}), "status")["running"], false);
}

#[test]
fn typing_exported_ports_of_a_plugin_that_compiles_for_long_holds_up_no_other_client() {
    // loop_metadata.wasm spins in get_metadata until the call time limit ends it. The limit is
    // beyond the clients' 10 s hang guard, so a lock held while compiling fails this test.
    let dir = components_dir("slow-ports", &["loop_metadata.wasm"]);
    let limits = Limits { call_timeout: Duration::from_secs(30), ..Limits::default() };
    let addr = start_server(RuntimeConfig { components: Some(dir), limits, ..RuntimeConfig::default() });
    let mut slow = Client::connect(addr);
    slow.request("graph", "clear", json!({"id": "slow"}), "clear");
    slow.request("graph", "addnode", json!({"id": "spin", "component": "loop_metadata", "graph": "slow"}), "addnode");
    // Answered at once; its runtime:ports follows once the plugin's metadata is known.
    slow.request("graph", "addinport", json!({"public": "in", "node": "spin", "port": "in", "graph": "slow"}), "addinport");
    let mut other = Client::connect(addr);
    other.request("graph", "clear", json!({"id": "quick"}), "clear");
    other.request("graph", "addnode", json!({"id": "x", "component": "core/Drop", "graph": "quick"}), "addnode");
    other.request("graph", "addinport", json!({"public": "in", "node": "x", "port": "in", "graph": "quick"}), "addinport");
    assert_eq!(other.expect("runtime", "ports")["inPorts"][0]["type"], "all");
}
