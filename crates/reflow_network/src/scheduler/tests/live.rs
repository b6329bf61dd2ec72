//! The scheduler's options for live editors: edge observation and halting a run that would
//! never end by itself.

use super::{actor, builtin, route};
use crate::scheduler::{self, ActorSpec, Route};
use crate::{ActorFailure, Halt, Observer, RunOptions};
use reflow_abi::Message;
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

/// An actor running the built-in `component`, with `initial` packets.
fn with_iips(name: &str, component: &str, initial: Vec<(String, Message)>) -> ActorSpec {
    ActorSpec { initial, ..actor(name, builtin(component, serde_json::json!({}))) }
}

fn edge(from: usize, to: usize) -> Route {
    route(from, "out", to, "in")
}

/// repeat -> drop, with one IIP into repeat.
fn pipeline() -> (Vec<ActorSpec>, Vec<Route>) {
    let actors = vec![
        with_iips("repeat", "core/Repeat", vec![("in".into(), Message::Integer(7))]),
        with_iips("drop", "core/Drop", vec![]),
    ];
    (actors, vec![edge(0, 1)])
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
        with_iips("a", "core/Repeat", vec![("in".into(), Message::Integer(1))]),
        with_iips("b", "core/Repeat", vec![]),
    ];
    let routes = vec![edge(0, 1), edge(1, 0)];
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
