//! Feedback loops: legal, and a run that holds one ends when the loop stops circulating
//! (quiescence), with exact outputs.

use super::*;
use crate::scheduler::{run, Export};
use crate::{ComponentError, Outputs, Payload, RunOptions};
use std::sync::Arc;

/// One Collatz step: `n` on `in` goes out on `next` as the next number, or on `done` (with the
/// steps it took) once it is 1. The step count rides along as `[start, n, steps]`.
struct CollatzStep(PluginMetadata);

impl Component for CollatzStep {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        let values: Vec<i64> = match payload.get("in") {
            Some(Message::Integer(n)) => vec![*n, *n, 0],
            Some(Message::Array(items)) => items.iter().filter_map(|v| v.as_i64()).collect(),
            other => return Err(ComponentError::new(format!("unexpected {other:?}"))),
        };
        let [start, n, steps] = values[..] else { return Err(ComponentError::new("bad state")) };
        if n == 1 {
            out.send("done", Message::Array(vec![start.into(), steps.into()]));
        } else {
            let next = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
            out.send("next", Message::Array(vec![start.into(), next.into(), (steps + 1).into()]));
        }
        Ok(())
    }
}

fn collatz_steps(mut n: i64) -> i64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn collatz() -> Box<dyn Component> {
    Box::new(CollatzStep(meta(vec![port("in", false)], vec![port("next", false), port("done", false)])))
}

#[test]
fn a_collatz_step_fed_back_to_itself_reaches_1_for_every_number() {
    // range -> step; step.next -> step.in (a self-loop); step.done -> exported.
    let actors = vec![actor("range", builtin("reflow/Range", serde_json::json!({"start": 1, "end": 300}))), actor("step", collatz())];
    let routes = [route(0, "out", 1, "in"), route(1, "next", 1, "in")];
    let exports = [Export { name: "done".into(), actor: 1, port: "done".into() }];
    let collector = Arc::new(Collector::default());
    // A small queue: the loop's own edge is not bounded, or it would wait on itself.
    let options = RunOptions { queue_capacity: 2, ..RunOptions::default() };
    let report = run(actors, &routes, &exports, &options, collector.clone());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let mut done: Vec<(i64, i64)> = collector
        .exported
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| match m {
            Message::Array(v) => (v[0].as_i64().unwrap(), v[1].as_i64().unwrap()),
            other => panic!("{other}"),
        })
        .collect();
    done.sort_unstable();
    let want: Vec<(i64, i64)> = (1..=300).map(|n| (n, collatz_steps(n))).collect();
    assert_eq!(done, want);
    let calls: i64 = want.iter().map(|(_, steps)| steps + 1).sum();
    assert_eq!(report.actors[1].calls, calls as u64, "one call per step, plus the last");
}

#[test]
fn a_collatz_loop_through_two_actors_ends() {
    // range -> step -> repeat -> step (a two-actor loop).
    let actors = vec![
        actor("range", builtin("reflow/Range", serde_json::json!({"start": 1, "end": 100}))),
        actor("step", collatz()),
        actor("back", builtin("core/Repeat", serde_json::json!({}))),
    ];
    let routes = [route(0, "out", 1, "in"), route(1, "next", 2, "in"), route(2, "out", 1, "in")];
    let exports = [Export { name: "done".into(), actor: 1, port: "done".into() }];
    let collector = Arc::new(Collector::default());
    let report = run(actors, &routes, &exports, &RunOptions { queue_capacity: 1, ..RunOptions::default() }, collector.clone());
    assert!(report.failures.is_empty());
    assert_eq!(collector.exported.lock().unwrap().len(), 100);
    let hops: i64 = (1..=100).map(collatz_steps).sum();
    assert_eq!(report.actors[2].calls, hops as u64);
}

/// Counts up: `n` on `in` goes to `loop` as `n + 1` below the threshold, else to `out`.
struct Counter {
    metadata: PluginMetadata,
    threshold: i64,
}

impl Component for Counter {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        let Some(Message::Integer(n)) = payload.get("in") else { return Err(ComponentError::new("expected an Integer")) };
        if *n < self.threshold {
            out.send("loop", Message::Integer(n + 1));
        } else {
            out.send("out", Message::Integer(*n));
        }
        Ok(())
    }
}

#[test]
fn a_cycle_whose_only_input_is_an_iip_counts_to_its_threshold() {
    // counter.loop -> repeat -> counter.in, started by one IIP 0.
    let mut counter = actor(
        "counter",
        Box::new(Counter { metadata: meta(vec![port("in", false)], vec![port("loop", false), port("out", false)]), threshold: 1000 }),
    );
    counter.initial = vec![("in".into(), Message::Integer(0))];
    let actors = vec![counter, actor("repeat", builtin("core/Repeat", serde_json::json!({})))];
    let routes = [route(0, "loop", 1, "in"), route(1, "out", 0, "in")];
    let exports = [Export { name: "out".into(), actor: 0, port: "out".into() }];
    let collector = Arc::new(Collector::default());
    let report = run(actors, &routes, &exports, &RunOptions::default(), collector.clone());
    assert_eq!(collector.integers("out"), vec![1000]);
    assert_eq!((report.actors[0].calls, report.actors[1].calls), (1001, 1000));
}

#[test]
fn finish_runs_upstream_first_and_what_it_sends_is_delivered() {
    // Two sinks that emit their count when they finish: a -> b. a's count reaches b before b
    // finishes, so b counts it.
    struct CountOnFinish {
        metadata: PluginMetadata,
        seen: i64,
    }
    impl Component for CountOnFinish {
        fn metadata(&self) -> &PluginMetadata {
            &self.metadata
        }
        fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
            self.seen += 1;
            Ok(())
        }
        fn finish(&mut self, out: &Outputs) -> Result<(), ComponentError> {
            out.send("count", Message::Integer(self.seen));
            Ok(())
        }
    }
    let counting = || Box::new(CountOnFinish { metadata: meta(vec![port("in", false)], vec![port("count", false)]), seen: 0 });
    // Listed downstream first, to show the order is the graph's, not the list's.
    let actors = vec![actor("b", counting()), actor("a", counting()), actor("src", builtin("reflow/Range", serde_json::json!({"end": 9})))];
    let routes = [route(2, "out", 1, "in"), route(1, "count", 0, "in")];
    let exports = [Export { name: "a".into(), actor: 1, port: "count".into() }, Export { name: "b".into(), actor: 0, port: "count".into() }];
    let collector = Arc::new(Collector::default());
    run(actors, &routes, &exports, &RunOptions::default(), collector.clone());
    assert_eq!(collector.integers("a"), vec![10]);
    assert_eq!(collector.integers("b"), vec![1], "b finished after a's count reached it");
}
