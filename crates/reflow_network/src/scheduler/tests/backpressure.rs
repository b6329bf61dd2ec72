//! Back-pressure: every queue stays within its bound, in messages and in bytes, including the
//! per-inport queues of an actor with `required` inports when one port starves; and time spent
//! waiting for room downstream never counts against a plugin's call time limit.

use super::*;
use crate::scheduler::run;
use crate::{ComponentError, Outputs, Payload, RunOptions, SourceStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A source of `total` messages of `size` bytes each that counts what it has started to send.
struct CountingSource {
    metadata: PluginMetadata,
    total: u64,
    size: usize,
    started: Arc<AtomicU64>,
}

impl CountingSource {
    fn new(total: u64, size: usize, started: Arc<AtomicU64>) -> Box<Self> {
        Box::new(CountingSource { metadata: meta(vec![], vec![port("out", false)]), total, size, started })
    }
}

impl Component for CountingSource {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }
    fn poll_source(&mut self, out: &Outputs, budget: usize) -> Result<SourceStatus, ComponentError> {
        for _ in 0..budget {
            let i = self.started.load(Ordering::SeqCst);
            if i == self.total {
                return Ok(SourceStatus::Done);
            }
            self.started.fetch_add(1, Ordering::SeqCst);
            let message = if self.size == 0 { Message::Integer(i as i64) } else { Message::String("x".repeat(self.size)) };
            out.send("out", message);
        }
        Ok(SourceStatus::More)
    }
}

/// A sink that records the most messages ever started by the source and not yet consumed.
struct BacklogSink {
    metadata: PluginMetadata,
    started: Arc<AtomicU64>,
    consumed: u64,
    max_backlog: Arc<AtomicU64>,
}

impl Component for BacklogSink {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        // Simulated work (not synchronisation): the source is faster than this.
        std::thread::sleep(std::time::Duration::from_micros(50));
        self.consumed += 1;
        let backlog = self.started.load(Ordering::SeqCst) - self.consumed;
        self.max_backlog.fetch_max(backlog, Ordering::SeqCst);
        Ok(())
    }
}

/// Runs `source -> sink` and returns the largest backlog the sink saw.
fn backlog_of(total: u64, size: usize, options: RunOptions) -> u64 {
    let started = Arc::new(AtomicU64::new(0));
    let max_backlog = Arc::new(AtomicU64::new(0));
    let sink = BacklogSink { metadata: meta(vec![port("in", false)], vec![]), started: started.clone(), consumed: 0, max_backlog: max_backlog.clone() };
    let report = run(
        vec![actor("fast", CountingSource::new(total, size, started)), actor("slow", Box::new(sink))],
        &[route(0, "out", 1, "in")],
        &[],
        &options,
        Arc::new(Collector::default()),
    );
    assert_eq!(report.actors[1].received, total);
    max_backlog.load(Ordering::SeqCst)
}

#[test]
fn a_slow_sink_holds_a_fast_source_to_the_queue_capacity() {
    let capacity = 8;
    let backlog = backlog_of(3000, 0, RunOptions { queue_capacity: capacity, ..RunOptions::default() });
    // In flight at most: the batch the sink works on and its queue behind it (each at most the
    // capacity), and one source step held by the parked source (at most the capacity too).
    assert!(backlog <= 3 * capacity as u64, "backlog {backlog} exceeds three times the queue capacity {capacity}");
}

#[test]
fn a_queue_of_big_messages_is_bounded_by_bytes_too() {
    // 200 messages of 256 KiB: 64 of them (the message bound) would be 16 MiB.
    let size = 256 << 10;
    let bytes = 1 << 20;
    let backlog = backlog_of(200, size, RunOptions { queue_capacity: 64, queue_bytes: bytes, ..RunOptions::default() });
    // The sink's batch, its queue and what the parked source holds: each about the byte
    // bound (a message over it passes alone), so at most 3 x (bound / size + 1) messages.
    let most = 3 * (bytes / size + 1) as u64;
    assert!(backlog <= most, "{backlog} messages of {size} bytes in flight, over {most}");
}

/// Fires when both `x` and `y` hold a message; only `x` is ever fed.
struct Pair(PluginMetadata);

impl Component for Pair {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }
}

#[test]
fn a_starving_required_port_holds_the_other_ports_sender_at_the_bound() {
    let started = Arc::new(AtomicU64::new(0));
    let capacity = 8;
    let pair = Pair(meta(vec![port("x", true), port("y", true)], vec![]));
    let report = run(
        vec![actor("fast", CountingSource::new(100_000, 0, started.clone())), actor("pair", Box::new(pair))],
        &[route(0, "out", 1, "x")],
        &[],
        &RunOptions { queue_capacity: capacity, ..RunOptions::default() },
        Arc::new(Collector::default()),
    );
    // `x`'s queue is full and the source holds one step: the run ends (nothing can happen any
    // more) instead of queueing 100,000 messages for a port that never fires.
    let started = started.load(Ordering::SeqCst);
    assert!(started <= 2 * capacity as u64, "the source ran {started} messages ahead of a queue of {capacity}");
    assert_eq!(report.actors[1].calls, 0);
    assert_eq!(report.actors[1].unfired, started, "every message is accounted for as unfired");
}

/// Sleeps on each message: a consumer slower than its producer.
struct SlowSink(PluginMetadata);

impl Component for SlowSink {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        // Simulated work, not synchronisation: the test's assertions hold however long it takes.
        std::thread::sleep(std::time::Duration::from_millis(150));
        Ok(())
    }
}

#[test]
fn waiting_on_a_full_queue_does_not_count_against_the_senders_call_time_limit() {
    // Each call of infinite_loop.wasm (on a value that is not its trigger) sends `out` with
    // `__send_output` during the call. Into a queue of one ahead of a slow sink, a send that
    // waited for room inside the call made the call exceed its 100 ms limit.
    let plugins = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins");
    let source = std::fs::read(plugins.join("infinite_loop.wasm")).expect("run `cargo xtask build-plugins` first");
    let limits = reflow_script::Limits { call_timeout: std::time::Duration::from_millis(100), ..Default::default() };
    let module = reflow_script::PluginModule::load("infinite_loop.wasm", &reflow_script::ScriptConfig::new(source), limits).unwrap();
    let config = reflow_abi::ActorConfig { node_id: "sender".into(), component: "InfiniteLoop".into(), ..Default::default() };
    let plugin = crate::wasm::WasmComponent::new(reflow_script::ScriptActor::new(&module, config).unwrap());
    let mut sender = actor("sender", Box::new(plugin));
    sender.initial = (10..14).map(|n| ("in".to_string(), Message::Integer(n))).collect();
    let sink = SlowSink(meta(vec![port("in", false)], vec![]));
    let report = run(
        vec![sender, actor("sink", Box::new(sink))],
        &[route(0, "out", 1, "in"), route(0, "count", 1, "in")],
        &[],
        &RunOptions { queue_capacity: 1, ..RunOptions::default() },
        Arc::new(Collector::default()),
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.actors[1].received, 8, "every sent and returned message arrived");
}
