//! Order per connection, IIPs first, and when an actor with `required` inports fires.

use super::*;
use crate::scheduler::{run, Export, RunOptions};
use crate::{ComponentError, Outputs, Payload};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Records every payload it is called with.
struct Recorder {
    metadata: PluginMetadata,
    calls: Arc<Mutex<Vec<HashMap<String, Message>>>>,
}

impl Recorder {
    fn new(inports: Vec<PortDefinition>) -> (Self, Arc<Mutex<Vec<HashMap<String, Message>>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let metadata = PluginMetadata { component: "test/Recorder".into(), description: String::new(), inports, outports: vec![], config_schema: None };
        (Recorder { metadata, calls: calls.clone() }, calls)
    }
}

impl Component for Recorder {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, payload: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        self.calls.lock().unwrap().push(std::mem::take(payload).into_map());
        Ok(())
    }
}

#[test]
fn order_is_kept_per_connection_when_two_sources_merge() {
    let actors = vec![
        actor("low", builtin("reflow/Range", json!({"start": 1, "end": 2000}))),
        actor("high", builtin("reflow/Range", json!({"start": 100_001, "end": 102_000}))),
        actor("merge", builtin("core/Repeat", json!({}))),
    ];
    let routes = [route(0, "out", 2, "in"), route(1, "out", 2, "in")];
    let exports = [Export { name: "out".into(), actor: 2, port: "out".into() }];
    let collector = Arc::new(Collector::default());
    let options = RunOptions { queue_capacity: 4, ..RunOptions::default() };
    run(actors, &routes, &exports, &options, collector.clone());
    let got = collector.integers("out");
    let low: Vec<i64> = got.iter().copied().filter(|&i| i <= 2000).collect();
    let high: Vec<i64> = got.iter().copied().filter(|&i| i > 2000).collect();
    assert_eq!(low, (1..=2000).collect::<Vec<_>>());
    assert_eq!(high, (100_001..=102_000).collect::<Vec<_>>());
}

#[test]
fn initial_packets_arrive_before_anything_else() {
    let (recorder, calls) = Recorder::new(vec![port("data", false), port("setting", false)]);
    let mut target = actor("target", Box::new(recorder));
    target.initial = vec![("setting".into(), Message::String("first".into())), ("setting".into(), Message::String("second".into()))];
    let actors = vec![actor("src", builtin("reflow/Range", json!({"start": 1, "end": 50}))), target];
    run(actors, &[route(0, "out", 1, "data")], &[], &RunOptions::default(), Arc::new(Collector::default()));
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 52);
    assert_eq!(calls[0]["setting"], Message::String("first".into()));
    assert_eq!(calls[1]["setting"], Message::String("second".into()));
    assert!(calls[2..].iter().all(|c| c.contains_key("data") && c.len() == 1), "one port per call without required ports");
}

#[test]
fn required_inports_gate_calls_until_each_holds_a_message() {
    let (recorder, calls) = Recorder::new(vec![port("x", true), port("y", true), port("note", false)]);
    let mut target = actor("pair", Box::new(recorder));
    target.initial = vec![
        ("x".into(), Message::Integer(1)),
        ("note".into(), Message::String("n".into())),
        ("x".into(), Message::Integer(2)),
        ("x".into(), Message::Integer(3)),
        ("y".into(), Message::Integer(10)),
        ("y".into(), Message::Integer(20)),
    ];
    let report = run(vec![target], &[], &[], &RunOptions::default(), Arc::new(Collector::default()));
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0]["x"].clone(), calls[0]["y"].clone()), (Message::Integer(1), Message::Integer(10)));
    assert_eq!(calls[0]["note"], Message::String("n".into()), "optional ports that hold a message ride along");
    assert_eq!((calls[1]["x"].clone(), calls[1]["y"].clone()), (Message::Integer(2), Message::Integer(20)));
    assert!(!calls[1].contains_key("note"));
    assert_eq!(report.actors[0].unfired, 1, "x=3 never found a y");
}
