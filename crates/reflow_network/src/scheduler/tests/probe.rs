//! The probe's live counters (`RunOptions::probe`, for the inspector), and the paced source
//! the inspector's test runs.

use super::{actor, builtin, route};
use crate::scheduler::{self, ActorSpec, SourcePhase};
use crate::{builtins, ActorFailure, Observer, RunOptions};
use reflow_abi::Message;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder;

impl Observer for Recorder {
    fn exported(&self, _: &str, _: &Message) {}
    fn failed(&self, _: &ActorFailure) {}
}

#[test]
fn a_probe_counts_what_the_run_did_and_reads_queues() {
    let mut config = serde_json::Map::new();
    config.insert("start".into(), serde_json::json!(1));
    config.insert("end".into(), serde_json::json!(100));
    let range = builtins::create("reflow/Range", &config, Path::new(".")).unwrap().unwrap();
    let actors = vec![
        ActorSpec { name: "numbers".into(), component: range, initial: vec![], policy: Default::default(), held: Vec::new(), source: SourcePhase::Unpolled },
        actor("repeat", builtin("core/Repeat", serde_json::json!({}))),
        actor("drop", builtin("core/Drop", serde_json::json!({}))),
    ];
    let routes = vec![route(0, "out", 1, "in"), route(1, "out", 2, "in")];
    let probe = crate::Probe::new();
    assert!(probe.live().is_none(), "nothing until a run attaches");
    let options = RunOptions { probe: Some(probe.clone()), ..RunOptions::default() };
    let report = scheduler::run(actors, &routes, &[], &options, Arc::new(Recorder::default()));
    let live = probe.live().expect("the run attached its counters");
    assert_eq!(live.actors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["numbers", "repeat", "drop"]);
    assert_eq!(live.actors[1].inports, ["in"]);
    assert_eq!(live.actors[1].outports, ["out"]);
    assert_eq!(live.routes.iter().map(|r| (r.from, r.to, r.outport.as_str(), r.inport.as_str())).collect::<Vec<_>>(), [(0, 1, "out", "in"), (1, 2, "out", "in")]);
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
    impl crate::Component for Fails {
        fn metadata(&self) -> &reflow_abi::PluginMetadata {
            &self.0
        }
        fn process(&mut self, _: &mut crate::Payload, _: &crate::Outputs) -> Result<(), crate::ComponentError> {
            Err(crate::ComponentError::new("no"))
        }
    }
    let metadata = builtins::create("core/Drop", &Default::default(), Path::new(".")).unwrap().unwrap().metadata().clone();
    let actors = vec![ActorSpec {
        name: "fails".into(),
        component: Box::new(Fails(metadata)),
        initial: vec![("in".into(), Message::Integer(1)), ("in".into(), Message::Integer(2)), ("in".into(), Message::Integer(3))],
        policy: crate::FailurePolicy { max_restarts: Some(1), ..Default::default() },
        held: Vec::new(),
        source: SourcePhase::Unpolled,
    }];
    let probe = crate::Probe::new();
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
    let out = crate::Outputs::new(sink, Arc::new(AtomicBool::new(false)));
    for i in 1..=4 {
        assert_eq!(range.poll_source(&out, 64).unwrap(), crate::SourceStatus::Yield, "after {i}");
        assert_eq!(sent.lock().unwrap().len(), i);
    }
    assert_eq!(range.poll_source(&out, 64).unwrap(), crate::SourceStatus::Done);
    assert_eq!(*sent.lock().unwrap(), (1..=5).map(Message::Integer).collect::<Vec<_>>());
    config.insert("interval_ms".into(), serde_json::json!(-1));
    assert!(builtins::create("reflow/Range", &config, Path::new(".")).unwrap().is_err(), "a negative interval is refused");
    // In a run, every integer arrives.
    config.insert("interval_ms".into(), serde_json::json!(1));
    let range = builtins::create("reflow/Range", &config, Path::new(".")).unwrap().unwrap();
    let actors = vec![ActorSpec { name: "numbers".into(), component: range, initial: vec![], policy: Default::default(), held: Vec::new(), source: SourcePhase::Unpolled }, actor("drop", builtin("core/Drop", serde_json::json!({})))];
    let report = scheduler::run(actors, &[route(0, "out", 1, "in")], &[], &RunOptions::default(), Arc::new(Recorder::default()));
    assert_eq!(report.actors[1].received, 5);
}
