//! The FBP ecosystem's data-driven graph tests, npm `fbp-spec` (pinned in
//! `tests/fbp-spec/package.json` and its lock file), run against a `reflow serve` started here
//! on a free loopback port: our suites (`tests/fbp-spec/suites`) and fbp-spec's own
//! `examples/simple-passing.yaml` must pass case for case, and every case of
//! `suites/must-fail.yaml` must be reported as failed by an expectation (not by an error of
//! the runtime), so that a runner or a runtime that passes everything is caught.
//!
//! The server gets the suite's secret through `REFLOW_SERVE_SECRET` (fbp-spec is given it
//! with `--secret`: this secret only lives for this run), the example plugins under their FBP
//! names (`--components` holding `doubler.wasm` and `counter.wasm`), and a files folder for
//! `reflow/WriteJsonLines`.
//!
//! `component:source` (setsource) is covered the way an editor uses it: the server also gets
//! `--allow-build`, `tests/fbp-spec/setsource.js` (fbp-spec's own client) sends it
//! `setsource/tripler.rs` with its fbp-spec suite as the message's `tests`, and `fbp-spec
//! --component-tests` must then pass that suite, which it reads back from the runtime
//! (`component:getsource`) and runs on the plugin the runtime built.

use crate::fbp_test::suite_secret;
use crate::{cargo, run};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Suites whose every case must pass (relative to `tests/fbp-spec`).
const PASSING: [&str; 3] = ["suites/builtins.yaml", "suites/plugins.yaml", "node_modules/fbp-spec/examples/simple-passing.yaml"];

/// The suite whose every case must fail.
const FAILING: &str = "suites/must-fail.yaml";

/// The component sent as source, its code and its suite (relative to `tests/fbp-spec`).
const SETSOURCE: (&str, &str, &str) = ("tripler", "setsource/tripler.rs", "setsource/tripler.tests.yml");

/// The plugins the suites use, copied from `target/plugins` into the components folder.
const PLUGINS: [&str; 2] = ["doubler.wasm", "counter.wasm"];

/// Kills the server however the suite ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run_suites(root: &Path) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--quiet", "-p", "reflow_cli"]).current_dir(root);
    run(&mut build)?;
    let reflow = root.join("target").join("debug").join(if cfg!(windows) { "reflow.exe" } else { "reflow" });

    let home = root.join("target").join("fbp-spec");
    let components = home.join("components");
    let files = home.join("files");
    // What an earlier run's setsource built must not stand in for this run's.
    let _ = std::fs::remove_dir_all(&components);
    std::fs::create_dir_all(&components)?;
    std::fs::create_dir_all(&files)?;
    for plugin in PLUGINS {
        let built = root.join("target").join("plugins").join(plugin);
        std::fs::copy(&built, components.join(plugin)).with_context(|| format!("copying {} (run cargo xtask build-plugins)", built.display()))?;
    }

    let secret = suite_secret();
    let mut child = Command::new(&reflow)
        .args(["serve", "--host", "127.0.0.1", "--port", "0", "--components"])
        .arg(&components)
        .arg("--allow-files")
        .arg(&files)
        .arg("--allow-build")
        .arg("--sdk-path")
        .arg(root)
        .env("REFLOW_SERVE_SECRET", &secret)
        // The wasm target folder the plugins were built in: the SDK is compiled already.
        .env("CARGO_TARGET_DIR", root.join("target").join("wasm"))
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start reflow serve")?;
    let stdout = child.stdout.take().context("reflow serve's stdout")?;
    let server = Server(child);
    // The first line says where it listens: `reflow serve: listening on ws://ADDR (...)`.
    let mut line = String::new();
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line)?;
    // `core/Output` and `reflow/Print` print on the server's stdout: keep reading it (a closed
    // pipe would fail their calls).
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::stderr()));
    let address = line
        .split_whitespace()
        .find(|word| word.starts_with("ws://"))
        .with_context(|| format!("reflow serve did not say where it listens: {line:?}"))?
        .to_string();
    eprintln!("xtask: fbp-spec against `reflow serve` on {address}");

    let dir = root.join("tests").join("fbp-spec");
    let (passing, status, output) = fbp_spec(&dir, &address, &secret, &[], &PASSING)?;
    let cases: usize = PASSING.iter().map(|suite| count_cases(&dir.join(suite))).sum::<Result<usize>>()?;
    let failed = output.lines().filter(|l| l.contains('✗')).count();
    if !status.success() || failed > 0 || passing != cases {
        bail!("fbp-spec: {passing}/{cases} cases passed, {failed} failed (exit {status})");
    }
    eprintln!("xtask: fbp-spec passed {passing}/{cases} cases");

    let (passed, status, output) = fbp_spec(&dir, &address, &secret, &[], &[FAILING])?;
    let cases = count_cases(&dir.join(FAILING))?;
    // Failed by an expectation (chai's "expected X to deeply equal Y"), not by the runtime.
    let by_expectation = output.lines().filter(|l| l.contains("✗ Error:") && l.contains("expected")).count();
    if status.success() || passed > 0 || by_expectation != cases {
        bail!("fbp-spec: {FAILING} must fail each of its {cases} cases by an expectation: {by_expectation} did, {passed} passed (exit {status})");
    }
    eprintln!("xtask: fbp-spec failed all {cases} cases of {FAILING}, as it must");

    let (name, code, tests) = SETSOURCE;
    let mut send = Command::new("node");
    send.arg(dir.join("setsource.js")).args([&address, &secret, name]).arg(dir.join(code)).arg(dir.join(tests)).current_dir(&dir);
    run(&mut send).context("component:source of setsource/tripler.rs")?;
    // The folder holds no `.yaml`: the only suites are those the runtime gives back.
    let (passed, status, _) = fbp_spec(&dir, &address, &secret, &["--component-tests"], &["setsource"])?;
    let cases = count_cases(&dir.join(tests))?;
    if !status.success() || passed != cases {
        bail!("fbp-spec --component-tests: {passed}/{cases} cases of the suite sent with {name}'s source passed (exit {status})");
    }
    eprintln!("xtask: fbp-spec --component-tests passed {passed}/{cases} cases of {name}, built from source by the runtime");
    drop(server);
    Ok(())
}

/// Runs fbp-spec on `suites` (with `flags`); returns the passed cases, its exit status and its
/// output.
fn fbp_spec(dir: &Path, address: &str, secret: &str, flags: &[&str], suites: &[&str]) -> Result<(usize, std::process::ExitStatus, String)> {
    let mut passed = 0;
    let mut all = String::new();
    let mut worst = None;
    // One fbp-spec per file: it reads one suite argument.
    for suite in suites {
        let output = Command::new("node")
            .arg(dir.join("node_modules/fbp-spec/bin/fbp-spec"))
            .args(["--address", address, "--secret", secret])
            // Per protocol command; a hang guard (a start compiles plugins on a busy machine).
            .args(["--command-timeout", "60"])
            .args(flags)
            .arg(suite)
            .current_dir(dir)
            .output()
            .context("cannot start fbp-spec")?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        print!("{text}");
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        passed += text.lines().filter(|l| l.trim_end().ends_with('✓')).count();
        all.push_str(&text);
        if worst.is_none() || !output.status.success() {
            worst = Some(output.status);
        }
    }
    Ok((passed, worst.context("no suite given")?, all))
}

/// The cases in a suite file: each has exactly one `assertion:` line.
fn count_cases(suite: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(suite).with_context(|| format!("reading {}", suite.display()))?;
    Ok(text.lines().filter(|l| l.trim_start().starts_with("assertion:")).count())
}
