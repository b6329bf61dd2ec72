//! `cargo xtask bench`: runs the suite (`crates/reflow_bench`) under `RUST_BACKTRACE=0` and
//! `=1` in one go, prints the merged markdown table and writes it into `docs/performance.md`
//! between its markers, with the date, the machine and the command.

use crate::{cargo, plugins, run};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

pub fn bench(root: &Path) -> Result<()> {
    plugins::build_all(root)?;
    // The cluster rows start the pinned nats-server (reflow_test_nats).
    crate::nats::install(root)?;
    let noflo = prepare_noflo(root);
    run(cargo().current_dir(root).args(["build", "--release", "--quiet", "-p", "reflow_bench"]))?;
    let binary = root.join("target/release/reflow_bench");
    let quiet = run_suite(&binary, root, noflo.as_deref(), "0")?;
    let loud = run_suite(&binary, root, noflo.as_deref(), "1")?;
    if quiet.len() != loud.len() {
        bail!("the two runs produced different rows ({} and {})", quiet.len(), loud.len());
    }
    let table = render(&quiet, &loud);
    println!("{table}");
    let section = format!(
        "{BEGIN}\nMeasured {} on {} with `cargo xtask bench`.\n\n{table}\n{END}",
        today(),
        machine()
    );
    let doc = root.join("docs/performance.md");
    let text = std::fs::read_to_string(&doc).unwrap_or_else(|_| format!("# Performance\n\n{BEGIN}\n{END}\n"));
    let (before, rest) = text.split_once(BEGIN).context("docs/performance.md lacks the bench:begin marker")?;
    let (_, after) = rest.split_once(END).context("docs/performance.md lacks the bench:end marker")?;
    std::fs::write(&doc, format!("{before}{section}{after}"))?;
    eprintln!("xtask: table written to {}", doc.display());
    Ok(())
}

/// Installs the pinned NoFlo baseline with npm; `None` (and a note) without Node.
fn prepare_noflo(root: &Path) -> Option<std::path::PathBuf> {
    let dir = root.join("xtask/noflo");
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node_ok {
        eprintln!("xtask: Node.js is missing: the NoFlo baseline rows are skipped");
        return None;
    }
    if !dir.join("node_modules/noflo").exists() {
        eprintln!("xtask: installing the NoFlo baseline (npm ci in xtask/noflo)");
        if run(Command::new("npm").current_dir(&dir).args(["ci", "--no-audit", "--no-fund", "--silent"])).is_err() {
            eprintln!("xtask: npm ci failed: the NoFlo baseline rows are skipped");
            return None;
        }
    }
    Some(dir)
}

fn run_suite(binary: &Path, root: &Path, noflo: Option<&Path>, backtrace: &str) -> Result<Vec<Value>> {
    eprintln!("xtask: running the suite with RUST_BACKTRACE={backtrace}");
    let mut cmd = Command::new(binary);
    cmd.arg(root.join("target/plugins")).env("RUST_BACKTRACE", backtrace);
    if let Some(dir) = noflo {
        cmd.arg("--noflo").arg(dir);
    }
    let out = cmd.output().with_context(|| format!("cannot run {}", binary.display()))?;
    if !out.status.success() {
        bail!("the bench suite failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad bench line {l:?}")))
        .collect()
}

fn fmt(value: f64, unit: &str) -> String {
    match unit {
        "ns" if value >= 10_000.0 => format!("{:.1} µs", value / 1000.0),
        "ns" => format!("{value:.0} ns"),
        "msg/s" => format!("{value:.0} msg/s"),
        "ms" => format!("{value:.1} ms"),
        "MiB" => format!("{value:.0} MiB"),
        "hops/s" => format!("{value:.0} hops/s"),
        "B" => format!("{value:.0} B"),
        "KiB" => format!("{value:.1} KiB"),
        _ => format!("{value}"),
    }
}

fn render(quiet: &[Value], loud: &[Value]) -> String {
    let mut out = String::from(
        "| case | ours | baseline | baseline value | ours / baseline | target | met | ours, RUST_BACKTRACE=1 | =1 vs =0 |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (q, l) in quiet.iter().zip(loud) {
        let unit = q["unit"].as_str().unwrap_or("");
        let (ours, loud_ours) = (q["ours"].as_f64().unwrap_or(f64::NAN), l["ours"].as_f64().unwrap_or(f64::NAN));
        // For rates, higher is better; for the rest, lower is: "worse" is relative to that.
        let worse = if unit == "msg/s" { ours / loud_ours - 1.0 } else { loud_ours / ours - 1.0 };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {} | {} | {} | {:+.0}% |\n",
            q["case"].as_str().unwrap_or(""),
            fmt(ours, unit),
            q["baseline"].as_str().unwrap_or(""),
            fmt(q["base"].as_f64().unwrap_or(f64::NAN), unit),
            q["ratio"].as_f64().unwrap_or(f64::NAN),
            q["target"].as_str().unwrap_or(""),
            if q["met"].as_bool().unwrap_or(false) { "yes" } else { "**no**" },
            fmt(loud_ours, unit),
            worse * 100.0,
        ));
    }
    out
}

fn today() -> String {
    Command::new("date").arg("+%Y-%m-%d").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu})")
}
