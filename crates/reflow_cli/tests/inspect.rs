//! `reflow run --inspect` and `reflow serve --inspect` in a real browser: Debian's Chromium,
//! headless, driven by the pinned `puppeteer-core` (tests/inspector/check.js and serve.js say
//! what they assert). `cargo xtask test`
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

/// The status code of one request to the inspector at `addr` (`extra`: more header lines).
fn status_of(addr: &str, target: &str, host: &str, extra: &[&str]) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    // A hang guard: a refusal (or a page) is answered at once.
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n");
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
    let mut text = String::new();
    // An event stream does not end: its status line is enough.
    let mut buf = [0u8; 512];
    while !text.contains("\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "no answer: {text:?}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("not a response: {text:?}"))
}

#[test]
fn reflow_serve_serves_the_inspector_of_the_graph_the_editor_runs() {
    let tools = root().join("tests/inspector/node_modules/puppeteer-core/package.json");
    assert!(tools.exists() && std::path::Path::new("/usr/bin/chromium").exists(), "Chromium or puppeteer-core is missing: run `cargo xtask browser-deps` (cargo xtask test does)");
    let components = tempfile::tempdir().unwrap();
    std::fs::copy(plugin("doubler.wasm"), components.path().join("doubler.wasm")).unwrap();
    let secret = "the-serve-inspector-test-secret";
    let mut serve = Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(["serve", "--port", "0", "--inspect", "--components"])
        .arg(components.path())
        .current_dir(root())
        .env("REFLOW_SERVE_SECRET", secret)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("reflow serve starts");
    let (lines, printed) = mpsc::channel();
    let stdout = serve.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let (mut ws, mut url) = (None, None);
    while ws.is_none() || url.is_none() {
        let Ok(line) = printed.recv_timeout(START_GUARD) else {
            let _ = serve.kill();
            panic!("reflow serve printed no addresses (ws {ws:?}, inspector {url:?})");
        };
        if let Some(rest) = line.strip_prefix("reflow serve: listening on ") {
            ws = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(rest) = line.strip_prefix("reflow serve: inspector at ") {
            url = Some(rest.to_string());
        }
    }
    let (ws, url) = (ws.unwrap(), url.unwrap());
    let (addr, token) = url.strip_prefix("http://").and_then(|u| u.split_once("/?token=")).unwrap_or_else(|| panic!("{url}"));
    assert!(addr.starts_with("127.0.0.1:") && ws.starts_with("ws://127.0.0.1:"), "loopback: {url}, {ws}");
    assert_ne!(addr.rsplit(':').next(), ws.rsplit(':').next(), "the page has its own port: {url} beside {ws}");

    // The same rules as `reflow run --inspect`: the token, a loopback Host and Origin.
    assert_eq!(status_of(addr, &format!("/?token={token}"), addr, &[]), 200);
    assert_eq!(status_of(addr, "/", addr, &[]), 403, "no token");
    assert_eq!(status_of(addr, "/events", addr, &[]), 403, "no token, events");
    assert_eq!(status_of(addr, &format!("/events?token={secret}"), addr, &[]), 403, "the protocol's secret is not the page's token");
    assert_eq!(status_of(addr, &format!("/events?token={token}"), addr, &["Origin: http://evil.example"]), 403, "another site's page");
    assert_eq!(status_of(addr, &format!("/?token={token}"), "rebind.evil.example:80", &[]), 403, "a rebound host name");

    let artifacts = root().join("target/inspector");
    let check = Command::new("node").arg("tests/inspector/serve.js").args([&ws, secret, &url]).arg(&artifacts).current_dir(root()).output().expect("node runs");
    let report = format!("{}\n{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(check.status.success(), "the browser checks failed:\n{report}");
    assert!(artifacts.join("serve.png").exists(), "{report}");
}
