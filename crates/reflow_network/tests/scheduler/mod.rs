//! The scheduler's options for live editors: edge observation and halting a run that would
//! never end by itself.

use reflow_abi::Message;
use reflow_network::scheduler::{self, ActorSpec, Route};
use reflow_network::{builtins, ActorFailure, Observer, RunOptions};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

#[test]
fn halting_ends_a_cycle_that_never_ends_by_itself() {
    // a -> b -> a, one packet circling forever (validation forbids cycles, the scheduler does
    // not): without halt, `run` never returns.
    let actors = vec![
        actor("a", "core/Repeat", vec![("in".into(), Message::Integer(1))]),
        actor("b", "core/Repeat", vec![]),
    ];
    let routes = vec![route(0, 1), route(1, 0)];
    let halt = Arc::new(AtomicBool::new(false));
    let options = RunOptions { halt: Some(halt.clone()), ..RunOptions::default() };
    let stop = options.stop.clone();
    let raiser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
        halt.store(true, Ordering::SeqCst);
        Instant::now()
    });
    let report = scheduler::run(actors, &routes, &[], &options, Arc::new(Recorder::default()));
    let raised = raiser.join().unwrap();
    assert!(raised.elapsed() < Duration::from_secs(2), "the run ended long after the halt");
    assert!(report.actors[0].calls > 10, "the packet went round: {:?}", report.actors);
    assert!(report.failures.is_empty());
}
