use super::support::*;

#[test]
fn a_four_stage_wasm_pipeline_produces_the_exact_output_in_order() {
    let net = network(
        r#"{
        "processes": {
            "src": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 300}}},
            "d1": {"component": "doubler.wasm"},
            "d2": {"component": "doubler.wasm"},
            "d3": {"component": "doubler.wasm"},
            "rep": {"component": "core/Repeat"}
        },
        "connections": [
            {"src": {"process": "src", "port": "out"}, "tgt": {"process": "d1", "port": "input"}},
            {"src": {"process": "d1", "port": "output"}, "tgt": {"process": "d2", "port": "input"}},
            {"src": {"process": "d2", "port": "output"}, "tgt": {"process": "d3", "port": "input"}},
            {"src": {"process": "d3", "port": "output"}, "tgt": {"process": "rep", "port": "in"}}
        ],
        "outports": {"result": {"process": "rep", "port": "out"}}
    }"#,
    );
    let (report, exported) = run(&net);
    assert_eq!(integers(&exported, "result"), (1..=300).map(|i| i * 8).collect::<Vec<_>>());
    assert!(report.failures.is_empty());
    let calls: Vec<(String, u64)> = report.actors.iter().map(|a| (a.name.clone(), a.calls)).collect();
    assert_eq!(calls, vec![("src".into(), 0), ("d1".into(), 300), ("d2".into(), 300), ("d3".into(), 300), ("rep".into(), 300)]);
}

#[test]
fn fan_out_copies_every_message_and_fan_in_merges_them() {
    let net = network(
        r#"{
        "processes": {
            "src": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 50}}},
            "left": {"component": "core/Repeat"},
            "right": {"component": "doubler.wasm"},
            "merge": {"component": "core/Repeat"}
        },
        "connections": [
            {"src": {"process": "src", "port": "out"}, "tgt": {"process": "left", "port": "in"}},
            {"src": {"process": "src", "port": "out"}, "tgt": {"process": "right", "port": "input"}},
            {"src": {"process": "left", "port": "out"}, "tgt": {"process": "merge", "port": "in"}},
            {"src": {"process": "right", "port": "output"}, "tgt": {"process": "merge", "port": "in"}}
        ],
        "outports": {"all": {"process": "merge", "port": "out"}}
    }"#,
    );
    let (report, exported) = run(&net);
    let mut got = integers(&exported, "all");
    got.sort();
    let mut want: Vec<i64> = (1..=50).chain((1..=50).map(|i| i * 2)).collect();
    want.sort();
    assert_eq!(got, want);
    let merge = report.actors.iter().find(|a| a.name == "merge").unwrap();
    assert_eq!((merge.received, merge.calls, merge.sent), (100, 100, 100));
    let src = report.actors.iter().find(|a| a.name == "src").unwrap();
    assert_eq!(src.sent, 50, "one send, two deliveries");
}

#[test]
fn a_go_plugin_and_a_rust_plugin_run_in_one_graph() {
    // Three IIPs drive the Go counter; its `value` outputs feed the Rust doubler.
    let net = network(
        r#"{
        "processes": {
            "counter": {"component": "go_counter.wasm"},
            "double": {"component": "doubler.wasm"}
        },
        "connections": [
            {"data": {"type": "String", "data": "increment"}, "tgt": {"process": "counter", "port": "operation"}},
            {"data": "increment", "tgt": {"process": "counter", "port": "operation"}},
            {"data": "double", "tgt": {"process": "counter", "port": "operation"}},
            {"src": {"process": "counter", "port": "value"}, "tgt": {"process": "double", "port": "input"}}
        ],
        "outports": {"doubled": {"process": "double", "port": "output"}, "op": {"process": "counter", "port": "operation"}}
    }"#,
    );
    let (report, exported) = run(&net);
    assert_eq!(integers(&exported, "doubled"), vec![2, 4, 8]);
    let ops: Vec<String> = exported.iter().filter(|(p, _)| p == "op").map(|(_, m)| m.data().as_str().unwrap().to_string()).collect();
    assert_eq!(ops, vec!["increment", "increment", "double"]);
    let counter = report.actors.iter().find(|a| a.name == "counter").unwrap();
    // The spec's Go counter also sends `status` and `count`, which it does not declare.
    assert_eq!(counter.dropped, 6, "two undeclared sends per call are dropped, not fatal");
}

#[test]
fn config_reaches_the_plugin_and_instances_of_one_plugin_keep_separate_state() {
    let net = network(
        r#"{
        "processes": {
            "a": {"component": "counter.wasm", "metadata": {"config": {"initial_value": 100}}},
            "b": {"component": "counter.wasm"}
        },
        "connections": [
            {"data": null, "tgt": {"process": "a", "port": "increment"}},
            {"data": null, "tgt": {"process": "a", "port": "increment"}},
            {"data": null, "tgt": {"process": "b", "port": "increment"}}
        ],
        "outports": {"a": {"process": "a", "port": "count"}, "b": {"process": "b", "port": "count"}}
    }"#,
    );
    let (_, exported) = run(&net);
    assert_eq!(integers(&exported, "a"), vec![101, 102]);
    assert_eq!(integers(&exported, "b"), vec![1]);
}
