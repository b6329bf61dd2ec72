//! Many live instances of one loaded plugin in one process (issue 15 item 7): each store of our
//! engine holds two memories, and 10,000 actors must fit (pooled first, then on demand; see
//! `wasmtime_backend/alloc.rs`).

use crate::support::*;
use reflow_script::{ActorConfig, ExtismEngine, Message};
use serde_json::json;

/// 10,000 doublers alive at once, each handling one message after all exist (so none was
/// dropped to make room), then a second message each: every answer is its own.
#[test]
fn ten_thousand_doublers_live_at_once() {
    const ACTORS: i64 = 10_000;
    let module = load("doubler.wasm");
    let mut actors: Vec<ExtismEngine> = (0..ACTORS)
        .map(|i| {
            let actor = ActorConfig { node_id: format!("d{i}"), component: "MyActor".into(), ..ActorConfig::default() };
            ExtismEngine::from_module(&module, actor).unwrap_or_else(|e| panic!("actor {i}: {e}"))
        })
        .collect();
    for round in 0..2 {
        for (i, actor) in actors.iter_mut().enumerate() {
            let n = i as i64 * 10 + round;
            let outputs = actor.process(&payload(json!({"input": n})), None).unwrap_or_else(|e| panic!("actor {i}: {e}"));
            assert_eq!(outputs.get("output"), Some(&Message::Integer(n * 2)), "actor {i}, round {round}");
        }
    }
    assert_eq!(actors.len() as i64, ACTORS);
}

/// A trap replaces the instance (in a pool slot freed by the old one, or on demand), and the
/// replacement runs: restarts of one actor, many times over, never run out of slots.
#[test]
fn restarts_after_traps_reuse_instance_slots() {
    let mut engine = engine("state_probe.wasm", json!({}));
    for i in 0..3_000 {
        assert!(engine.process(&payload(json!({"trap": null})), None).is_err(), "call {i} should trap");
    }
    engine.process(&payload(json!({"add": 2})), None).unwrap();
    assert_eq!(state_of(&engine)["total"], 2);
}
