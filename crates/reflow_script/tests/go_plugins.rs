use crate::support::*;
use reflow_script::Message;
use serde_json::json;

fn op(name: &str) -> serde_json::Value {
    json!({"operation": {"type": "String", "data": name}})
}

#[test]
fn go_counter_metadata_is_read() {
    let module = load("go_counter.wasm");
    let meta = module.metadata();
    assert_eq!(meta.component, "GoCounter");
    assert_eq!(meta.inports.len(), 1);
    assert_eq!(meta.inports[0].name, "operation");
    assert_eq!(meta.inports[0].port_type, "String");
    let outs: Vec<&str> = meta.outports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(outs, vec!["value", "operation"]);
}

#[test]
fn go_counter_operations_keep_state_across_calls() {
    let mut engine = engine("go_counter.wasm", json!({}));
    let mut values = Vec::new();
    for name in ["increment", "increment", "double", "decrement", "reset", "increment"] {
        let out = engine.process(&payload(op(name)), None).unwrap();
        assert_eq!(out["operation"], Message::String(name.into()));
        values.push(out["value"].clone());
    }
    let expected: Vec<Message> = [1, 2, 4, 3, 0, 1].into_iter().map(Message::Integer).collect();
    assert_eq!(values, expected);
    assert_eq!(state_of(&engine), json!({"count": 1}));
}

#[test]
fn go_counter_continues_from_given_state_and_sends_before_returning() {
    let mut engine = engine("go_counter.wasm", json!({}));
    engine.set_state(object(json!({"count": 41})));
    let recorder = Recorder::default();
    let out = engine.process(&payload(op("increment")), Some(&recorder.sink())).unwrap();
    assert_eq!(out["value"], Message::Integer(42));
    let mut sent = recorder.take();
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        sent,
        vec![
            ("count".to_string(), Message::Integer(42)),
            ("status".to_string(), Message::String("Processing complete".into()))
        ]
    );
}

#[test]
fn go_send_output_arrives_before_the_returned_outputs() {
    // The greeter sends all but its last greeting with SendOutput, then returns the last one.
    let module = load("go_greeter.wasm");
    let config = reflow_script::ActorConfig {
        node_id: "greeter".into(),
        config: object(json!({"greeting": "Hi", "repeat": 3})),
        ..Default::default()
    };
    let mut actor = reflow_script::ScriptActor::new(&module, config).unwrap();
    let recorder = Recorder::default();
    actor.process(&payload(json!({"name": {"type": "String", "data": "Ada"}})), recorder.sink()).unwrap();
    let greetings: Vec<String> = recorder
        .take()
        .into_iter()
        .filter(|(port, _)| port == "greeting")
        .map(|(_, m)| m.data().as_str().unwrap().to_string())
        .collect();
    assert_eq!(greetings, vec!["Hi, Ada! (1/3)", "Hi, Ada! (2/3)", "Hi, Ada! (3/3)"]);
}

/// The bench's Go doubler (`examples/go/doubler`, built stripped as `reflow build` builds it)
/// doubles what the other SDKs' doublers double.
#[test]
fn the_go_doubler_doubles() {
    let mut engine = engine("go_doubler.wasm", json!({}));
    let out = engine.process(&payload(json!({"input": {"type": "Integer", "data": 21}})), None).unwrap();
    assert_eq!(out["output"], Message::Integer(42));
    assert_eq!(load("go_doubler.wasm").metadata().inports[0].name, "input");
}
