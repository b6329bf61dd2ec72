//! The FBP JSON loader and writer, on graphs in `tests/data/graphs`.

use reflow_network::graph::{Connection, Graph, PortDirection, PortRef};
use reflow_network::loader::json::parse_json;
use reflow_network::{load_graph, GraphError};
use serde_json::json;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/graphs").join(name)
}

fn load(name: &str) -> Graph {
    load_graph(&data(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes `graph` as FBP JSON, reads it back, and checks nothing changed.
fn assert_round_trips(graph: &Graph) {
    let text = graph.to_fbp_json();
    let back = parse_json(text.as_bytes(), Path::new("round-trip.json")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, graph, "{text}");
}

#[test]
fn a_noflo_style_graph_loads_with_every_detail() {
    let g = load("noflo_style.json");
    assert_eq!(g.name, "Photo Sorter");
    assert!(!g.case_sensitive);
    assert_eq!(g.properties["icon"], "camera");
    assert_eq!(g.properties["environment"], json!({"runtime": "reflow", "type": "reflow"}));
    assert!(!g.properties.contains_key("name"), "the name is `Graph::name`");

    let names: Vec<_> = g.processes().map(|p| p.name()).collect();
    assert_eq!(names, ["fs/ReadDir_x1", "Take First", "Sort By Date", "Merge", "Write Log"], "file order");
    let take = g.process("Take First").unwrap();
    assert_eq!(take.component, "core/Take");
    assert_eq!(take.config, json!({"count": 10, "strict": true}).as_object().unwrap().clone());
    assert!(!take.metadata.contains_key("config"), "config is taken out of the metadata");
    assert_eq!(take.metadata["label"], "Take First");
    let sort = g.process("Sort By Date").unwrap();
    assert!(sort.is_plugin());
    assert_eq!(sort.config["nested"], json!({"a": null}));
    assert_eq!(sort.metadata["routes"], json!(["one", "two"]));
    assert_eq!(sort.plugin_path(Path::new("/g")), Some(PathBuf::from("/g/plugins/sort.wasm")));
    let log = g.process("Write Log").unwrap();
    assert_eq!(log.plugin_path(Path::new("/g")), Some(PathBuf::from("/opt/reflow/plugins/log.wasm")));
    assert!(log.metadata.is_empty(), "metadata: null is empty");
    assert!(!g.process("Merge").unwrap().is_plugin());

    let edges: Vec<_> = g.edges().map(|e| format!("{} -> {}", e.src, e.tgt)).collect();
    assert_eq!(
        edges,
        [
            "fs/ReadDir_x1.out -> Take First.IN",
            "Take First.out -> Sort By Date.in",
            "Sort By Date.out[0] -> Merge.in[2]",
            "Merge.out -> Write Log.index",
        ]
    );
    let first = g.edges().next().unwrap();
    assert_eq!(first.metadata["route"], "10", "route kept as written");

    let iips: Vec<_> = g.initials().map(|i| (i.data.clone(), i.tgt.to_string())).collect();
    assert_eq!(
        iips,
        [
            (json!("/home/me/photos"), "fs/ReadDir_x1.path".to_string()),
            (json!(8003), "Take First.count".into()),
            (json!(-2.5), "Sort By Date.weight".into()),
            (json!(true), "Sort By Date.reverse".into()),
            (json!(false), "Merge.strict".into()),
            (json!(null), "Merge.seed".into()),
            (json!({"x": 0, "y": 0}), "Merge.origin".into()),
            (json!([1, "two", [3]]), "Merge.arr[0]".into()),
            (json!("second"), "Merge.arr[1]".into()),
        ]
    );
    // Edges and IIPs keep their interleaved order.
    assert!(matches!(g.connections()[3], Connection::Edge(_)));
    assert!(matches!(g.connections()[4], Connection::Initial(_)));

    let inports: Vec<_> = g.inports().map(|(name, p)| format!("{name}={}.{}", p.process, p.port)).collect();
    assert_eq!(inports, ["folder=fs/ReadDir_x1.path", "limit=Take First.count"]);
    assert_eq!(g.export(PortDirection::In, "folder").unwrap().metadata["y"], 144);
    let outports: Vec<_> = g.outports().map(|(name, _)| name).collect();
    assert_eq!(outports, ["sorted"]);

    assert_eq!(g.groups().len(), 2);
    assert_eq!(g.groups()[0].name, "input side");
    assert_eq!(g.groups()[0].nodes, ["fs/ReadDir_x1", "Take First"]);
    assert_eq!(g.groups()[0].metadata["color"], 2);
    assert!(g.groups()[1].metadata.is_empty());
    assert!(g.duplicate_processes().is_empty());
}

#[test]
fn empty_arrays_for_exported_ports_mean_none() {
    let g = load("empty_exports.json");
    assert_eq!((g.inports().len(), g.outports().len()), (0, 0));
    assert_eq!(g.processes().len(), 2);
    assert!(g.processes().all(|p| p.metadata.is_empty() && p.config.is_empty()));
}

#[test]
fn legacy_exports_are_read_and_kept_apart() {
    let g = load("legacy_exports.json");
    assert_eq!((g.inports().len(), g.outports().len()), (0, 0));
    let legacy: Vec<_> = g.legacy_exports().iter().map(|e| format!("{}={}.{}", e.public, e.process, e.port)).collect();
    // `blink.in` names process `Blink`: old NoFlo lowercased it.
    assert_eq!(legacy, ["start=Blink.in", "lit=Led.out"]);
    assert_eq!(g.legacy_exports()[1].metadata["x"], 10);
    assert_eq!(g.properties["environment"], json!({"runtime": "websocket"}));
}

#[test]
fn case_sensitive_graphs_keep_camel_case_ports() {
    let g = load("case_sensitive.json");
    assert!(g.case_sensitive);
    assert_eq!(g.properties["foo"], "Baz");
    assert_eq!(g.inports().next().unwrap().1.port, "inPut");
    assert_eq!(g.edges().next().unwrap().tgt, PortRef::new("Bar", "inPut"));
}

#[test]
fn every_graph_round_trips_through_fbp_json() {
    for name in ["noflo_style.json", "empty_exports.json", "legacy_exports.json", "case_sensitive.json", "empty.json"] {
        assert_round_trips(&load(name));
    }
}

#[test]
fn a_graph_built_in_code_round_trips_with_edits() {
    let mut g = load("noflo_style.json");
    g.rename_process("Take First", "take/first one").unwrap();
    g.remove_process("Merge").unwrap();
    g.add_process("Extra", "x.wasm").unwrap().config.insert("k".into(), json!([1]));
    g.add_edge(PortRef::new("take/first one", "out"), PortRef::with_index("Extra", "in", 7), Default::default())
        .unwrap();
    g.add_initial(json!({"deep": [{"a": null}]}), PortRef::new("Extra", "opts"), Default::default()).unwrap();
    assert_eq!(g.process("take/first one").unwrap().name(), "take/first one");
    assert_eq!(g.inports().nth(1).unwrap().1.process, "take/first one");
    assert_round_trips(&g);
}

#[test]
fn malformed_json_names_the_file_line_and_column() {
    let path = data("broken/trailing_comma.json");
    let err = load_graph(&path).unwrap_err();
    let GraphError::Json { ref file, line, column, .. } = err else { panic!("{err:?}") };
    assert_eq!(file, &path);
    assert_eq!((line, column), (4, 3));
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("{}:4:3: invalid JSON: ", path.display())), "{shown}");
}

#[test]
fn a_graph_that_is_not_an_object_is_refused_with_a_position() {
    let err = load_graph(&data("broken/not_an_object.json")).unwrap_err();
    assert!(matches!(err, GraphError::Json { line: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("expected an FBP graph (a JSON object)"), "{err}");
}

#[test]
fn a_connection_to_a_missing_process_names_file_and_connection() {
    let path = data("broken/unknown_process.json");
    let err = load_graph(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: connections[1] (Reader.out -> Web Server.in): process \"Web Server\" does not exist",
            path.display()
        )
    );
}

#[test]
fn a_wrong_shape_names_file_and_place() {
    let path = data("broken/bad_component.json");
    let err = load_graph(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: processes[\"Web Server\"].component: expected a string, got an array", path.display())
    );
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let path = data("no_such_graph.json");
    let err = load_graph(&path).unwrap_err();
    assert!(matches!(err, GraphError::Read { ref file, .. } if file == &path), "{err:?}");
    assert!(err.to_string().starts_with(&path.display().to_string()), "{err}");
}

#[test]
fn unknown_extensions_are_refused_clearly() {
    let err = load_graph(Path::new("graph.yaml")).unwrap_err();
    assert!(matches!(err, GraphError::UnsupportedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("expected a .json FBP graph or a .fbp file"), "{err}");
}

#[test]
fn a_process_defined_twice_is_recorded_and_the_last_wins() {
    let text = r#"{"processes": {"a": {"component": "One"}, "b": {"component": "B"}, "a": {"component": "Two"}}}"#;
    let g = parse_json(text.as_bytes(), Path::new("dup.json")).unwrap();
    assert_eq!(g.duplicate_processes(), ["a"]);
    let names: Vec<_> = g.processes().map(|p| (p.name(), p.component.as_str())).collect();
    assert_eq!(names, [("a", "Two"), ("b", "B")]);
}
