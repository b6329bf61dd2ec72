//! What recording costs a run (`reflow run --record`): the 10-stage WASM pipeline recorded
//! into a file, beside the same pipeline unrecorded, measured in the same process, and the
//! recording's size per message.
//!
//! The rounds alternate the two variants, so that the machine's drift falls on both. A
//! recorded round's time includes writing the file (the writer's buffer is flushed and the
//! file closed before the clock stops), since a run that records pays for that.

use crate::cases::{chain_network, emit, Quiet, Row};
use crate::measure::median;
use reflow_network::{Network, RunOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const ROUNDS: usize = 5;
const STAGES: usize = 10;
const PACKETS: u64 = 40_000;

/// One run of the pipeline, recorded into `file` when given; messages per second, and the
/// recording's size.
fn once(dir: &Path, file: Option<&Path>) -> Result<(f64, u64), String> {
    let mut network: Network = chain_network(dir, "echo.wasm", "in", "out", STAGES, PACKETS)?;
    let writer = file.map(|file| network.record_to(file).map_err(|e| e.to_string())).transpose()?;
    let prepared = network.prepare().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let report = network.run_prepared(prepared, &RunOptions::default(), Arc::new(Quiet));
    let bytes = match writer {
        Some(writer) => writer.finish().map_err(|e| e.to_string())?.bytes,
        None => 0,
    };
    let seconds = start.elapsed().as_secs_f64();
    let delivered = report.actors.iter().find(|a| a.name == "sink").map_or(0, |a| a.received);
    if delivered != PACKETS {
        return Err(format!("the chain delivered {delivered} of {PACKETS} messages"));
    }
    Ok((PACKETS as f64 / seconds, bytes))
}

pub fn run(dir: &Path) -> Result<(), String> {
    let scratch = std::env::temp_dir().join(format!("reflow-bench-record-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let file = scratch.join("pipeline.trace");
    let (mut without, mut with, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.push(once(dir, None)?.0);
        let (rate, bytes) = once(dir, Some(&file))?;
        with.push(rate);
        sizes.push(bytes as f64);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let (without, with, bytes) = (median(&mut without), median(&mut with), median(&mut sizes));
    emit(Row {
        case: "10-stage WASM pipeline, --record",
        unit: "msg/s",
        ours: with,
        baseline: "the same pipeline without --record",
        base: without,
        target: ">= 50%",
        met: with >= 0.5 * without,
    });
    // Each message of the pipeline crosses 11 connections and 10 plugin calls, each a record.
    let per_message = bytes / PACKETS as f64;
    let json = reflow_script::Message::Integer(PACKETS as i64 / 2).to_json().to_string().len() as f64;
    emit(Row {
        case: "10-stage WASM pipeline, --record: bytes per message (11 edge and 10 call records)",
        unit: "bytes",
        ours: per_message,
        baseline: "the message alone as JSON, once",
        base: json,
        target: "(no target)",
        met: true,
    });
    Ok(())
}
