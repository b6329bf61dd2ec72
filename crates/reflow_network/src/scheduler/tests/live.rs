//! The scheduler's options for live editors: edge observation, halting a run that would
//! never end by itself, and an inlet that feeds exported inports while the run goes on.

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

/// Sends what reaches an exported outport down a channel.
struct Exported(Mutex<std::sync::mpsc::Sender<(String, Message)>>);

impl Observer for Exported {
    fn exported(&self, port: &str, message: &Message) {
        let _ = self.0.lock().unwrap().send((port.to_string(), message.clone()));
    }
    fn failed(&self, failure: &ActorFailure) {
        panic!("no call may fail: {failure}");
    }
}

/// `a(core/Repeat) -> b(core/Repeat)`, exporting a's `in` as `IN` and b's `out` as `OUT`.
fn exported_pipeline() -> crate::Network {
    use crate::graph::{ExportedPort, PortDirection, PortRef};
    let mut graph = crate::Graph::new("inlet");
    graph.add_process("a", "core/Repeat").unwrap();
    graph.add_process("b", "core/Repeat").unwrap();
    graph.add_edge(PortRef::new("a", "out"), PortRef::new("b", "in"), Default::default()).unwrap();
    let export = |process: &str, port: &str| ExportedPort { process: process.into(), port: port.into(), metadata: Default::default() };
    graph.add_export(PortDirection::In, "IN", export("a", "in")).unwrap();
    graph.add_export(PortDirection::Out, "OUT", export("b", "out")).unwrap();
    crate::Network::from_graph(std::path::Path::new("inlet.json"), graph, Default::default()).unwrap()
}

#[test]
fn an_inlet_feeds_exported_inports_and_keeps_the_run_alive_until_closed() {
    use crate::{Inlet, InletError};
    use std::time::Duration;
    let network = exported_pipeline();
    let inlet = Inlet::new();
    // Before the run starts: held, then delivered first.
    inlet.send("IN", Message::Integer(1)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let options = RunOptions { inlet: Some(inlet.clone()), ..RunOptions::default() };
    let run = std::thread::spawn(move || {
        let report = network.run(&options, Arc::new(Exported(Mutex::new(tx)))).unwrap();
        done_tx.send(()).unwrap();
        report
    });
    // Hang guards only: each message arrives as soon as the actors have run.
    let wait = Duration::from_secs(30);
    assert_eq!(rx.recv_timeout(wait).unwrap(), ("OUT".to_string(), Message::Integer(1)));
    // The network is quiescent now, yet the run goes on: the inlet is open.
    inlet.send("IN", Message::String("two".into())).unwrap();
    assert_eq!(rx.recv_timeout(wait).unwrap(), ("OUT".to_string(), Message::String("two".into())));
    assert!(done_rx.try_recv().is_err(), "the run must not end while its inlet is open");
    assert_eq!(inlet.send("nope", Message::Integer(3)), Err(InletError::UnknownPort { port: "nope".into() }));
    inlet.close();
    done_rx.recv_timeout(wait).expect("the run ends once its inlet is closed");
    let report = run.join().unwrap();
    assert_eq!(report.actors[1].received, 2, "{report:?}");
    assert_eq!(inlet.send("IN", Message::Integer(4)), Err(InletError::Closed));
}

#[test]
fn an_inlet_refuses_what_does_not_fit_the_queue() {
    use crate::{Inlet, InletError};
    let inlet = Inlet::new();
    for n in 0..crate::scheduler::EARLY_BOUND {
        inlet.send("IN", Message::Integer(n as i64)).unwrap();
    }
    assert_eq!(inlet.send("IN", Message::Integer(-1)), Err(InletError::Full { port: "IN".into() }));
}
