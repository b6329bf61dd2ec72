//! The real-world FBP graphs in `shared/fixtures/fbp-graphs` (beside the repository), checked
//! against the facts their `SOURCES.md` records. Read in place, never copied. The folder is
//! part of the test environment (CI lays `shared/` beside the clone): without it these tests
//! fail, saying where they looked, rather than pass having checked nothing.
//! `REFLOW_FBP_FIXTURES=DIR` points them elsewhere.

use reflow_network::graph::{Graph, PortDirection};
use reflow_network::loader::fbp::{parse_fbp, FbpOptions};
use reflow_network::loader::json::parse_json;
use reflow_network::load_graph;
use serde_json::json;
use std::path::{Path, PathBuf};

pub(super) fn fixtures() -> PathBuf {
    let dir = std::env::var_os("REFLOW_FBP_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fbp-graphs"));
    assert!(
        dir.is_dir(),
        "the shared FBP fixtures are not at {} (set REFLOW_FBP_FIXTURES=DIR to point at them)",
        dir.display()
    );
    dir
}

/// One row of SOURCES.md's "Facts a correct JSON loader must report".
struct Facts {
    file: &'static str,
    processes: usize,
    edges: usize,
    iips: usize,
    indexed_edges: usize,
    indexed_iips: usize,
    inports: &'static [&'static str],
    outports: &'static [&'static str],
    groups: usize,
}

const fn facts(
    file: &'static str,
    [processes, edges, iips, indexed_edges, indexed_iips]: [usize; 5],
    inports: &'static [&'static str],
    outports: &'static [&'static str],
    groups: usize,
) -> Facts {
    Facts { file, processes, edges, iips, indexed_edges, indexed_iips, inports, outports, groups }
}

const FACTS: &[Facts] = &[
    facts("noflo__count.json", [4, 4, 2, 0, 0], &[], &[], 0),
    facts("noflo__hello.json", [8, 8, 2, 0, 0], &[], &[], 0),
    facts("the-graph__photobooth.json", [48, 59, 27, 0, 0], &["prev", "next"], &["image"], 6),
    facts("fbp-graph__Graph-spec-fixture.json", [4, 2, 4, 1, 2], &["inPut"], &["outPut"], 2),
    facts("imgflo-server__delaunay_triangles.json", [24, 31, 31, 0, 0], &["canvas", "seed"], &["output"], 4),
    facts("imgflo-server__noop.json", [0, 0, 0, 0, 0], &[], &[], 0),
    facts("imgflo__checker.json", [3, 2, 2, 0, 0], &["x"], &["output"], 0),
    facts(
        "ingress-table__FetchData.json",
        [15, 16, 6, 0, 0],
        &["portalconfig", "poll", "apiconfig", "fetch"],
        &["portals", "state", "apierror", "configerror", "missingconfig", "mainportal"],
        4,
    ),
    facts("c-flo__main.json", [64, 99, 6, 0, 0], &[], &[], 0),
    facts("microflo__juletre.json", [12, 12, 10, 0, 0], &[], &[], 0),
    facts("noflo-gnome__Main.json", [68, 95, 49, 0, 0], &[], &[], 14),
    facts("noflo-canvas__ResizeCanvas.json", [11, 14, 7, 0, 0], &["width", "height", "in"], &["out"], 0),
    facts("bitraf-iot__main.json", [19, 22, 1, 0, 0], &[], &[], 3),
    facts("powertechnician__Server.json", [11, 13, 7, 0, 0], &["forecast"], &["stations", "received"], 1),
];

fn load(dir: &Path, file: &str) -> Graph {
    load_graph(&dir.join(file)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_json_graph_loads_with_the_recorded_facts() {
    let dir = fixtures();
    let mut failures = Vec::new();
    for f in FACTS {
        let g = load(&dir, f.file);
        let indexed_edges = g.edges().filter(|e| e.src.index.is_some() || e.tgt.index.is_some()).count();
        let indexed_iips = g.initials().filter(|i| i.tgt.index.is_some()).count();
        let got = (
            g.processes().len(),
            g.edges().count(),
            g.initials().count(),
            indexed_edges,
            indexed_iips,
            g.inports().map(|(name, _)| name).collect::<Vec<_>>(),
            g.outports().map(|(name, _)| name).collect::<Vec<_>>(),
            g.groups().len(),
        );
        let want = (
            f.processes,
            f.edges,
            f.iips,
            f.indexed_edges,
            f.indexed_iips,
            f.inports.to_vec(),
            f.outports.to_vec(),
            f.groups,
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, SOURCES.md says {want:?}", f.file));
        }
        // "No file has a dangling process reference, a duplicate edge, or a group naming a
        // missing process."
        assert!(g.duplicate_processes().is_empty(), "{}", f.file);
        for group in g.groups() {
            assert!(group.nodes.iter().all(|n| g.process(n).is_some()), "{}: group {}", f.file, group.name);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_facts_cover_every_json_graph_in_the_folder() {
    let dir = fixtures();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "graph.schema.json")
        .collect();
    files.sort();
    let mut known: Vec<String> = FACTS.iter().map(|f| f.file.to_string()).collect();
    known.sort();
    assert_eq!(files, known);
}

#[test]
fn every_json_graph_round_trips() {
    let dir = fixtures();
    for f in FACTS {
        let g = load(&dir, f.file);
        let text = g.to_fbp_json();
        let back = parse_json(text.as_bytes(), Path::new(f.file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, g, "{}", f.file);
    }
}

#[test]
fn the_traps_are_survived() {
    let dir = fixtures();

    let spec = load(&dir, "fbp-graph__Graph-spec-fixture.json");
    assert!(spec.case_sensitive);
    assert_eq!(spec.name, "Example");
    assert_eq!((spec.properties["foo"].as_str(), spec.properties["bar"].as_str()), (Some("Baz"), Some("Foo")));
    let indexed: Vec<String> =
        spec.connections().iter().filter(|c| c.tgt().index.is_some()).map(|c| c.to_string()).collect();
    assert_eq!(
        indexed,
        ["Foo.out2 -> Bar.in2[2]", "\"Cheers, world!\" -> Foo.arr[0]", "\"Cheers, world, 2!\" -> Foo.arr[1]"]
    );
    assert_eq!(spec.export(PortDirection::In, "inPut").unwrap().metadata["x"], 5);
    assert_eq!(spec.groups()[0].metadata["label"], "Main");
    assert!(spec.groups()[1].metadata.is_empty());
    assert_eq!(spec.edges().next().unwrap().metadata["route"], "foo");

    let photobooth = load(&dir, "the-graph__photobooth.json");
    assert!(photobooth.process("routers/KickRouter_bzaiw").is_some());
    assert_eq!(photobooth.export(PortDirection::In, "prev").unwrap().process, "routers/KickRouter_bzaiw");
    assert!(photobooth.connections().iter().any(|c| c.tgt().port == "index" && c.tgt().index.is_none()));

    let delaunay = load(&dir, "imgflo-server__delaunay_triangles.json");
    assert!(delaunay.initials().any(|i| i.tgt.port == "index" && i.data == json!(0)));
    assert!(delaunay.edges().any(|e| e.metadata.get("route") == Some(&json!(null))));

    let cflo = load(&dir, "c-flo__main.json");
    assert!(cflo.processes().all(|p| p.metadata.is_empty()));

    let juletre = load(&dir, "microflo__juletre.json");
    assert!(juletre.legacy_exports().is_empty());
    assert!(juletre.properties["environment"].get("type").is_none());

    let hello = load(&dir, "noflo__hello.json");
    assert_eq!(hello.process("Web Server").unwrap().component, "HTTP/Server");
    assert!(hello.initials().any(|i| i.data == json!(8003)));
    assert_eq!(hello.process("Greet User").unwrap().component, "./examples/http/HelloController");
    assert!(!hello.process("Greet User").unwrap().is_plugin());

    let canvas = load(&dir, "noflo-canvas__ResizeCanvas.json");
    assert!(canvas.initials().any(|i| i.data == json!({"x": 0, "y": 0})));
    assert!(canvas.initials().any(|i| i.data.is_boolean()));

    let noop = load(&dir, "imgflo-server__noop.json");
    assert_eq!((noop.processes().len(), noop.connections().len()), (0, 0));
}

#[test]
fn the_fbp_files_with_json_twins_read_as_their_twins() {
    let dir = fixtures();
    for (fbp, json) in [("noflo__count.fbp", "noflo__count.json"), ("imgflo__checker.fbp", "imgflo__checker.json")] {
        let text = std::fs::read_to_string(dir.join(fbp)).unwrap();
        let from_fbp = parse_fbp(&text, Path::new(fbp), FbpOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let from_json = load(&dir, json);
        let processes = |g: &Graph| g.processes().map(|p| (p.name().to_string(), p.component.clone())).collect::<Vec<_>>();
        assert_eq!(processes(&from_fbp), processes(&from_json), "{fbp}");
        let mut a: Vec<String> = from_fbp.connections().iter().map(|c| format!("{c:?}")).collect();
        let mut b: Vec<String> = from_json.connections().iter().map(|c| format!("{c:?}")).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{fbp}");
        for direction in [PortDirection::In, PortDirection::Out] {
            let ports = |g: &Graph| {
                g.exports(direction).map(|(n, p)| (n.to_string(), p.process.clone(), p.port.clone())).collect::<Vec<_>>()
            };
            assert_eq!(ports(&from_fbp), ports(&from_json), "{fbp}");
        }
    }
    // The other three load too (their facts are checked by the differential test in fbp.rs).
    for file in ["noflo__subgraph.fbp", "noflo-ui__ContextReducer.fbp", "noflo-ui__RuntimeMiddleware.fbp"] {
        load_graph(&dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
    }
}
