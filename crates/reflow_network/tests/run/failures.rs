use super::support::*;

#[test]
fn a_failing_actor_is_reported_by_name_and_the_others_finish() {
    let net = network(
        r#"{
        "processes": {
            "src": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 20}}},
            "double": {"component": "doubler.wasm"},
            "flaky": {"component": "failing.wasm"},
            "echo": {"component": "failing.wasm"}
        },
        "connections": [
            {"src": {"process": "src", "port": "out"}, "tgt": {"process": "double", "port": "input"}},
            {"src": {"process": "src", "port": "out"}, "tgt": {"process": "echo", "port": "in"}},
            {"data": "first failure", "tgt": {"process": "flaky", "port": "fail"}},
            {"data": true, "tgt": {"process": "flaky", "port": "panic"}},
            {"data": "after the failures", "tgt": {"process": "flaky", "port": "in"}}
        ],
        "outports": {
            "doubled": {"process": "double", "port": "output"},
            "echoed": {"process": "echo", "port": "out"},
            "flaky": {"process": "flaky", "port": "out"}
        }
    }"#,
    );
    let (report, exported) = run(&net);
    assert_eq!(integers(&exported, "doubled"), (1..=20).map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(integers(&exported, "echoed"), (1..=20).collect::<Vec<_>>());
    let flaky: Vec<_> = exported.iter().filter(|(p, _)| p == "flaky").map(|(_, m)| m.clone()).collect();
    assert_eq!(flaky, vec![reflow_script::Message::String("after the failures".into())], "the actor works on after failing");
    assert_eq!(report.failures.len(), 2);
    assert!(report.failures.iter().all(|f| f.actor == "flaky"));
    assert_eq!(report.failures[0].to_string(), "actor flaky: first failure");
    assert!(report.failures[1].message.contains("wasm trap"), "{}", report.failures[1]);
    let stats = report.actors.iter().find(|a| a.name == "flaky").unwrap();
    assert_eq!((stats.calls, stats.errors), (3, 2));
}
