use crate::support::*;
use reflow_script::Message;
use serde_json::json;

#[test]
fn set_state_writes_survive_a_result_without_state() {
    let mut engine = engine("state_probe.wasm", json!({}));
    engine.set_state(object(json!({"total": 10, "other": "kept"})));
    let out = engine.process(&payload(json!({"add": 5})), None).unwrap();
    assert_eq!(out["total"], Message::Integer(15));
    assert_eq!(state_of(&engine), json!({"total": 15, "other": "kept"}));
    let out = engine.process(&payload(json!({"add": 1})), None).unwrap();
    assert_eq!(out["total"], Message::Integer(16), "__get_state sees the previous call's __set_state");
}

#[test]
fn get_state_returns_values_and_null_for_missing_keys() {
    let mut engine = engine("state_probe.wasm", json!({}));
    engine.set_state(object(json!({"nested": {"a": [1, 2]}})));
    let out = engine.process(&payload(json!({"read": "nested"})), None).unwrap();
    assert_eq!(out["value"], Message::Any(json!({"a": [1, 2]})));
    let out = engine.process(&payload(json!({"read": "absent"})), None).unwrap();
    assert_eq!(out["value"], Message::Any(json!(null)));
}

#[test]
fn send_output_reaches_the_sink_in_order_during_the_call() {
    let mut engine = engine("state_probe.wasm", json!({}));
    let recorder = Recorder::default();
    let returned = engine.process(&payload(json!({"add": 2})), Some(&recorder.sink())).unwrap();
    // The engine passes every sent message on, declared or not; dropping undeclared ports is
    // the actor's job (see the actor test below).
    assert_eq!(
        recorder.take(),
        vec![("progress".to_string(), Message::String("adding 2".into())), ("debug".to_string(), Message::Integer(0))]
    );
    assert!(!returned.contains_key("progress"), "sent messages are not returned again");
}

#[test]
fn one_instance_serves_every_message() {
    let mut engine = engine("state_probe.wasm", json!({}));
    let calls: Vec<Message> = (0..3)
        .map(|_| engine.process(&payload(json!({"read": "x"})), None).unwrap()["calls"].clone())
        .collect();
    assert_eq!(calls, vec![Message::Integer(1), Message::Integer(2), Message::Integer(3)]);
}

#[test]
fn a_failed_call_discards_its_state_writes_and_gets_a_fresh_instance() {
    let mut engine = engine("state_probe.wasm", json!({}));
    engine.process(&payload(json!({"add": 4})), None).unwrap();
    let err = engine.process(&payload(json!({"trap": null})), None).unwrap_err();
    assert!(err.to_string().contains("actor test-state_probe.wasm"), "{err}");
    assert_eq!(state_of(&engine), json!({"total": 4}), "the trapped call's __set_state is discarded");
    let out = engine.process(&payload(json!({"read": "total"})), None).unwrap();
    assert_eq!(out["calls"], Message::Integer(1), "a trap replaces the instance");
    assert_eq!(out["value"], Message::Any(json!(4)));
}

#[test]
fn the_actor_drops_undeclared_outports_and_counts_them() {
    let module = load("state_probe.wasm");
    let config = reflow_script::ActorConfig { node_id: "probe".into(), ..Default::default() };
    let mut actor = reflow_script::ScriptActor::new(&module, config).unwrap();
    let recorder = Recorder::default();
    actor.process(&payload(json!({"add": 3})), recorder.sink()).unwrap();
    let ports: Vec<String> = recorder.take().into_iter().map(|(p, _)| p).collect();
    assert_eq!(ports, vec!["progress", "total", "calls"], "sent first, then returned in outport order");
    assert_eq!(actor.dropped(), 1);
}
