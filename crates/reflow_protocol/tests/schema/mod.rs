//! The check every received message goes through must be able to fail: fbp-test 0.9.8's own
//! schema check passes everything, which is why this one exists.

use crate::support::schema_errors;
use serde_json::json;

#[test]
fn a_valid_message_passes() {
    let message = json!({"protocol": "graph", "command": "addnode",
        "payload": {"id": "a", "component": "core/Repeat", "metadata": {}, "graph": "g"}});
    assert_eq!(schema_errors(&message), Ok(()));
}

#[test]
fn extra_keys_missing_keys_and_wrong_types_are_rejected() {
    let extra = json!({"protocol": "network", "command": "stopped",
        "payload": {"graph": "g", "running": false, "bogus": 1}});
    assert!(schema_errors(&extra).is_err());
    let missing = json!({"protocol": "graph", "command": "addnode", "payload": {"id": "a", "component": "x"}});
    assert!(schema_errors(&missing).is_err());
    let wrong_type = json!({"protocol": "component", "command": "componentsready", "payload": "many"});
    assert!(schema_errors(&wrong_type).is_err());
    let bad_time = json!({"protocol": "network", "command": "started", "payload": {"graph": "g", "time": "yesterday"}});
    assert!(schema_errors(&bad_time).is_err(), "formats are checked");
}

#[test]
fn messages_the_protocol_does_not_define_are_rejected() {
    let message = json!({"protocol": "network", "command": "debug", "payload": {"graph": "g"}});
    assert!(schema_errors(&message).is_err());
}
