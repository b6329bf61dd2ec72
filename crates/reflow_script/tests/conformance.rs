//! The ABI conformance suite (`tests/conformance`): every case of `tests/conformance/cases`
//! against every SDK's conformance plugin, on both backends, as one table.
//!
//! Each plugin is loaded once per backend; each case runs on an actor of its own config
//! (actors are shared between the cases of one config, their state reset per case), so the
//! suite costs a few loads, not one per case.

use crate::support::plugin_bytes;
use reflow_script::{ActorConfig, Backend, ExtismEngine, Limits, Message, OutputSink, PluginMetadata, PluginModule, ScriptConfig};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Each SDK and its conformance plugin in `target/plugins` (built by `cargo xtask build-plugins`).
const SDKS: [(&str, &str); 5] = [
    ("Rust", "conformance.wasm"),
    ("Go", "go_conformance.wasm"),
    ("AssemblyScript", "as_conformance.wasm"),
    ("C", "c_conformance.wasm"),
    ("Zig", "zig_conformance.wasm"),
];
const BACKENDS: [Backend; 2] = [Backend::Wasmtime, Backend::Extism];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[allow(dead_code)]
    about: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    config: Map<String, Value>,
    #[serde(default)]
    state: Map<String, Value>,
    #[serde(default)]
    calls: Vec<Call>,
    /// A metadata case: the plugin's metadata must equal this.
    metadata: Option<PluginMetadata>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Call {
    payload: HashMap<String, Message>,
    expect: Expect,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    outputs: HashMap<String, Message>,
    #[serde(default)]
    sent: Vec<(String, Message)>,
    sent_indexed: Option<Indexed>,
    state: Option<Map<String, Value>>,
    state_sizes: Option<BTreeMap<String, usize>>,
    error: Option<String>,
}

/// `count` Integer messages 0, 1, ... on `port`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Indexed {
    port: String,
    count: i64,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cases")
}

/// Every case, named `file: case`, in file order.
fn load_cases() -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance/cases")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file: CaseFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        cases.extend(file.cases.into_iter().map(|c| (format!("{stem}: {}", c.name), c)));
    }
    assert!(cases.len() > 50, "only {} conformance cases found in {}", cases.len(), cases_dir().display());
    cases
}

/// Loads each SDK's plugin once per backend and runs every case on it.
#[test]
fn every_sdk_passes_every_case_on_both_backends() {
    let cases = load_cases();
    let mut columns = Vec::new();
    let mut results: Vec<Vec<Result<(), String>>> = Vec::new();
    for (sdk, file) in SDKS {
        let bytes = plugin_bytes(file);
        for backend in BACKENDS {
            columns.push(format!("{sdk} {}", backend.name()));
            let module = PluginModule::load_on(backend, file, &ScriptConfig::new(bytes.clone()), Limits::default())
                .unwrap_or_else(|e| panic!("{sdk}: loading {file}: {e}"));
            let mut actors = HashMap::new();
            results.push(cases.iter().map(|(_, case)| run_case(&module, &mut actors, case)).collect());
        }
    }
    let table = render_table(&cases, &columns, &results);
    println!("{table}");
    let _ = std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance.md"), &table);
    let failures: Vec<String> = columns
        .iter()
        .zip(&results)
        .flat_map(|(column, column_results)| {
            cases.iter().zip(column_results).filter_map(move |((name, _), r)| {
                r.as_ref().err().map(|why| format!("{column}, case \"{name}\": {why}"))
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} conformance failures:\n{}\n\n{table}", failures.len(), failures.join("\n"));
}

/// One case on an actor for its config (made on first use), its state reset to the case's.
fn run_case(module: &PluginModule, actors: &mut HashMap<String, ExtismEngine>, case: &Case) -> Result<(), String> {
    if let Some(expected) = &case.metadata {
        return same_metadata(expected, module.metadata());
    }
    let key = Value::Object(case.config.clone()).to_string();
    if !actors.contains_key(&key) {
        let actor = ActorConfig {
            node_id: "conformance".to_string(),
            component: module.metadata().component.clone(),
            config: case.config.clone(),
            ..ActorConfig::default()
        };
        actors.insert(key.clone(), ExtismEngine::from_module(module, actor).map_err(|e| format!("cannot start an actor: {e}"))?);
    }
    let engine = actors.get_mut(&key).unwrap();
    engine.set_state(case.state.clone());
    for (i, call) in case.calls.iter().enumerate() {
        run_call(engine, call).map_err(|why| if case.calls.len() > 1 { format!("call {}: {why}", i + 1) } else { why })?;
    }
    Ok(())
}

fn run_call(engine: &mut ExtismEngine, call: &Call) -> Result<(), String> {
    let before = engine.state().clone();
    let sent: Arc<Mutex<Vec<(String, Message)>>> = Arc::default();
    let sink: OutputSink = {
        let sent = sent.clone();
        Arc::new(move |port: &str, m: Message| sent.lock().unwrap().push((port.to_string(), m)))
    };
    let result = engine.process(&call.payload, Some(&sink));
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let expect = &call.expect;
    match (&expect.error, result) {
        (Some(text), Ok(outputs)) => return Err(format!("expected an error containing {text:?}, the call returned {}", show_map(&outputs))),
        (Some(text), Err(e)) if !e.to_string().contains(text.as_str()) => {
            return Err(format!("expected an error containing {text:?}, got: {e}"))
        }
        (Some(_), Err(_)) => {}
        (None, Err(e)) => return Err(format!("the call failed: {e}")),
        (None, Ok(outputs)) => same_outputs(&expect.outputs, &outputs)?,
    }
    same_sent(expect, &sent)?;
    let after = engine.state();
    if let Some(sizes) = &expect.state_sizes {
        let got: BTreeMap<String, usize> =
            after.iter().map(|(k, v)| (k.clone(), v.as_str().map_or(usize::MAX, str::len))).collect();
        if &got != sizes {
            return Err(format!("state: expected string lengths {sizes:?}, got {got:?}"));
        }
    } else {
        let want = expect.state.as_ref().filter(|_| expect.error.is_none()).unwrap_or(&before);
        if !same(&Value::Object(want.clone()), &Value::Object(after.clone())) {
            return Err(format!("state: expected {}, got {}", short(&Value::Object(want.clone())), short(&Value::Object(after.clone()))));
        }
    }
    Ok(())
}

fn same_outputs(want: &HashMap<String, Message>, got: &HashMap<String, Message>) -> Result<(), String> {
    let mut ports: Vec<&String> = want.keys().chain(got.keys()).collect();
    ports.sort();
    ports.dedup();
    let wrong: Vec<String> = ports
        .into_iter()
        .filter_map(|port| match (want.get(port), got.get(port)) {
            (Some(w), Some(g)) if same_message(w, g) => None,
            (w, g) => Some(format!("outputs.{port}: expected {}, got {}", show(w), show(g))),
        })
        .collect();
    if wrong.is_empty() { Ok(()) } else { Err(wrong.join("; ")) }
}

fn same_sent(expect: &Expect, got: &[(String, Message)]) -> Result<(), String> {
    let want: Vec<(String, Message)> = match &expect.sent_indexed {
        Some(indexed) => (0..indexed.count).map(|i| (indexed.port.clone(), Message::Integer(i))).collect(),
        None => expect.sent.clone(),
    };
    if let Some(i) = (0..want.len().max(got.len()))
        .find(|&i| !matches!((want.get(i), got.get(i)), (Some(w), Some(g)) if w.0 == g.0 && same_message(&w.1, &g.1)))
    {
        let show_pair = |p: Option<&(String, Message)>| p.map_or("nothing".to_string(), |(port, m)| format!("{port}: {}", short(&m.to_json())));
        return Err(format!(
            "sent: expected {} messages, got {}; the first difference is #{}: expected {}, got {}",
            want.len(),
            got.len(),
            i + 1,
            show_pair(want.get(i)),
            show_pair(got.get(i))
        ));
    }
    Ok(())
}

fn same_metadata(want: &PluginMetadata, got: &PluginMetadata) -> Result<(), String> {
    let (w, g) = (serde_json::to_value(want).unwrap(), serde_json::to_value(got).unwrap());
    if same(&w, &g) { Ok(()) } else { Err(format!("metadata: expected {w}, got {g}")) }
}

/// Messages are equal when their types are and their data are as JSON numbers compare: a
/// reader cannot tell `4` from `4.0` (Go writes the one, Rust the other).
fn same_message(a: &Message, b: &Message) -> bool {
    a.type_name() == b.type_name() && same(&a.data(), &b.data())
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => a == b,
    }
}

fn show(m: Option<&Message>) -> String {
    m.map_or("nothing".to_string(), |m| short(&m.to_json()))
}

fn show_map(outputs: &HashMap<String, Message>) -> String {
    let map: BTreeMap<&String, Value> = outputs.iter().map(|(k, v)| (k, v.to_json())).collect();
    short(&serde_json::to_value(map).unwrap())
}

/// JSON text cut to a readable length (a 1 MiB state would drown the report).
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.len() <= 300 {
        return text;
    }
    let cut = (0..=300).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}... ({} bytes)", &text[..cut], text.len())
}

/// The table: one row per case, one column per SDK and backend.
fn render_table(cases: &[(String, Case)], columns: &[String], results: &[Vec<Result<(), String>>]) -> String {
    let mut out = format!("| case | {} |\n|---|{}\n", columns.join(" | "), "---|".repeat(columns.len()));
    for (row, (name, _)) in cases.iter().enumerate() {
        let cells: Vec<&str> = results.iter().map(|column| if column[row].is_ok() { "ok" } else { "FAIL" }).collect();
        out.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
    }
    let passed: Vec<String> = columns
        .iter()
        .zip(results)
        .map(|(c, r)| format!("{c}: {}/{}", r.iter().filter(|r| r.is_ok()).count(), r.len()))
        .collect();
    out.push_str(&format!("\n{}\n", passed.join(", ")));
    out
}
