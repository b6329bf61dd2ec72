//! component:list: the built-ins, then each plugin under the components folder, under its
//! FBP name (its relative path without `.wasm`), with ports and FBP types from its metadata.

use crate::support::{components_dir, plugin, start_server, Client};
use reflow_protocol::RuntimeConfig;
use serde_json::{json, Value};

fn list(c: &mut Client) -> (Vec<Value>, Vec<Value>, Value) {
    c.send("component", "list", json!({}));
    let (mut components, mut errors) = (Vec::new(), Vec::new());
    loop {
        let message = c.recv();
        match message["command"].as_str().unwrap() {
            "component" => components.push(message["payload"].clone()),
            "error" => errors.push(message["payload"].clone()),
            "componentsready" => return (components, errors, message["payload"].clone()),
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn builtins_and_plugins_are_listed_with_their_ports() {
    let dir = components_dir("list", &["doubler.wasm"]);
    std::fs::create_dir_all(dir.join("more")).unwrap();
    std::fs::copy(plugin("counter.wasm"), dir.join("more/counter.wasm")).unwrap();
    std::fs::write(dir.join("broken.wasm"), b"not wasm").unwrap();
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));

    let (components, errors, ready) = list(&mut c);
    assert_eq!(ready, json!(components.len()));
    let names: Vec<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for expected in ["core/Repeat", "core/Drop", "core/Output", "doubler", "more/counter"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let repeat = components.iter().find(|c| c["name"] == "core/Repeat").unwrap();
    assert_eq!(repeat["inPorts"][0]["id"], "in");
    assert_eq!(repeat["outPorts"][0]["id"], "out");
    let doubler = components.iter().find(|c| c["name"] == "doubler").unwrap();
    assert_eq!(doubler["inPorts"], json!([{"id": "input", "type": "int", "description": "Input port", "required": true, "addressable": false}]));
    assert_eq!(doubler["outPorts"][0]["type"], "int");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("broken.wasm"));
}

#[test]
fn without_a_components_folder_only_builtins_are_listed() {
    let mut c = Client::connect(start_server(RuntimeConfig::default()));
    let (components, errors, _) = list(&mut c);
    assert!(errors.is_empty());
    assert!(components.iter().all(|c| c["name"].as_str().unwrap().contains('/')), "built-ins only: {components:?}");
    assert!(components.iter().any(|c| c["name"] == "core/Drop"));
    // A plugin name then names nothing.
    c.send("graph", "clear", json!({"id": "g"}));
    c.recv();
    c.send("graph", "addnode", json!({"id": "d", "component": "doubler", "graph": "g"}));
    let refused = c.expect("graph", "error");
    assert!(refused["message"].as_str().unwrap().contains("--components"), "{refused:#}");
}

#[cfg(unix)]
#[test]
fn a_link_loop_under_the_components_folder_lists_each_plugin_once() {
    let dir = components_dir("link-loop", &["doubler.wasm"]);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::copy(plugin("counter.wasm"), dir.join("sub/counter.wasm")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/back")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("sub/up")).unwrap();
    // A link to a plugin file is a plugin like any other.
    std::os::unix::fs::symlink(dir.join("doubler.wasm"), dir.join("twice.wasm")).unwrap();
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));
    let (components, errors, _) = list(&mut c);
    assert!(errors.is_empty(), "{errors:?}");
    let mut plugins: Vec<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).filter(|n| !n.contains("core/") && !n.contains("reflow/")).collect();
    plugins.sort();
    assert_eq!(plugins, ["doubler", "sub/counter", "twice"]);
}

#[test]
fn plugins_are_used_by_fbp_name_or_by_path_and_unknown_names_are_refused() {
    let dir = components_dir("names", &["doubler.wasm"]);
    std::fs::create_dir_all(dir.join("core")).unwrap();
    // Named like a built-in: listed by its path (the built-in keeps the name), still usable.
    std::fs::copy(plugin("counter.wasm"), dir.join("core/Repeat.wasm")).unwrap();
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));
    let (components, _, _) = list(&mut c);
    let names: Vec<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"core/Repeat.wasm") && names.contains(&"core/Repeat"), "{names:?}");
    c.request("graph", "clear", json!({"id": "g"}), "clear");
    for (node, component) in [("a", "doubler"), ("b", "doubler.wasm"), ("c", "core/Repeat.wasm"), ("d", "core/Repeat")] {
        let added = c.request("graph", "addnode", json!({"id": node, "component": component, "graph": "g"}), "addnode");
        assert_eq!(added["component"], component, "echoed as the client named it");
    }
    for missing in ["tripler", "sub/doubler"] {
        c.send("graph", "addnode", json!({"id": "x", "component": missing, "graph": "g"}));
        let refused = c.expect("graph", "error");
        assert!(refused["message"].as_str().unwrap().contains(missing), "{refused:#}");
    }
}

#[test]
fn getsource_gives_a_plugins_project_source_its_metadata_or_a_builtins_description() {
    let dir = components_dir("source", &["doubler.wasm", "counter.wasm"]);
    // A project beside doubler.wasm, as `reflow new doubler` writes one.
    std::fs::create_dir_all(dir.join("doubler/src")).unwrap();
    std::fs::write(dir.join("doubler/Cargo.toml"), "[package]\nname = \"doubler\"\n").unwrap();
    std::fs::write(dir.join("doubler/src/lib.rs"), "// the doubler's code\n").unwrap();
    let mut c = Client::connect(start_server(RuntimeConfig { components: Some(dir), ..RuntimeConfig::default() }));

    let source = c.request("component", "getsource", json!({"name": "doubler"}), "source");
    assert_eq!(source, json!({"name": "doubler", "language": "rust", "code": "// the doubler's code\n"}));
    let source = c.request("component", "getsource", json!({"name": "counter"}), "source");
    assert_eq!(source["language"], "json");
    let metadata: Value = serde_json::from_str(source["code"].as_str().unwrap()).unwrap();
    assert_eq!(metadata["component"], "Counter");
    let source = c.request("component", "getsource", json!({"name": "core/Repeat"}), "source");
    assert_eq!((source["name"].as_str(), source["library"].as_str(), source["language"].as_str()), (Some("Repeat"), Some("core"), Some("text")));
    assert!(source["code"].as_str().unwrap().contains("Forwards each message unchanged"), "{source:#}");

    for name in ["nothing", "../doubler"] {
        c.send("component", "getsource", json!({"name": name}));
        assert!(c.expect("component", "error")["message"].as_str().unwrap().contains(name));
    }
    // Building a client's code is not offered without --allow-build: a clear refusal.
    c.send("component", "source", json!({"name": "tripler", "language": "rust", "code": "fn main() {}"}));
    let refused = c.expect("component", "error");
    assert!(refused["message"].as_str().unwrap().contains("--allow-build"), "{refused:#}");
}
