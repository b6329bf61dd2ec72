//! `reflow replay`.

use crate::args::ReplayArgs;
use anyhow::{bail, Result};
use reflow_network::replay::{recorded_actors, recorded_limits, replay as replay_actor, ActorReplay};
use std::io::Write;

/// Differing calls printed in full; the rest are counted.
const SHOWN_IN_FULL: usize = 10;

pub fn replay(args: &ReplayArgs) -> Result<()> {
    let (start, records) = reflow_trace::read_all(&args.file)?;
    let mut out = std::io::stdout().lock();
    let actors = match &args.process {
        Some(process) => vec![process.clone()],
        None => recorded_actors(&start, &records),
    };
    let mut diverged = Vec::new();
    for process in &actors {
        let limits = args.limits.over(recorded_limits(&start, process));
        let result = replay_actor(&start, &records, process, args.plugin.as_deref(), Some(limits))?;
        print(&mut out, &result, args.process.is_some())?;
        if !result.identical() {
            diverged.push(format!("{} ({} of {} calls)", result.process, result.diffs.len(), result.calls));
        }
    }
    if !diverged.is_empty() {
        bail!("replay differs from the recording: {}", diverged.join(", "));
    }
    Ok(())
}

fn print(out: &mut impl Write, result: &ActorReplay, in_full: bool) -> std::io::Result<()> {
    if result.identical() {
        return writeln!(out, "{}: {} calls replayed on {}, identical", result.process, result.calls, result.plugin.display());
    }
    writeln!(out, "{}: {} of {} calls differ on {}", result.process, result.diffs.len(), result.calls, result.plugin.display())?;
    let shown = if in_full { SHOWN_IN_FULL } else { 1 };
    for diff in result.diffs.iter().take(shown) {
        write!(out, "{diff}")?;
    }
    if result.diffs.len() > shown {
        writeln!(out, "... and {} more differing calls", result.diffs.len() - shown)?;
    }
    Ok(())
}
