//! What the live inspector costs a run: the 10-stage pipelines with `--inspect` and no page
//! open, and with one page open (an event-stream client reading every event, with a
//! connection selected so that its messages are kept and sent), each beside the same
//! pipeline without the inspector, measured in the same process.
//!
//! The rounds interleave the three variants, so that the machine's drift falls on all three.
//! The page connects as the run starts (its stream opens once the run's counters exist), so
//! the first milliseconds of a "page open" run go unwatched: about 1 ms of runs of 100 ms and
//! more.

use crate::cases::{chain_network, emit, Quiet, Row};
use crate::measure::median;
use reflow_inspect::{Allowlist, Inspector};
use reflow_network::{Network, Observer, RunOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const ROUNDS: usize = 5;

/// Runs a chain network once (instances started before the clock does); messages per second.
fn timed_run(network: &Network, options: &RunOptions, observer: Arc<dyn Observer>, packets: u64) -> Result<f64, String> {
    let plan = network.instantiate().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let report = plan.run(options, observer);
    let seconds = start.elapsed().as_secs_f64();
    let delivered = report.actors.iter().find(|a| a.name == "sink").map_or(0, |a| a.received);
    if delivered != packets {
        return Err(format!("the chain delivered {delivered} of {packets} messages"));
    }
    Ok(packets as f64 / seconds)
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Without,
    NoPage,
    OnePage,
}

/// One run of `network` under `variant`; messages per second.
fn once(network: &Network, variant: Variant, packets: u64) -> Result<f64, String> {
    if variant == Variant::Without {
        return timed_run(network, &RunOptions::default(), Arc::new(Quiet), packets);
    }
    let mut inspector = Inspector::start("127.0.0.1:0", Allowlist::default(), network, Arc::new(Quiet)).map_err(|e| e.to_string())?;
    let options = RunOptions { probe: Some(inspector.probe()), observe_edges: true, ..RunOptions::default() };
    let page = (variant == Variant::OnePage).then(|| {
        let url = inspector.url();
        std::thread::spawn(move || page(&url))
    });
    let rate = timed_run(network, &options, inspector.observer(), packets);
    inspector.finish(Err("the bench run ended"));
    if let Some(page) = page {
        let events = page.join().map_err(|_| "the page thread panicked".to_string())??;
        if events < 2 {
            return Err(format!("the page got {events} event(s)"));
        }
    }
    rate
}

/// A page: opens the event stream, selects the middle connection, reads every event until
/// the stream ends; returns how many it read.
fn page(url: &str) -> Result<usize, String> {
    let rest = url.strip_prefix("http://").ok_or("not an http URL")?;
    let (addr, token) = rest.split_once("/?token=").ok_or("no token in the URL")?;
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(stream, "GET /events?token={token} HTTP/1.1\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let (mut events, mut line) = (0, String::new());
    while reader.read_line(&mut line).map_err(|e| e.to_string())? > 0 {
        if let Some(hello) = line.strip_prefix("data: {\"viewer\":") {
            let viewer: String = hello.chars().take_while(char::is_ascii_digit).collect();
            let mut select = TcpStream::connect(addr).map_err(|e| e.to_string())?;
            write!(select, "POST /select?token={token}&viewer={viewer}&edge=5 HTTP/1.1\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
        }
        if line.starts_with("event: ") {
            events += 1;
        }
        line.clear();
    }
    Ok(events)
}

pub fn run(dir: &Path) -> Result<(), String> {
    for (case, stage, packets) in [("10-stage WASM pipeline", "echo.wasm", 40_000u64), ("10-stage native pipeline (core/Repeat)", "core/Repeat", 400_000)] {
        let network = chain_network(dir, stage, "in", "out", 10, packets)?;
        let mut rates = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..ROUNDS {
            for (i, variant) in [Variant::Without, Variant::NoPage, Variant::OnePage].into_iter().enumerate() {
                rates[i].push(once(&network, variant, packets)?);
            }
        }
        let [without, no_page, one_page] = rates.map(|mut r| median(&mut r));
        let case_no_page = format!("{case}, --inspect, no page open");
        let case_one_page = format!("{case}, --inspect, one page open");
        emit(Row { case: &case_no_page, unit: "msg/s", ours: no_page, baseline: "the same pipeline without --inspect", base: without, target: ">= 90%", met: no_page >= 0.9 * without });
        emit(Row { case: &case_one_page, unit: "msg/s", ours: one_page, baseline: "the same pipeline without --inspect", base: without, target: ">= 70%", met: one_page >= 0.7 * without });
    }
    Ok(())
}
