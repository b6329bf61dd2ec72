//! Fuzzing what the host reads from plugins (this module's parent): whatever bytes a plugin
//! returns or sends, decoding returns a value or an error, never panics; and what a
//! well-behaved plugin writes decodes to what it meant.

use proptest::prelude::*;
use super::{actor_result, sent_outputs};
use crate::Message;
use serde_json::{json, Map, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        "[a-zA-Z0-9 \"\\\\]{0,8}".prop_map(Value::String),
        prop::sample::select(vec!["Flow", "Integer", "String", "Stream", "Error", "Nope"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["type", "data", "outputs", "state", "out", "x"]).prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Flow),
        any::<i64>().prop_map(Message::Integer),
        any::<bool>().prop_map(Message::Boolean),
        ".{0,12}".prop_map(Message::String),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Message::Stream),
        ".{0,12}".prop_map(Message::Error),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = actor_result(&bytes);
        let _ = sent_outputs(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_json_never_panics_and_state_must_be_an_object(value in any_json()) {
        let text = value.to_string();
        if let Ok(returned) = actor_result(text.as_bytes()) {
            prop_assert!(value.is_object(), "accepted {}", text);
            let state = value.get("state").cloned().unwrap_or(Value::Null);
            prop_assert!(matches!(state, Value::Null | Value::Object(_)), "accepted state {}", state);
            prop_assert_eq!(returned.state.map(Value::Object), state.as_object().map(|_| state.clone()));
        }
        // The host's reading is the ABI type's: what it accepts, `ActorResult` accepts, with
        // the same outputs (a port named twice keeps the last in both).
        match (actor_result(text.as_bytes()), serde_json::from_str::<reflow_abi::ActorResult>(&text)) {
            (Ok(returned), Ok(reference)) => {
                prop_assert_eq!(returned.outputs.into_iter().collect::<std::collections::HashMap<_, _>>(), reference.outputs)
            }
            (Ok(_), Err(e)) => prop_assert!(false, "accepted {} which ActorResult refuses: {}", text, e),
            (Err(_), _) => {}
        }
        if let Ok(sent) = sent_outputs(&text) {
            prop_assert!(value.is_object());
            prop_assert_eq!(sent.len(), value.as_object().unwrap().len());
        }
    }

    /// The direct decoders (no `Value` tree first) read every JSON value exactly as the
    /// reference readings of a parsed `Value` do: `Message::from_json` for ports (both forms),
    /// `Message::from_tagged` for a strict message.
    #[test]
    fn direct_decoding_equals_decoding_through_a_value(value in any_json()) {
        let text = value.to_string();
        let reference: Option<Result<Vec<(String, Message)>, ()>> = value.as_object().map(|ports| {
            ports.iter().map(|(p, v)| Message::from_json(v.clone()).map(|m| (p.clone(), m)).map_err(|_| ())).collect()
        });
        match (sent_outputs(&text), reference) {
            (Ok(direct), Some(Ok(reference))) => prop_assert_eq!(direct, reference),
            (Err(_), Some(Err(()))) | (Err(_), None) => {}
            (direct, reference) => prop_assert!(false, "{}: direct {:?}, reference {:?}", text, direct, reference),
        }
        let strict = serde_json::from_str::<Message>(&text).map_err(|_| ());
        prop_assert_eq!(strict, Message::from_tagged(&value).map_err(|_| ()), "{}", text);
        // The same inside an ActorContext, as a plugin's SDK reads it.
        let context = format!(r#"{{"payload":{{"p":{text}}},"config":{{}},"state":{{}}}}"#);
        let direct = serde_json::from_str::<crate::ActorContext>(&context).map(|c| c.payload["p"].clone()).map_err(|_| ());
        prop_assert_eq!(direct, Message::from_json(value.clone()).map_err(|_| ()), "{}", text);
    }

    #[test]
    fn well_formed_results_decode_to_what_was_meant(
        outputs in prop::collection::btree_map("[a-z]{1,6}", any_message(), 0..5),
        state in prop::collection::btree_map("[a-z]{1,6}", any::<i64>(), 0..4),
    ) {
        let json_outputs: Map<String, Value> = outputs.iter().map(|(p, m)| (p.clone(), m.to_json())).collect();
        let state: Map<String, Value> = state.into_iter().map(|(k, v)| (k, json!(v))).collect();
        let text = json!({"outputs": json_outputs, "state": state}).to_string();
        let returned = actor_result(text.as_bytes()).unwrap();
        prop_assert_eq!(returned.outputs.len(), outputs.len());
        prop_assert_eq!(&returned.outputs.into_iter().collect::<std::collections::BTreeMap<_, _>>(), &outputs);
        prop_assert_eq!(returned.state, Some(state));
        let sent = sent_outputs(&Value::Object(json_outputs).to_string()).unwrap();
        prop_assert_eq!(sent.into_iter().collect::<std::collections::BTreeMap<_, _>>(), outputs);
    }
}
