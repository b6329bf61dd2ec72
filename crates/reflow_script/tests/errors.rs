use crate::support::*;
use reflow_script::{Limits, PluginModule, ScriptConfig, ScriptError};
use serde_json::json;

fn load_bytes(name: &str, bytes: Vec<u8>) -> Result<PluginModule, ScriptError> {
    PluginModule::load(name, &ScriptConfig::new(bytes), Limits::default())
}

#[test]
fn a_missing_process_export_is_named() {
    let err = load_bytes("no_process.wasm", plugin_bytes("no_process.wasm")).err().unwrap();
    assert_eq!(err, ScriptError::MissingExport { plugin: "no_process.wasm".into(), export: "process".into() });
    assert!(err.to_string().contains("missing export `process`"), "{err}");
}

#[test]
fn a_truncated_module_is_invalid_not_a_panic() {
    let mut bytes = plugin_bytes("doubler.wasm");
    bytes.truncate(bytes.len() / 2);
    let err = load_bytes("half.wasm", bytes).err().unwrap();
    assert!(matches!(err, ScriptError::InvalidModule { .. }), "{err}");
    assert!(err.to_string().starts_with("half.wasm: not a valid WebAssembly module"), "{err}");
    let err = load_bytes("text.wasm", b"hello".to_vec()).err().unwrap();
    assert!(matches!(err, ScriptError::InvalidModule { .. }), "{err}");
}

#[test]
fn invalid_json_from_process_is_an_invalid_result() {
    let mut engine = engine("garbage_result.wasm", json!({}));
    let err = engine.process(&payload(json!({"in": 1})), None).unwrap_err();
    assert!(matches!(err, ScriptError::InvalidResult { .. }), "{err}");
    assert!(err.to_string().contains("actor test-garbage_result.wasm"), "{err}");
}

#[test]
fn a_plugin_error_carries_the_plugins_message() {
    let mut engine = engine("failing.wasm", json!({}));
    engine.process(&payload(json!({"in": 1})), None).unwrap();
    let err = engine.process(&payload(json!({"fail": "disk on fire"})), None).unwrap_err();
    assert_eq!(err, ScriptError::Call { actor: "test-failing.wasm".into(), reason: "disk on fire".into() });
    assert_eq!(state_of(&engine), json!({"echoed": 1}), "a failed call leaves the state alone");
}

#[test]
fn a_panic_is_a_one_line_trap_error_and_the_actor_keeps_working() {
    let mut engine = engine("failing.wasm", json!({}));
    let err = engine.process(&payload(json!({"panic": true})), None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("wasm trap"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    let out = engine.process(&payload(json!({"in": "still alive"})), None).unwrap();
    assert_eq!(out["out"], reflow_script::Message::String("still alive".into()));
}

/// A plugin whose bulk mailbox (`__reflow_bulk_v1`) points outside its memory, for the input
/// or for the output, fails that call with an error naming the export; the actor goes on.
#[test]
fn a_bulk_mailbox_outside_the_plugins_memory_fails_the_call_naming_it() {
    let mut engine = engine("bad_bulk.wasm", json!({}));
    for _ in 0..2 {
        let err = engine.process(&payload(json!({"in": 1})), None).unwrap_err().to_string();
        assert!(err.contains("__reflow_bulk_v1") && err.contains("outside its memory"), "{err}");
        let err = engine.call_export("claim_output", b"").unwrap_err().to_string();
        assert!(err.contains("__reflow_bulk_v1") && err.contains("outside its memory"), "{err}");
    }
}
