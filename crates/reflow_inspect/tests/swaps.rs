//! A hot swap shown to a page: the `swap` event naming the process and its new version, the
//! version in every later tick, the swap in the actor's details.

use super::support::{inspector, network_of, next_of, parts, plugin, request, Events};
use reflow_network::RunOptions;
use std::sync::atomic::Ordering;

#[test]
fn a_hot_swap_is_shown_on_the_swapped_actor() {
    let double = plugin("scale_double.wasm");
    let json = format!(
        r#"{{"processes": {{
            "numbers": {{"component": "reflow/Range", "metadata": {{"config": {{"start": 1, "end": 1000000000, "interval_ms": 1}}}}}},
            "scale": {{"component": "{}"}},
            "sink": {{"component": "core/Drop"}}}},
          "connections": [
            {{"src": {{"process": "numbers", "port": "out"}}, "tgt": {{"process": "scale", "port": "in"}}}},
            {{"src": {{"process": "scale", "port": "out"}}, "tgt": {{"process": "sink", "port": "in"}}}}]}}"#,
        double.display()
    );
    let mut network = network_of(&json);
    let reloader = network.hot_reload();
    let mut inspector = inspector(&network);
    inspector.show_swaps(reloader.clone());
    let (addr, token) = parts(&inspector.url());
    let options = RunOptions { probe: Some(inspector.probe()), observe_edges: true, ..RunOptions::default() };
    let stop = options.stop.clone();
    let observer = inspector.observer();
    let run = std::thread::spawn(move || network.run(&options, observer).unwrap());
    let mut events = Events::open(&addr, &token);
    let hello = next_of(&mut events, "hello");
    let viewer = hello["viewer"].as_u64().unwrap();
    // Version 1 until a swap, once scale has answered.
    let tick = loop {
        let tick = next_of(&mut events, "tick");
        if tick["actors"][1][0].as_u64().unwrap() > 0 {
            break tick;
        }
    };
    assert_eq!(tick["actors"][1][7], 1, "{tick}");

    let triple = std::fs::read(plugin("scale_triple.wasm")).unwrap();
    assert_eq!(reloader.replace(&double, triple).unwrap(), ["scale"]);
    let swap = next_of(&mut events, "swap");
    assert_eq!((swap["process"].as_str(), swap["version"].as_u64()), (Some("scale"), Some(2)), "{swap}");
    assert!(swap["plugin"].as_str().unwrap().ends_with("scale_double.wasm"), "the plugin file it was loaded as: {swap}");
    let tick = next_of(&mut events, "tick");
    assert_eq!((tick["actors"][0][7].as_u64(), tick["actors"][1][7].as_u64()), (Some(1), Some(2)), "only scale was swapped: {tick}");

    let (code, text) = request(&addr, "POST", &format!("/select?token={token}&viewer={viewer}&actor=scale"), &addr, &[]);
    assert_eq!(code, 204, "{text}");
    let detail = next_of(&mut events, "detail");
    assert_eq!(detail["swaps"].as_array().map(Vec::len), Some(1), "{detail}");
    assert_eq!(detail["swaps"][0]["version"], 2);

    stop.store(true, Ordering::SeqCst);
    let report = run.join().unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    inspector.finish(Ok(&report));
    assert_eq!(reloader.swaps().len(), 1);
}
