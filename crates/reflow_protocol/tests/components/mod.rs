//! component:list: the built-ins, then each plugin under the components folder, named by
//! its relative path, with ports and FBP types from its metadata.

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
    for expected in ["core/Repeat", "core/Drop", "core/Output", "doubler.wasm", "more/counter.wasm"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let repeat = components.iter().find(|c| c["name"] == "core/Repeat").unwrap();
    assert_eq!(repeat["inPorts"][0]["id"], "in");
    assert_eq!(repeat["outPorts"][0]["id"], "out");
    let doubler = components.iter().find(|c| c["name"] == "doubler.wasm").unwrap();
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
    assert!(components.iter().all(|c| !c["name"].as_str().unwrap().ends_with(".wasm")));
    assert!(components.iter().any(|c| c["name"] == "core/Drop"));
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
    let mut plugins: Vec<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).filter(|n| n.ends_with(".wasm")).collect();
    plugins.sort();
    assert_eq!(plugins, ["doubler.wasm", "sub/counter.wasm", "twice.wasm"]);
}
