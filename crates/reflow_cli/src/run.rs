//! `reflow run` and `reflow validate`.

use crate::args::{RunArgs, ValidateArgs};
use anyhow::{bail, Result};
use reflow_inspect::{Allowlist, Inspector};
use reflow_network::{graph_id, ActorFailure, ActorStats, DeadLetter, Network, Observer, RunOptions, RunReport, StateBinding};
use reflow_script::{Limits, Message};
use serde_json::json;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Prints what reaches the graph's outports (stdout, JSON lines) and failures (stderr) as
/// they happen.
struct Printer;

impl Observer for Printer {
    fn exported(&self, port: &str, message: &Message) {
        let line = json!({"port": port, "message": message});
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    // stderr may be full or closed: what cannot be printed is lost, the run and its exit code
    // are not.
    fn failed(&self, failure: &ActorFailure) {
        let _ = writeln!(std::io::stderr().lock(), "error: {failure}");
    }

    fn dead_letter(&self, letter: &DeadLetter) {
        let _ = writeln!(std::io::stderr().lock(), "dead letter: {letter}");
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    if let Some(url) = &args.nats {
        return crate::cluster::run(&args.graph, url);
    }
    let mut network = Network::load_on(args.engine, &args.graph, args.limits.to_limits())?;
    // Only plugin actors have state to keep; a graph of built-ins leaves no state directory.
    if !args.ephemeral && network.graph().processes().any(|p| p.is_plugin()) {
        let store = crate::state::open_or_create(&args.graph, &args.store)?;
        network = network
            .with_state(StateBinding { store: Arc::new(store), graph_id: graph_id(&args.graph) })
            .with_checkpoint_interval(args.checkpoint_interval);
    }
    // Recording and hot reload hook into the instances, so they come before the network is
    // prepared (instantiated) for the run.
    let recording = args.record.as_deref().map(|path| network.record_to(path)).transpose()?;
    let reloader = args.watch.then(|| network.hot_reload());
    let _watch = reloader.clone().map(crate::watch::start).transpose()?;
    let prepared = network.prepare()?;
    if let Some(unfinished) = &prepared.resumed {
        let _ = writeln!(
            std::io::stderr(),
            "reflow: resuming the unfinished run of {} from its last checkpoint, taken {:.1} s ago (`reflow state clear {}` starts over)",
            args.graph.display(),
            unfinished.age().as_secs_f64(),
            args.graph.display()
        );
    }
    let options = RunOptions {
        // Within usize: clap checked the range.
        queue_capacity: args.queue_capacity as usize,
        queue_bytes: usize::try_from(args.queue_bytes).unwrap_or(usize::MAX),
        workers: args.workers.map_or(0, |n| n as usize),
        ..RunOptions::default()
    };
    let stop = options.stop.clone();
    let (interrupted, interrupt) = std::sync::mpsc::channel();
    // First Ctrl-C: sources stop, messages in flight finish. Second: leave at once.
    let _ = ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        let _ = writeln!(std::io::stderr(), "reflow: stopping (messages in flight finish; Ctrl-C again to quit now)");
        let _ = interrupted.send(());
    });
    let printer: Arc<dyn Observer> = Arc::new(Printer);
    let Some(addr) = &args.inspect else {
        let report = network.run_prepared(prepared, &options, printer);
        return finish(args, &report, recording);
    };
    let mut inspector = Inspector::start(addr, Allowlist::default(), &network, printer)?;
    if let Some(reloader) = reloader {
        inspector.show_swaps(reloader);
    }
    let url = inspector.url();
    let _ = writeln!(std::io::stderr(), "reflow run: inspector at {url}");
    let options = RunOptions { probe: Some(inspector.probe()), observe_edges: true, ..options };
    let report = network.run_prepared(prepared, &options, inspector.observer());
    inspector.finish(Ok(&report));
    if !options.stop.load(Ordering::SeqCst) {
        let _ = writeln!(std::io::stderr(), "reflow run: the run ended; the inspector stays at {url} until Ctrl-C");
        let _ = interrupt.recv();
    }
    finish(args, &report, recording)
}

/// The final table, and the exit status a finished run earns.
fn finish(args: &RunArgs, report: &RunReport, recording: Option<Arc<reflow_trace::TraceWriter>>) -> Result<()> {
    print_summary(&report.actors);
    if let Some(writer) = recording {
        let summary = writer.finish()?;
        let _ = writeln!(std::io::stderr(), "reflow: recorded {} records ({} bytes) in {}", summary.records, summary.bytes, writer.path().display());
    }
    if let Some(reason) = &report.checkpoint_failed {
        bail!("{}: checkpoint not written, so the run stopped at its last checkpoint (`reflow run` resumes from there): {reason}", args.graph.display());
    }
    if let Some(reason) = &report.graph_failed {
        bail!("{}: the graph failed: {reason}", args.graph.display());
    }
    if !report.failures.is_empty() {
        bail!("{} failed call(s) in {}; every other message was processed", report.failures.len(), args.graph.display());
    }
    Ok(())
}

pub fn validate(args: &ValidateArgs) -> Result<()> {
    let network = Network::load(&args.graph, Limits::default())?;
    for warning in reflow_network::warnings(network.graph(), &args.graph) {
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
    // The answer the command was asked for goes to stdout, like `reflow inspect`'s.
    let _ = writeln!(std::io::stdout(), "{}: valid ({} processes)", args.graph.display(), network.graph().processes().len());
    Ok(())
}

fn print_summary(actors: &[ActorStats]) {
    let width = actors.iter().map(|a| a.name.len()).max().unwrap_or(5).max(5);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{:width$}  {:>9} {:>9} {:>9} {:>6} {:>7} {:>5}",
        "actor", "received", "calls", "sent", "errors", "dropped", "dead"
    );
    for a in actors {
        let dead = if a.stopped { format!("{} (stopped)", a.dead_letters) } else { a.dead_letters.to_string() };
        let _ = writeln!(
            err,
            "{:width$}  {:>9} {:>9} {:>9} {:>6} {:>7} {:>5}",
            a.name, a.received, a.calls, a.sent, a.errors, a.dropped, dead
        );
    }
}
