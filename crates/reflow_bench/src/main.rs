//! The benchmark suite behind `cargo xtask bench`. Every figure is printed beside a baseline
//! measured in the same process run, because this machine is shared and noisy: only ratios
//! mean anything. Prints one JSON object per line (one row of the table); xtask runs it under
//! `RUST_BACKTRACE=0` and `=1` and writes the merged table to `docs/performance.md`.
//!
//! Usage: `reflow_bench PLUGINS_DIR [--noflo DIR] [--only GROUP,...]` (groups: bare, doubler,
//! instances, pipelines, cold, rss, scale, durable, inspect, record, cluster, sandbox; all by default),
//! or the subprocess modes
//! `--cold-start PLUGIN N` and `--rss PLUGIN N` (each prints one number),
//! `--chain STAGES MESSAGES` (prints a JSON object); `--sandbox PLUGINS_DIR` runs the
//! sandbox rows only.

mod cases;
mod cluster;
mod durable;
mod inspect;
mod record;
mod measure;
mod sandbox;

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--cold-start") => cases::cold_start_child(&PathBuf::from(&args[1]), args[2].parse().unwrap_or(1)),
        Some("--rss") => cases::rss_child(&PathBuf::from(&args[1]), args[2].parse().unwrap_or(1)),
        Some("--chain") => cases::chain_child(args[1].parse().unwrap_or(1000), args[2].parse().unwrap_or(10)),
        Some("--sandbox") => sandbox::run(&PathBuf::from(&args[1])),
        Some(dir) => {
            let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
            let noflo = value("--noflo").map(PathBuf::from);
            let only: Vec<String> = value("--only").map(|list| list.split(',').map(str::to_string).collect()).unwrap_or_default();
            let wanted = |group: &str| only.is_empty() || only.iter().any(|g| g == group);
            match only.iter().find(|g| !cases::GROUPS.contains(&g.as_str()) && *g != "sandbox") {
                Some(unknown) => Err(format!("--only: unknown group {unknown:?} (groups: {}, sandbox)", cases::GROUPS.join(", "))),
                None => cases::run_all(&PathBuf::from(dir), noflo.as_deref(), &only)
                    .and_then(|()| if wanted("sandbox") { sandbox::run(&PathBuf::from(dir)) } else { Ok(()) }),
            }
        }
        None => Err("usage: reflow_bench PLUGINS_DIR [--noflo DIR] [--only GROUP,...]".to_string()),
    };
    if let Err(e) = result {
        eprintln!("reflow_bench: {e}");
        std::process::exit(1);
    }
}
