//! The scheduler's options for live editors: edge observation and halting a run that would
//! never end by itself.

use reflow_abi::Message;
use reflow_network::scheduler::{self, ActorSpec, Route};
use reflow_network::{builtins, ActorFailure, Halt, Observer, RunOptions};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder {
    edges: Mutex<Vec<(usize, Message)>>,
}

impl Observer for Recorder {
    fn exported(&self, _: &str, _: &Message) {}
    fn failed(&self, _: &ActorFailure) {}
    fn edge_data(&self, route: usize, message: &Message) {
        self.edges.lock().unwrap().push((route, message.clone()));
    }
}

fn actor(name: &str, component: &str, initial: Vec<(String, Message)>) -> ActorSpec {
    let component = builtins::create(component, &Default::default(), Path::new(".")).unwrap().unwrap();
    ActorSpec { name: name.into(), component, initial, policy: Default::default() }
}

fn route(from: usize, to: usize) -> Route {
    Route { from, outport: "out".into(), to, inport: "in".into() }
}

/// repeat -> drop, with one IIP into repeat.
fn pipeline() -> (Vec<ActorSpec>, Vec<Route>) {
    let actors = vec![
        actor("repeat", "core/Repeat", vec![("in".into(), Message::Integer(7))]),
        actor("drop", "core/Drop", vec![]),
    ];
    (actors, vec![route(0, 1)])
}

#[test]
fn observed_edges_report_each_message_with_its_route() {
    let (actors, routes) = pipeline();
    let recorder = Arc::new(Recorder::default());
    let options = RunOptions { observe_edges: true, ..RunOptions::default() };
    let report = scheduler::run(actors, &routes, &[], &options, recorder.clone());
    assert_eq!(report.actors[1].received, 1);
    assert_eq!(*recorder.edges.lock().unwrap(), vec![(0, Message::Integer(7))]);
}

#[test]
fn edges_are_not_observed_unless_asked() {
    let (actors, routes) = pipeline();
    let recorder = Arc::new(Recorder::default());
    let report = scheduler::run(actors, &routes, &[], &RunOptions::default(), recorder.clone());
    assert_eq!(report.actors[1].received, 1, "the message still arrives");
    assert!(recorder.edges.lock().unwrap().is_empty());
}

/// Raises `halt` (and `stop`) once `after` messages have crossed edges.
struct HaltAfter {
    after: usize,
    seen: Mutex<usize>,
    halt: Halt,
    stop: Arc<AtomicBool>,
}

impl Observer for HaltAfter {
    fn exported(&self, _: &str, _: &Message) {}
    fn failed(&self, _: &ActorFailure) {}
    fn edge_data(&self, _: usize, _: &Message) {
        let mut seen = self.seen.lock().unwrap();
        *seen += 1;
        if *seen == self.after {
            self.stop.store(true, Ordering::SeqCst);
            self.halt.raise();
        }
    }
}

#[test]
fn halting_ends_a_cycle_that_never_ends_by_itself() {
    // a -> b -> a, one packet circling forever: without halt, `run` never returns (the
    // network never becomes quiescent).
    let actors = vec![
        actor("a", "core/Repeat", vec![("in".into(), Message::Integer(1))]),
        actor("b", "core/Repeat", vec![]),
    ];
    let routes = vec![route(0, 1), route(1, 0)];
    let halt = Halt::new();
    let options = RunOptions { halt: Some(halt.clone()), observe_edges: true, ..RunOptions::default() };
    let observer = Arc::new(HaltAfter { after: 1000, seen: Mutex::new(0), halt, stop: options.stop.clone() });
    let report = scheduler::run(actors, &routes, &[], &options, observer.clone());
    assert!(*observer.seen.lock().unwrap() >= 1000);
    assert!(report.actors[0].calls >= 500, "the packet went round: {:?}", report.actors);
    assert!(report.failures.is_empty());
}

#[test]
fn a_halt_raised_before_the_run_ends_it_at_once() {
    let (actors, routes) = pipeline();
    let halt = Halt::new();
    halt.raise();
    let options = RunOptions { halt: Some(halt), ..RunOptions::default() };
    let report = scheduler::run(actors, &routes, &[], &options, Arc::new(Recorder::default()));
    assert_eq!(report.actors[1].calls, 0, "nothing runs in a halted network");
}

#[test]
fn a_probe_counts_what_the_run_did_and_reads_queues() {
    let mut config = serde_json::Map::new();
    config.insert("start".into(), serde_json::json!(1));
    config.insert("end".into(), serde_json::json!(100));
    let range = builtins::create("reflow/Range", &config, Path::new(".")).unwrap().unwrap();
    let actors = vec![
        ActorSpec { name: "numbers".into(), component: range, initial: vec![], policy: Default::default() },
        actor("repeat", "core/Repeat", vec![]),
        actor("drop", "core/Drop", vec![]),
    ];
    let routes = vec![route(0, 1), route(1, 2)];
    let probe = reflow_network::Probe::new();
    assert!(probe.live().is_none(), "nothing until a run attaches");
    let options = RunOptions { probe: Some(probe.clone()), ..RunOptions::default() };
    let report = scheduler::run(actors, &routes, &[], &options, Arc::new(Recorder::default()));
    let live = probe.live().expect("the run attached its counters");
    assert_eq!(live.actors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["numbers", "repeat", "drop"]);
    assert_eq!(live.actors[1].inports, ["in"]);
    assert_eq!(live.actors[1].outports, ["out"]);
    assert_eq!(live.routes, routes);
    let sample = live.sample();
    assert_eq!(sample.routes, [100, 100]);
    assert_eq!(sample.actors.iter().map(|a| a.calls).collect::<Vec<_>>(), [0, 100, 100]);
    assert_eq!(sample.actors[1].calls, report.actors[1].calls);
    let (p50, p99) = (sample.actors[1].p50.unwrap(), sample.actors[1].p99.unwrap());
    assert!(p50 <= p99, "{p50:?} {p99:?}");
    assert_eq!(sample.actors[0].p50, None, "a source makes no calls");
    // After the run, the counters stay and the queues read as empty.
    assert!(sample.actors.iter().all(|a| a.queues.queued.iter().all(|(_, n)| *n == 0)));
}

#[test]
fn a_probe_counts_failed_calls_restarts_and_dead_letters() {
    struct Fails(reflow_abi::PluginMetadata);
    impl reflow_network::Component for Fails {
        fn metadata(&self) -> &reflow_abi::PluginMetadata {
            &self.0
        }
        fn process(&mut self, _: &mut reflow_network::Payload, _: &reflow_network::Outputs) -> Result<(), reflow_network::ComponentError> {
            Err(reflow_network::ComponentError::new("no"))
        }
    }
    let metadata = builtins::create("core/Drop", &Default::default(), Path::new(".")).unwrap().unwrap().metadata().clone();
    let actors = vec![ActorSpec {
        name: "fails".into(),
        component: Box::new(Fails(metadata)),
        initial: vec![("in".into(), Message::Integer(1)), ("in".into(), Message::Integer(2)), ("in".into(), Message::Integer(3))],
        policy: reflow_network::FailurePolicy { max_restarts: Some(1), ..Default::default() },
    }];
    let probe = reflow_network::Probe::new();
    let options = RunOptions { probe: Some(probe.clone()), ..RunOptions::default() };
    scheduler::run(actors, &[], &[], &options, Arc::new(Recorder::default()));
    let a = &probe.live().unwrap().sample().actors[0];
    // Two calls fail (the second stops it: one restart), the third message is a dead letter.
    assert_eq!((a.calls, a.errors, a.restarts, a.dead_letters), (2, 2, 1, 3));
}

#[test]
fn a_paced_range_yields_after_each_integer_and_sends_them_all() {
    let mut config = serde_json::Map::new();
    config.insert("start".into(), serde_json::json!(1));
    config.insert("end".into(), serde_json::json!(5));
    config.insert("interval_ms".into(), serde_json::json!(1));
    let mut range = builtins::create("reflow/Range", &config, Path::new(".")).unwrap().unwrap();
    // One integer per poll, whatever the budget, then "later", and done after the last.
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink: reflow_script::OutputSink = {
        let sent = sent.clone();
        Arc::new(move |_: &str, m: Message| sent.lock().unwrap().push(m))
    };
    let out = reflow_network::Outputs::new(sink, Arc::new(AtomicBool::new(false)));
    for i in 1..=4 {
        assert_eq!(range.poll_source(&out, 64).unwrap(), reflow_network::SourceStatus::Yield, "after {i}");
        assert_eq!(sent.lock().unwrap().len(), i);
    }
    assert_eq!(range.poll_source(&out, 64).unwrap(), reflow_network::SourceStatus::Done);
    assert_eq!(*sent.lock().unwrap(), (1..=5).map(Message::Integer).collect::<Vec<_>>());
    config.insert("interval_ms".into(), serde_json::json!(-1));
    assert!(builtins::create("reflow/Range", &config, Path::new(".")).unwrap().is_err(), "a negative interval is refused");
    // In a run, every integer arrives.
    config.insert("interval_ms".into(), serde_json::json!(1));
    let range = builtins::create("reflow/Range", &config, Path::new(".")).unwrap().unwrap();
    let actors = vec![ActorSpec { name: "numbers".into(), component: range, initial: vec![], policy: Default::default() }, actor("drop", "core/Drop", vec![])];
    let report = scheduler::run(actors, &[route(0, 1)], &[], &RunOptions::default(), Arc::new(Recorder::default()));
    assert_eq!(report.actors[1].received, 5);
}
