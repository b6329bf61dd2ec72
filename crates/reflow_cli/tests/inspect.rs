//! `reflow run --inspect` in a real browser: Debian's Chromium, headless, driven by the pinned
//! `puppeteer-core` (tests/inspector/check.js says what it asserts). `cargo xtask test`
//! installs both first (`cargo xtask browser-deps` alone); without them this test fails,
//! saying so. The screenshots are left in `target/inspector/`.

use super::support::{plugin, root};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A hang guard for the page's address to be printed (it is, once plugins are compiled).
const START_GUARD: Duration = Duration::from_secs(120);

#[test]
fn the_inspector_shows_a_running_graph_in_a_browser() {
    let tools = root().join("tests/inspector/node_modules/puppeteer-core/package.json");
    assert!(tools.exists() && std::path::Path::new("/usr/bin/chromium").exists(), "Chromium or puppeteer-core is missing: run `cargo xtask browser-deps` (cargo xtask test does)");
    for p in ["doubler.wasm", "counter.wasm", "failing.wasm"] {
        plugin(p);
    }
    let state = tempfile::tempdir().unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(["run", "tests/inspector/graph.json", "--inspect", "127.0.0.1:0", "--state-dir"])
        .arg(state.path())
        .current_dir(root())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reflow starts");
    // Stderr is read to its end on a thread of its own, so the run never blocks on it.
    let (lines, printed) = mpsc::channel();
    let stderr = run.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let url = loop {
        match printed.recv_timeout(START_GUARD) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("reflow run: inspector at ") {
                    break url.to_string();
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = run.kill();
                panic!("reflow run printed no inspector address; stderr: {seen:?}");
            }
        }
    };
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/?token="), "{url}");
    let artifacts = root().join("target/inspector");
    let check = Command::new("node")
        .arg("tests/inspector/check.js")
        .arg(&url)
        .arg(run.id().to_string())
        .arg(&artifacts)
        .current_dir(root())
        .output()
        .expect("node runs");
    let report = format!("{}\n{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    if !check.status.success() {
        let _ = run.kill();
        panic!("the browser checks failed:\n{report}");
    }
    // The script ended the run with SIGINT; echo's failed call makes its exit code 1.
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{report}");
    let rest: Vec<String> = printed.try_iter().collect();
    assert!(rest.iter().any(|l| l.starts_with("count ")), "the final table is printed too: {rest:?}");
    assert!(artifacts.join("inspector.png").exists(), "{report}");
}
