//! `reflow trace show` and `reflow trace export`.

use crate::args::{TraceCommand, TraceExportArgs, TraceShowArgs};
use anyhow::{Context, Result};
use reflow_abi::Message;
use reflow_trace::{read_all, EdgeInfo, Record};
use serde_json::{Map, Value};
use std::io::Write;

pub fn trace(command: &TraceCommand) -> Result<()> {
    match command {
        TraceCommand::Show(args) => show(args),
        TraceCommand::Export(args) => export(args),
    }
}

fn show(args: &TraceShowArgs) -> Result<()> {
    let (start, mut records) = read_all(&args.file)?;
    records.sort_by_key(|(_, record)| seq(record));
    let wanted_edge = |edge: &EdgeInfo| {
        let ends = [format!("{}.{}->{}.{}", edge.from, edge.outport, edge.to, edge.inport), format!("{}.{}", edge.from, edge.outport), format!("{}.{}", edge.to, edge.inport)];
        let by_edge = args.edge.is_empty() || args.edge.iter().any(|e| ends.contains(&e.replace(' ', "")));
        let by_process = args.process.as_ref().is_none_or(|p| &edge.from == p || &edge.to == p);
        by_edge && by_process
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "recording of {} ({} processes, {} connections)", start.graph_file, start.processes.len(), start.edges.len())?;
    for (_, record) in &records {
        match record {
            Record::Edge(e) => {
                let Some(edge) = start.edges.get(e.edge as usize) else { continue };
                if wanted_edge(edge) {
                    writeln!(out, "#{} {} edge {}.{} -> {}.{}: {}", e.seq, millis(e.micros), edge.from, edge.outport, edge.to, edge.inport, e.message.to_json())?;
                }
            }
            Record::Call(c) => {
                let name = start.processes.get(c.process as usize).map_or("?", |p| p.name.as_str());
                let shown = match &args.process {
                    Some(p) => p == name,
                    None => args.edge.is_empty(),
                };
                if !shown {
                    continue;
                }
                let mut line = format!("#{} {} call {name}: payload {} state {}", c.seq, millis(c.micros), ports(&c.payload), Value::Object(c.state_before.clone()));
                if let Some(after) = &c.state_after {
                    line += &format!(" -> {}", Value::Object(after.clone()));
                }
                line += &format!(" outputs {} sent {}", ports(&c.outputs), ports(&c.sent));
                if !c.entropy.is_empty() {
                    line += &format!(" clock/random reads {}", serde_json::to_string(&c.entropy).unwrap_or_default());
                }
                if let Some(error) = &c.error {
                    line += &format!(" FAILED: {error}");
                }
                writeln!(out, "{line}")?;
            }
            Record::Start(_) => {}
        }
    }
    Ok(())
}

fn export(args: &TraceExportArgs) -> Result<()> {
    let (start, records) = read_all(&args.file)?;
    let graph_id = std::path::Path::new(&start.graph_file).file_stem().map_or("graph".to_string(), |s| s.to_string_lossy().into_owned());
    let flowtrace = reflow_trace::flowtrace::from_recording(&graph_id, &start, &records);
    let text = serde_json::to_string_pretty(&flowtrace)?;
    match &args.output {
        Some(path) => std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?,
        None => writeln!(std::io::stdout(), "{text}")?,
    }
    Ok(())
}

fn seq(record: &Record) -> u64 {
    match record {
        Record::Start(_) => 0,
        Record::Edge(e) => e.seq,
        Record::Call(c) => c.seq,
    }
}

fn millis(micros: u64) -> String {
    format!("+{}.{:03}ms", micros / 1000, micros % 1000)
}

/// `{"PORT": MESSAGE, ...}`, or a list when a port repeats.
fn ports(list: &[(String, Message)]) -> Value {
    let map: Map<String, Value> = list.iter().map(|(port, m)| (port.clone(), m.to_json())).collect();
    if map.len() == list.len() {
        Value::Object(map)
    } else {
        Value::Array(list.iter().map(|(port, m)| Value::Object(Map::from_iter([(port.clone(), m.to_json())]))).collect())
    }
}
