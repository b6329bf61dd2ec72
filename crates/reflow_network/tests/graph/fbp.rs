//! The `.fbp` reader against the reference parser, npm `fbp` 1.8.0 (pinned in
//! `tests/fbp-parser`, installed by `cargo xtask test`), run through Node.js on every file of
//! `tests/data/fbp` and on the shared real-world `.fbp` fixtures: the same graph for the files
//! it accepts, and for those it rejects a rejection too, at the same line and column for a
//! syntax error. Then: `.fbp` written by us reads back to the same graph.

use reflow_network::graph::Graph;
use reflow_network::loader::fbp::{parse_fbp, to_fbp, FbpOptions};
use reflow_network::loader::json::parse_json;
use reflow_network::{load_graph, GraphError};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fbp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fbp"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    // Read in place (never copied), from where `fixtures.rs` finds them.
    let shared = super::fixtures::fixtures();
    let mut real: Vec<PathBuf> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fbp"))
        .collect();
    real.sort();
    assert_eq!(real.len(), 5, "SOURCES.md lists 5 .fbp files");
    files.extend(real);
    files
}

/// One line of `tests/fbp-parser/parse.js` per file.
fn reference(files: &[PathBuf], case_sensitive: bool) -> Vec<Value> {
    let dir = root().join("tests/fbp-parser");
    assert!(
        dir.join("node_modules/fbp/package.json").is_file(),
        "{} has no node_modules: install the pinned reference parser with `npm ci --prefix tests/fbp-parser` \
         (`cargo xtask test` does it)",
        dir.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("parse.js"));
    if case_sensitive {
        cmd.arg("--case-sensitive");
    }
    let output = cmd.args(files).output().expect("node runs (cargo xtask test checks it is installed)");
    assert!(output.status.success(), "parse.js failed: {}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), files.len());
    lines
}

/// Our graph in the reference parser's JSON shape.
fn as_reference_json(graph: &Graph) -> Value {
    let exports = |ports: Vec<(&str, &reflow_network::graph::ExportedPort)>| -> Value {
        ports.into_iter().map(|(public, p)| (public.to_string(), json!({"process": p.process, "port": p.port}))).collect::<Map<_, _>>().into()
    };
    let processes: Map<String, Value> = graph
        .processes()
        .map(|p| {
            let mut object = Map::new();
            object.insert("component".into(), Value::String(p.component.clone()));
            if !p.metadata.is_empty() {
                object.insert("metadata".into(), Value::Object(p.metadata.clone()));
            }
            (p.name().to_string(), Value::Object(object))
        })
        .collect();
    let connections: Vec<Value> = serde_json::from_str::<Value>(&graph.to_fbp_json()).unwrap()["connections"].as_array().unwrap().clone();
    let mut out = json!({
        "inports": exports(graph.inports().collect()),
        "outports": exports(graph.outports().collect()),
        "groups": [],
        "processes": processes,
        "connections": connections,
        "caseSensitive": graph.case_sensitive,
    });
    let mut properties = graph.properties.clone();
    if !graph.name.is_empty() {
        properties.insert("name".into(), Value::String(graph.name.clone()));
    }
    if !properties.is_empty() {
        out["properties"] = Value::Object(properties);
    }
    out
}

/// The reference keeps a repeated edge twice; the model keeps it once (for every format).
fn without_repeated_edges(mut graph: Value) -> Value {
    let mut seen = Vec::new();
    graph["connections"].as_array_mut().unwrap().retain(|c| {
        if c.get("src").is_none() {
            return true;
        }
        let new = !seen.contains(c);
        seen.push(c.clone());
        new
    });
    graph
}

fn compare(case_sensitive: bool) {
    let files = corpus();
    let expected = reference(&files, case_sensitive);
    let (mut accepted, mut syntax, mut checks) = (0, 0, 0);
    for (file, want) in files.iter().zip(expected) {
        let text = std::fs::read_to_string(file).unwrap();
        let ours = parse_fbp(&text, file, FbpOptions { case_sensitive });
        let name = file.display();
        match (ours, want.get("error")) {
            (Ok(graph), None) => {
                accepted += 1;
                let want_graph = without_repeated_edges(want["graph"].clone());
                assert_eq!(as_reference_json(&graph), want_graph, "{name}: our graph differs from the reference's");
                let order: Vec<&str> = graph.processes().map(|p| p.name()).collect();
                let want_order: Vec<&str> = want["processOrder"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
                assert_eq!(order, want_order, "{name}: process order");
            }
            (Err(err), Some(want_err)) => match (&err, want_err.get("line")) {
                (GraphError::Syntax { line, column, .. }, Some(want_line)) => {
                    syntax += 1;
                    assert_eq!(
                        (*line as u64, *column as u64),
                        (want_line.as_u64().unwrap(), want_err["column"].as_u64().unwrap()),
                        "{name}: ours: {err}; reference: {}",
                        want_err["message"]
                    );
                    assert!(err.to_string().contains(&format!(":{line}:{column}: ")), "{err}");
                }
                (GraphError::Syntax { .. }, None) | (_, Some(_)) => {
                    panic!("{name}: ours: {err:?}; reference: {want_err}")
                }
                (_, None) => checks += 1,
            },
            (Ok(_), Some(want_err)) => panic!("{name}: we accept it; the reference says {want_err}"),
            (Err(err), None) => panic!("{name}: we reject it ({err}); the reference accepts it"),
        }
    }
    // The corpus exercises all three outcomes.
    assert!(accepted >= 20 && syntax >= 8 && checks >= 5, "accepted {accepted}, syntax errors {syntax}, checks {checks}");
}

#[test]
fn every_file_reads_as_the_reference_parser_reads_it() {
    compare(false);
}

#[test]
fn every_file_reads_as_the_reference_parser_reads_it_case_sensitive() {
    compare(true);
}

#[test]
fn what_we_write_reads_back_to_the_same_graph() {
    // An anonymous process of a component with two `/` is named `_a_b/c_1`, which no
    // statement can name again.
    const UNWRITABLE: &[&str] = &["anonymous_odd_name.fbp"];
    let mut round_tripped = 0;
    for file in corpus() {
        let text = std::fs::read_to_string(&file).unwrap();
        for case_sensitive in [false, true] {
            let options = FbpOptions { case_sensitive };
            let Ok(graph) = parse_fbp(&text, &file, options) else { continue };
            if UNWRITABLE.iter().any(|name| file.ends_with(name)) {
                let err = to_fbp(&graph).unwrap_err().to_string();
                assert!(err.contains("the process name \"_a_b/c_1\""), "{err}");
                continue;
            }
            let written = to_fbp(&graph).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let again = parse_fbp(&written, Path::new("written.fbp"), options)
                .unwrap_or_else(|e| panic!("{}: {e}\n{written}", file.display()));
            assert_eq!(again, graph, "{}:\n{written}", file.display());
            // And through FBP JSON.
            let json = parse_json(graph.to_fbp_json().as_bytes(), Path::new("g.json")).unwrap();
            assert_eq!(json, graph);
            round_tripped += 1;
        }
    }
    assert!(round_tripped >= 40, "{round_tripped}");
}

#[test]
fn load_graph_reads_fbp_and_resolves_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.fbp");
    std::fs::write(&path, "'3' -> COUNT Gen(reflow/Range) OUT -> INPUT D(doubler) OUTPUT -> IN Out(core/Output)\n").unwrap();
    let graph = load_graph(&path).unwrap();
    let components: Vec<&str> = graph.processes().map(|p| p.component.as_str()).collect();
    assert_eq!(components, ["reflow/Range", "doubler.wasm", "core/Output"]);
    assert_eq!(graph.process("D").unwrap().plugin_path(dir.path()), Some(dir.path().join("doubler.wasm")));
    // Written back, the plugin is a bare name again.
    let text = to_fbp(&graph).unwrap();
    assert!(text.contains("D(doubler)"), "{text}");
}

#[test]
fn what_the_language_cannot_say_is_refused_by_name() {
    let mut graph = Graph::new("g");
    graph.add_process("Web Server", "core/Output").unwrap();
    assert_eq!(to_fbp(&graph).unwrap_err().to_string(), "cannot be written as .fbp: the process name \"Web Server\"");
    let mut graph = Graph::new("g");
    graph.add_process("a", "core/Output").unwrap();
    graph.add_initial(json!(true), reflow_network::graph::PortRef::new("a", "in"), Map::new()).unwrap();
    let err = to_fbp(&graph).unwrap_err().to_string();
    assert!(err.contains("the IIP true"), "{err}");
}
