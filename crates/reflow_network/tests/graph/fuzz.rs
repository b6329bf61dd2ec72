//! The JSON loader on arbitrary input: it never panics, and any graph it accepts survives a
//! round trip through `to_fbp_json` and validation.

use proptest::prelude::*;
use reflow_abi::{PluginMetadata, PortDefinition};
use reflow_network::graph::Process;
use reflow_network::loader::json::parse_json;
use reflow_network::{validate, ComponentCatalog, NetworkError};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Any JSON value. Floats have at most 3 decimals: serde_json (without its `float_roundtrip`
/// feature) may read an extreme float such as `-1.78e-227` one unit in the last place off,
/// which would break the round-trip property for reasons that are not the loader's.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 1000.0)),
        "[a-zA-Z /._-]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,6}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const NAMES: [&str; 6] = ["a", "b", "Web Server", "x/y_1", "A", "c.d"];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES.to_vec()).prop_map(String::from)
}

fn port() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["in", "IN", "out", "index", "input", "output"]).prop_map(String::from)
}

/// Mostly `value`, now and then any JSON at all (to reach the error paths).
fn or_junk<S: Strategy<Value = Value> + 'static>(value: S) -> BoxedStrategy<Value> {
    prop_oneof![30 => value, 1 => any_json()].boxed()
}

fn object_of_json() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z]{0,6}", any_json(), 0..4).prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// A port of one of `names` (the graph's processes), rarely of a process not in the graph.
fn port_ref(names: Vec<String>) -> BoxedStrategy<Value> {
    let process = prop_oneof![20 => prop::sample::select(names), 1 => name()];
    or_junk((process, port(), prop::option::of(0u64..4)).prop_map(|(process, port, index)| {
        let mut v = json!({"process": process, "port": port});
        if let Some(index) = index {
            v["index"] = json!(index);
        }
        v
    }))
}

fn connection(names: Vec<String>) -> BoxedStrategy<Value> {
    or_junk(prop_oneof![
        (port_ref(names.clone()), port_ref(names.clone())).prop_map(|(src, tgt)| json!({"src": src, "tgt": tgt})),
        (any_json(), port_ref(names))
            .prop_map(|(data, tgt)| json!({"data": data, "tgt": tgt, "metadata": {"route": 1}})),
    ])
}

fn process_body() -> impl Strategy<Value = Value> {
    let component = prop::sample::select(vec!["Gen", "Merge", "p.wasm", "core/Output"]);
    let config = or_junk(object_of_json());
    or_junk(prop_oneof![
        component.clone().prop_map(|c| json!({"component": c})),
        (component, config).prop_map(|(c, config)| json!({"component": c, "metadata": {"x": 1, "config": config}})),
    ])
}

fn exports(names: Vec<String>) -> BoxedStrategy<Value> {
    let process = prop_oneof![10 => prop::sample::select(names), 1 => name()];
    prop_oneof![
        8 => prop::collection::btree_map("[a-z]{1,4}", (process, port()), 0..3).prop_map(|m| {
            Value::Object(m.into_iter().map(|(public, (process, port))| (public, json!({"process": process, "port": port}))).collect())
        }),
        1 => Just(json!([])),
        1 => any_json(),
    ]
    .boxed()
}

/// Graph-shaped JSON text: known sections with mostly sensible values, sometimes junk, and
/// `processes` written by hand so that keys can repeat.
fn graph_text() -> impl Strategy<Value = String> {
    prop::collection::vec((name(), process_body()), 1..6).prop_flat_map(|processes| {
        let names: Vec<String> = processes.iter().map(|(name, _)| name.clone()).collect();
        (
            Just(processes),
            prop::collection::vec(connection(names.clone()), 0..8),
            exports(names.clone()),
            exports(names.clone()),
            prop::option::of(any::<bool>()),
            prop::collection::vec(prop::collection::vec(prop::sample::select(names), 0..3), 0..3),
            prop::option::of(or_junk(object_of_json())),
        )
            .prop_map(|(processes, connections, inports, outports, case_sensitive, groups, properties)| {
                let processes: Vec<String> =
                    processes.iter().map(|(name, body)| format!("{}: {body}", Value::String(name.clone()))).collect();
                let groups: Vec<Value> = groups
                    .into_iter()
                    .enumerate()
                    .map(|(i, nodes)| json!({"name": format!("g{i}"), "nodes": nodes}))
                    .collect();
                let mut rest = Map::new();
                rest.insert("connections".into(), Value::Array(connections));
                rest.insert("inports".into(), inports);
                rest.insert("outports".into(), outports);
                rest.insert("groups".into(), Value::Array(groups));
                if let Some(case_sensitive) = case_sensitive {
                    rest.insert("caseSensitive".into(), Value::Bool(case_sensitive));
                }
                if let Some(properties) = properties {
                    rest.insert("properties".into(), properties);
                }
                let rest = Value::Object(rest).to_string();
                format!("{{\"processes\": {{{}}}, {}", processes.join(", "), &rest[1..])
            })
    })
}

/// Knows every component but `p.wasm`, with ports named like those the generator uses.
struct Anything;

impl ComponentCatalog for Anything {
    fn ports(&self, process: &Process) -> Result<PluginMetadata, NetworkError> {
        if process.component == "p.wasm" {
            return Err(NetworkError::NotAPlugin { component: process.component.clone() });
        }
        Ok(PluginMetadata {
            component: process.component.clone(),
            description: String::new(),
            inports: vec![PortDefinition::new("in", "", "Any", true), PortDefinition::new("index", "", "Any", false)],
            outports: vec![PortDefinition::new("out", "", "Any", false)],
            config_schema: None,
        })
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_json(&bytes, Path::new("fuzz.json"));
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let _ = parse_json(value.to_string().as_bytes(), Path::new("fuzz.json"));
    }

    #[test]
    fn arbitrary_numbers_never_panic(f in any::<f64>(), i in any::<i64>()) {
        let text = format!(r#"{{"processes": {{"a": {{"component": "X"}}}}, "connections": [{{"data": {f:?}, "tgt": {{"process": "a", "port": "in", "index": {i}}}}}]}}"#);
        let _ = parse_json(text.as_bytes(), Path::new("fuzz.json"));
    }

    #[test]
    fn graph_shaped_json_loads_or_errs_and_round_trips(text in graph_text()) {
        let file = Path::new("fuzz.json");
        match parse_json(text.as_bytes(), file) {
            Ok(graph) => {
                let errors = validate(&graph, file, &Anything).err().unwrap_or_default();
                prop_assert!(errors.iter().all(|e| !e.to_string().contains('\n') && e.to_string().starts_with("fuzz.json: ")));
                if graph.duplicate_processes().is_empty() {
                    let written = graph.to_fbp_json();
                    let back = parse_json(written.as_bytes(), file);
                    prop_assert_eq!(back.as_ref(), Ok(&graph), "{}", written);
                }
            }
            Err(err) => {
                let shown = err.to_string();
                prop_assert!(shown.starts_with("fuzz.json"), "{}", shown);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{{\"properties\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse_json(deep.as_bytes(), Path::new("deep.json")).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
}
