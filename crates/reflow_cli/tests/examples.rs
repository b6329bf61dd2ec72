//! Every graph in `examples/graphs` runs with the output its README line promises.

use crate::support::*;
use serde_json::Value;
use std::path::Path;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn word_count_counts_with_a_rust_and_a_go_plugin() {
    let out = reflow(&["run", "--ephemeral", "examples/graphs/word-count.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let counted: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pairs: Vec<(String, i64)> =
        counted.iter().map(|v| (v["word"].as_str().unwrap().to_string(), v["count"].as_i64().unwrap())).collect();
    let expected = [("the", 1), ("cat", 1), ("sat", 1), ("the", 2), ("cat", 2), ("ran", 1), ("the", 3), ("dog", 1), ("sat", 2)];
    assert_eq!(pairs, expected.map(|(w, n)| (w.to_string(), n)));
}

#[test]
fn the_orders_pipeline_writes_filtered_mapped_enriched_records() {
    // Run from a copy whose output file is in a temporary folder, not in the source tree.
    let dir = tempfile::tempdir().unwrap();
    let graphs = root().join("examples/graphs").canonicalize().unwrap();
    let mut graph: Value =
        serde_json::from_str(&std::fs::read_to_string(graphs.join("orders-pipeline.json")).unwrap()).unwrap();
    for process in graph["processes"].as_object_mut().unwrap().values_mut() {
        let component = process["component"].as_str().unwrap().to_string();
        if component.ends_with(".wasm") {
            process["component"] = Value::String(graphs.join(&component).display().to_string());
        }
        if let Some(path) = process.pointer_mut("/metadata/config/path") {
            let absolute = graphs.join(path.as_str().unwrap());
            *path = Value::String(absolute.display().to_string());
        }
    }
    let out_file = dir.path().join("orders.out.jsonl");
    graph["processes"]["write"]["metadata"]["config"]["path"] = Value::String(out_file.display().to_string());
    let copy = dir.path().join("orders-pipeline.json");
    std::fs::write(&copy, graph.to_string()).unwrap();

    let out = reflow(&["run", "--ephemeral", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(&out_file).unwrap();
    let records: Vec<Value> = written.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["data"].clone()).collect();
    let summary: Vec<(i64, f64, &str)> = records
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["total"].as_f64().unwrap(), r["currency"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [(1, 15.0, "EUR"), (3, 0.5, "EUR"), (4, 60.0, "EUR")]);
    assert!(Path::new(&out_file).is_file());
}

#[test]
fn the_fan_out_fan_in_graph_sends_bad_records_to_the_error_port() {
    let out = reflow(&["run", "--ephemeral", "examples/graphs/orders-fan.json"]);
    // Two failed calls make the run's exit status a failure, after everything was processed.
    assert!(!out.status.success());
    assert!(stderr(&out).contains("2 failed call(s) in examples/graphs/orders-fan.json; every other message was processed"), "{}", stderr(&out));
    let printed: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["data"].clone()).collect();
    let (errors, good): (Vec<&Value>, Vec<&Value>) = printed.iter().partition(|v| v.get("error").is_some());
    let reasons: Vec<&str> = errors.iter().map(|e| e["error"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["record 2: qty must be a number", "record 4: qty must be a number"]);
    assert_eq!(errors[0]["payload"]["in"]["data"]["item"], "desk", "the error carries the record");
    let mut joined: Vec<String> = good.iter().map(|v| v.to_string()).collect();
    joined.sort();
    let mut want = vec![
        r#"{"id":1,"item":"pen","qty":10,"price":1.5,"total":15.0}"#,
        r#"{"id":3,"item":"lamp","qty":3,"price":20,"total":60.0}"#,
        r#"{"id":1,"item":"pen","qty":10,"price":1.5,"checked":true}"#,
        r#"{"id":3,"item":"lamp","qty":3,"price":20,"checked":true}"#,
    ];
    want.sort();
    assert_eq!(joined, want, "both branches joined at one printer");
}

#[test]
fn the_fbp_example_doubles_its_iips() {
    let out = reflow(&["run", "--ephemeral", "examples/graphs/doubling.fbp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lines(&stdout(&out)), ["2", "4", "6"]);
}
