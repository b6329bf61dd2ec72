//! What a page's event stream carries: the graph, counts that grow, the selected edge's
//! messages (what the graph sent), and the end with the final table.

use super::support::{inspector, network, parts, request, Events};
use reflow_network::RunOptions;
use std::sync::atomic::Ordering;

#[test]
fn a_page_sees_the_graph_its_counts_grow_then_the_end() {
    let network = network();
    let mut inspector = inspector(&network);
    let (addr, token) = parts(&inspector.url());
    let options = RunOptions { probe: Some(inspector.probe()), observe_edges: true, ..RunOptions::default() };
    let stop = options.stop.clone();
    let observer = inspector.observer();
    {
        // (A network is not shared between threads: it moves to the run's.)
        let run = std::thread::spawn(move || network.run(&options, observer).unwrap());
        let mut events = Events::open(&addr, &token);
        let (kind, hello) = events.next().unwrap();
        assert_eq!(kind, "hello");
        let names: Vec<&str> = hello["graph"]["processes"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["numbers", "sink"]);
        assert_eq!(hello["graph"]["edges"][0], serde_json::json!({"from": "numbers", "outport": "out", "to": "sink", "inport": "in"}));
        assert_eq!(hello["graph"]["processes"][1]["inports"], serde_json::json!(["in"]));
        let viewer = hello["viewer"].as_u64().unwrap();
        let (code, text) = request(&addr, "POST", &format!("/select?token={token}&viewer={viewer}&edge=0"), &addr, &[]);
        assert_eq!(code, 204, "{text}");

        // Counts that grow, then the edge's messages: numbers sends 1, 2, 3, ...
        let mut last = 0;
        let mut grew = 0;
        let detail = loop {
            let (kind, event) = events.next().expect("the stream goes on while the run does");
            match kind.as_str() {
                "tick" => {
                    let sent = event["edges"][0][0].as_u64().unwrap();
                    assert!(sent >= last, "counts never go back: {last} then {sent}");
                    grew += usize::from(sent > last);
                    last = sent;
                }
                "detail" if grew >= 2 && event["messages"].as_array().unwrap().len() >= 2 => break event,
                _ => {}
            }
        };
        let values: Vec<i64> = detail["messages"].as_array().unwrap().iter().map(|m| m["message"]["data"].as_i64().unwrap()).collect();
        assert!(values.windows(2).all(|w| w[0] == w[1] + 1), "newest first, consecutive: {values:?}");
        assert_eq!(detail["messages"][0]["message"]["type"], "Integer");
        assert!(values[0] as u64 <= detail["sent"].as_u64().unwrap());

        stop.store(true, Ordering::SeqCst);
        let report = run.join().unwrap();
        inspector.finish(Ok(&report));
        let end = loop {
            match events.next() {
                Some((kind, event)) if kind == "end" => break event,
                Some(_) => {}
                None => panic!("the stream ended without the end"),
            }
        };
        assert_eq!(end["failed"], false);
        let sent = report.actors[0].sent;
        assert_eq!(end["table"][0]["name"], "numbers");
        assert_eq!(end["table"][0]["sent"], sent);
        assert!(events.next().is_none(), "the stream ends after the end");

        // A page opened afterwards still gets the graph, the last counts and the end.
        let mut late = Events::open(&addr, &token);
        let kinds: Vec<String> = std::iter::from_fn(|| late.next()).map(|(kind, _)| kind).collect();
        assert_eq!(kinds, ["hello", "tick", "end"]);
    }
}
