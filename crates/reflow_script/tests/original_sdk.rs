use crate::support::*;
use reflow_script::Message;
use serde_json::json;

#[test]
fn a_plugin_written_for_the_original_sdk_runs_as_it_did() {
    let mut engine = engine("original_sdk.wasm", json!({}));
    let metadata = engine.metadata();
    assert_eq!(metadata.component, "OriginalCounter");
    let inport = &metadata.inports[0];
    assert_eq!((inport.name.as_str(), inport.port_type.as_str(), inport.required), ("input", "Integer", true));
    let outports: Vec<&str> = metadata.outports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(outports, ["output", "progress", "error"]);

    let recorder = Recorder::default();
    let out = engine.process(&payload(json!({"input": 5})), Some(&recorder.sink())).unwrap();
    assert_eq!(out["output"], Message::Integer(5));
    let out = engine.process(&payload(json!({"input": 2})), Some(&recorder.sink())).unwrap();
    assert_eq!(out["output"], Message::Integer(7), "host::set_state wrote what host::get_state reads");
    assert_eq!(state_of(&engine), json!({"count": 7}));
    assert_eq!(
        recorder.take(),
        vec![
            ("progress".to_string(), Message::String("adding 5".into())),
            ("progress".to_string(), Message::String("adding 2".into()))
        ],
        "host::send_output delivered during the calls"
    );

    // helpers::error_result: on `error`, state unchanged.
    let out = engine.process(&payload(json!({"input": -1})), None).unwrap();
    assert_eq!(out["error"], Message::Error("refusing -1: negative".into()));
    assert!(!out.contains_key("output"));
    let out = engine.process(&payload(json!({"input": "x"})), None).unwrap();
    assert_eq!(out["error"], Message::Error("input must be an integer".into()));
    assert_eq!(state_of(&engine), json!({"count": 7}));

    // Its own #[plugin_fn] export, through the re-exported plugin_fn / FnResult / Json. A raw
    // export call is given no actor state, so the count reads as absent there.
    let bytes = engine.call_export("current_count", b"").unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value, json!({"count": null}));
}
