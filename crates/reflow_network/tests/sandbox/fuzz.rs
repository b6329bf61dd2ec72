//! `metadata.sandbox` and `metadata.on_failure` hold whatever JSON a graph file has: reading
//! them never panics, and what is accepted is what was written.

use proptest::prelude::*;
use reflow_network::sandbox;
use reflow_network::Graph;
use reflow_script::{Grants, Limits};
use serde_json::{json, Value};
use std::path::Path;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000i32..1000).prop_map(|i| Value::from(f64::from(i) / 10.0)),
        prop::sample::select(vec!["stop", "fail", "fs:ro:/tmp", "http:a.b", "env:A=1", "fs:rw:d=/d", "x:", ""])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "grants", "max_memory_pages", "timeout_ms", "max_output_bytes", "fuel", "max_restarts", "backoff_ms", "then", "other",
                ])
                .prop_map(String::from),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn process_settings_never_panic_and_keep_what_they_accept(sandbox in any_json(), on_failure in any_json()) {
        let mut graph = Graph::new("fuzz");
        let process = graph.add_process("p", "p.wasm").unwrap();
        process.metadata.insert("sandbox".into(), sandbox.clone());
        process.metadata.insert("on_failure".into(), on_failure);
        if let Ok(settings) = sandbox::read(process, Limits::default(), Path::new("/graph"), &sandbox::SandboxPolicy::Operator) {
            prop_assert!(Grants::parse(&settings.grants.to_strings()).is_ok());
            if let Some(pages) = sandbox.get("max_memory_pages") {
                prop_assert_eq!(json!(settings.limits.max_memory_pages), pages.clone());
            }
            if let Some(ms) = sandbox.get("timeout_ms") {
                prop_assert_eq!(json!(settings.limits.call_timeout.as_millis() as u64), ms.clone());
            }
        }
    }
}
