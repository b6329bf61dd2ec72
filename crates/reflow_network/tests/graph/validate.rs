//! Validation against a fake component catalog (`tests/data/components.json`). Each
//! `tests/data/validate/NAME.json` is checked against `NAME.expected`, one error per line
//! (empty: valid). Run with `BLESS=1` to rewrite the expected files from the output.

use reflow_abi::{PluginMetadata, PortDefinition};
use reflow_network::graph::{ExportedPort, Graph, PortDirection, PortRef, Process};
use reflow_network::validate::Problem;
use reflow_network::{load_graph, validate, ComponentCatalog, NetworkError};
use std::io;
use std::sync::Arc;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Built-ins by name and plugins by component path, as a real catalog would find them.
#[derive(serde::Deserialize)]
struct FakeCatalog {
    builtins: BTreeMap<String, PluginMetadata>,
    plugins: BTreeMap<String, PluginMetadata>,
    #[serde(skip)]
    graph_dir: PathBuf,
}

impl FakeCatalog {
    fn for_graph(graph_file: &Path) -> Self {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/components.json")).unwrap();
        let mut catalog: FakeCatalog = serde_json::from_str(&text).unwrap();
        catalog.graph_dir = graph_file.parent().unwrap_or(Path::new("")).to_path_buf();
        catalog
    }
}

impl ComponentCatalog for FakeCatalog {
    fn ports(&self, process: &Process) -> Result<PluginMetadata, NetworkError> {
        if let Some(path) = process.plugin_path(&self.graph_dir) {
            return self
                .plugins
                .get(&process.component)
                .cloned()
                .ok_or_else(|| NetworkError::ReadPlugin { path, source: Arc::new(io::Error::new(io::ErrorKind::NotFound, "no such file")) });
        }
        self.builtins.get(&process.component).cloned().ok_or_else(|| NetworkError::UnknownBuiltin {
            component: process.component.clone(),
            known: self.builtins.keys().cloned().collect(),
        })
    }
}

/// The validation errors of a graph file, one line each (empty if valid). `graph_file` is
/// relative to the crate, so the expected lines do not depend on where the checkout is.
fn errors_of(graph_file: &Path) -> String {
    let graph = load_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join(graph_file)).unwrap_or_else(|e| panic!("{e}"));
    let mut lines: String = match validate(&graph, graph_file, &FakeCatalog::for_graph(graph_file)) {
        Ok(()) => String::new(),
        Err(errors) => errors.iter().map(|e| format!("{e}\n")).collect(),
    };
    lines.extend(reflow_network::warnings(&graph, graph_file).iter().map(|w| format!("warning: {w}\n")));
    lines
}

#[test]
fn each_case_reports_exactly_its_expected_lines() {
    let bless = std::env::var_os("BLESS").is_some();
    let dir = Path::new("tests/data/validate");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|entry| dir.join(entry.unwrap().file_name()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "validation cases missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let got = errors_of(case);
        let expected_file = Path::new(env!("CARGO_MANIFEST_DIR")).join(case.with_extension("expected"));
        if bless {
            std::fs::write(&expected_file, &got).unwrap();
            continue;
        }
        let want =
            std::fs::read_to_string(&expected_file).unwrap_or_else(|e| panic!("{}: {e}", expected_file.display()));
        if got != want {
            failures.push(format!("{}:\n--- expected\n{want}--- got\n{got}", case.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

struct OnePlugin;

impl ComponentCatalog for OnePlugin {
    fn ports(&self, process: &Process) -> Result<PluginMetadata, NetworkError> {
        match process.component.as_str() {
            "doubler.wasm" => Ok(PluginMetadata {
                component: "Doubler".into(),
                description: String::new(),
                inports: vec![PortDefinition::new("input", "", "Integer", true)],
                outports: vec![PortDefinition::new("output", "", "Integer", false)],
                config_schema: None,
            }),
            "Source" => Ok(PluginMetadata {
                component: "Source".into(),
                description: String::new(),
                inports: vec![],
                outports: vec![PortDefinition::new("out", "", "Any", false)],
                config_schema: None,
            }),
            other => Err(NetworkError::UnknownComponent { component: other.to_string() }),
        }
    }
}

#[test]
fn an_error_is_one_line_naming_file_process_and_port() {
    let mut g = Graph::new("demo");
    g.add_process("src", "Source").unwrap();
    g.add_process("double", "doubler.wasm").unwrap();
    g.add_edge(PortRef::new("src", "out"), PortRef::new("double", "inptu"), Default::default()).unwrap();
    let errors = validate(&g, Path::new("examples/graphs/demo.json"), &OnePlugin).unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            r#"examples/graphs/demo.json: process "double": inport "inptu" is not declared by component "doubler.wasm" (inports: input)"#,
            r#"examples/graphs/demo.json: process "double": required inport "input" of component "doubler.wasm" has no edge and no initial packet"#,
        ]
    );
    assert!(
        matches!(&errors[0].problem, Problem::UndeclaredPort { port, direction: PortDirection::In, .. } if port == "inptu")
    );
    assert!(lines.iter().all(|line| !line.contains('\n')));
}

#[test]
fn fixing_the_graph_in_code_makes_it_valid() {
    let mut g = Graph::new("demo");
    g.add_process("src", "Source").unwrap();
    g.add_process("double", "doubler.wasm").unwrap();
    g.add_edge(PortRef::new("src", "out"), PortRef::with_index("double", "INPUT", 0), Default::default()).unwrap();
    g.add_export(PortDirection::Out, "result", ExportedPort::new("double", "output")).unwrap();
    assert_eq!(validate(&g, Path::new("demo.json"), &OnePlugin), Ok(()));
    g.case_sensitive = true;
    assert_eq!(validate(&g, Path::new("demo.json"), &OnePlugin).unwrap_err().len(), 2, "INPUT no longer matches");
}
