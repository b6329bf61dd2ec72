//! Shape scaling, as timely-dataflow's `shape_scaling` test: the same few messages through
//! chains and fan-out/fan-in graphs of growing size, every message counted. No timing is
//! asserted (the bench measures it); the 100,000-actor cases prove there is no thread per
//! actor (that aborted near 16,000).

use super::*;
use crate::scheduler::run;
use crate::RunOptions;
use std::sync::Arc;

/// `reflow/Range 1..=messages -> core/Repeat x stages -> core/Drop`: every stage handles every
/// message once and the sink receives all of them.
fn chain(stages: usize, messages: i64) {
    let mut actors = vec![actor("src", builtin("reflow/Range", serde_json::json!({"start": 1, "end": messages})))];
    let mut routes = Vec::new();
    for i in 0..stages {
        actors.push(actor(format!("s{i}"), builtin("core/Repeat", serde_json::json!({}))));
        routes.push(route(i, "out", i + 1, "in"));
    }
    actors.push(actor("sink", builtin("core/Drop", serde_json::json!({}))));
    routes.push(route(stages, "out", stages + 1, "in"));
    let report = run(actors, &routes, &[], &RunOptions::default(), Arc::new(Collector::default()));
    let messages = messages as u64;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.actors.len(), stages + 2);
    for stage in &report.actors[1..=stages] {
        assert_eq!((stage.received, stage.calls, stage.sent), (messages, messages, messages), "{}", stage.name);
    }
    assert_eq!(report.actors[stages + 1].received, messages, "the sink got every message");
}

/// `src -> width x core/Repeat -> merge`: every message is copied to each branch and merged.
fn fan(width: usize, messages: i64) {
    let mut actors = vec![actor("src", builtin("reflow/Range", serde_json::json!({"start": 1, "end": messages})))];
    let mut routes = Vec::new();
    let merge = width + 1;
    for i in 0..width {
        actors.push(actor(format!("b{i}"), builtin("core/Repeat", serde_json::json!({}))));
        routes.push(route(0, "out", i + 1, "in"));
        routes.push(route(i + 1, "out", merge, "in"));
    }
    actors.push(actor("merge", builtin("core/Repeat", serde_json::json!({}))));
    let exports = [crate::scheduler::Export { name: "out".into(), actor: merge, port: "out".into() }];
    let collector = Arc::new(Collector::default());
    let report = run(actors, &routes, &exports, &RunOptions::default(), collector.clone());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let total = width as u64 * messages as u64;
    assert_eq!(report.actors[merge].received, total);
    // Every branch delivered each message once: the merged multiset is `width` copies of each.
    let mut got = collector.integers("out");
    got.sort_unstable();
    let mut want: Vec<i64> = (1..=messages).flat_map(|m| std::iter::repeat_n(m, width)).collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn a_chain_of_10_actors() {
    chain(10, 1000);
}

#[test]
fn a_chain_of_1000_actors() {
    chain(1000, 100);
}

#[test]
fn a_chain_of_100000_actors() {
    chain(100_000, 3);
}

#[test]
fn fan_out_and_in_over_10_actors() {
    fan(10, 1000);
}

#[test]
fn fan_out_and_in_over_1000_actors() {
    fan(1000, 20);
}

#[test]
fn fan_out_and_in_over_100000_actors() {
    fan(100_000, 1);
}
