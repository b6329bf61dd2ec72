//! The sandbox, one hostile plugin at a time: limits stop a call and name the actor and the
//! limit, the next call runs on a fresh instance with the state from before, nothing outside
//! the plugin is reachable without a grant and the granted thing is. Every test goes through
//! `support::start_sandboxed` and runs on both backends (`support::on_both_backends`).

use crate::support::*;
use reflow_script::{Limit, Limits, Message, ScriptError};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn start(name: &str, grants: &[&str], limits: Limits, config: Value) -> Box<dyn SandboxedActor> {
    start_sandboxed(name, "hostile", grants, limits, config).unwrap_or_else(|e| panic!("starting {name}: {e}"))
}

/// The limit a failed call names, as the error describes it.
/// `error` and its causes, outermost first, as `{:#}` prints them with anyhow (the CLI).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

fn limit_error(err: ScriptError) -> (Limit, String) {
    match err {
        ScriptError::LimitExceeded { actor, limit, limits } => {
            assert_eq!(actor, "hostile");
            (limit, limits.describe(limit))
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
}

/// Two counted messages, the hostile one, then one more counted message: the count goes on
/// from before the failed call, on a fresh instance.
fn fails_then_recovers(actor: &mut dyn SandboxedActor) -> ScriptError {
    actor.call(json!({"in": 1})).unwrap();
    actor.call(json!({"in": 2})).unwrap();
    let err = actor.call(json!({"in": 3})).unwrap_err();
    assert_eq!(actor.state(), json!({"count": 2}), "a failed call leaves the state as it was");
    let out = actor.call(json!({"in": 4})).unwrap();
    assert_eq!(out["count"], Message::Integer(3), "the restarted instance carries the state from before");
    err
}

#[test]
fn an_infinite_loop_is_stopped_by_the_call_time_limit() {
    on_both_backends(|| {
        let limits = Limits { call_timeout: Duration::from_millis(200), ..Limits::default() };
        let mut actor = start("infinite_loop.wasm", &[], limits, json!({}));
        let err = fails_then_recovers(&mut *actor);
        assert_eq!(err.to_string(), "actor hostile: exceeded the 200 ms call time limit");
    });
}

#[test]
fn an_infinite_loop_is_stopped_by_the_fuel_limit() {
    on_both_backends(|| {
        let limits = Limits { fuel: Some(20_000_000), call_timeout: Duration::from_secs(600), ..Limits::default() };
        let mut actor = start("infinite_loop.wasm", &[], limits, json!({}));
        let err = fails_then_recovers(&mut *actor);
        assert_eq!(limit_error(err), (Limit::Fuel, "the fuel limit of 20000000 units".to_string()));
    });
}

#[test]
fn a_memory_bomb_hits_the_page_limit() {
    on_both_backends(|| {
        let limits = Limits { max_memory_pages: 256, ..Limits::default() };
        let mut actor = start("memory_bomb.wasm", &[], limits, json!({}));
        let err = fails_then_recovers(&mut *actor);
        assert_eq!(err.to_string(), "actor hostile: exceeded the 256-page (16 MiB) memory limit");
    });
}

#[test]
fn repeated_memory_bombs_do_not_accumulate_memory() {
    on_both_backends(|| {
        // Ten bombs of up to 64 MiB each: replaced instances must give their memory back, so the
        // process grows by about one bomb, not ten (measured, with a generous bound).
        let limits = Limits { max_memory_pages: 1024, ..Limits::default() };
        let mut actor = start("memory_bomb.wasm", &[], limits, json!({}));
        let before = resident_kib();
        for _ in 0..10 {
            assert!(matches!(actor.call(json!({"in": 3})), Err(ScriptError::LimitExceeded { .. })));
        }
        let grown = resident_kib().saturating_sub(before);
        eprintln!("resident memory grew by {grown} KiB over 10 memory bombs of 64 MiB");
        assert!(grown < 4 * 64 * 1024, "grew by {grown} KiB");
    });
}

/// The process's resident set size, from /proc. Without it the test above would measure
/// nothing and pass, so it fails instead.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status: this test measures resident memory on Linux");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line in /proc/self/status")
}

#[test]
fn a_panic_keeps_the_state_from_before_the_call() {
    on_both_backends(|| {
        let mut actor = start("failing.wasm", &[], Limits::default(), json!({}));
        actor.call(json!({"in": 1})).unwrap();
        let err = actor.call(json!({"panic": true})).unwrap_err();
        assert!(matches!(&err, ScriptError::Call { actor, .. } if actor == "hostile"), "{err}");
        assert_eq!(actor.state(), json!({"echoed": 1}));
        actor.call(json!({"in": 2})).unwrap();
        assert_eq!(actor.state(), json!({"echoed": 2}));
    });
}

#[test]
fn gigantic_outputs_are_capped_whichever_way_they_come() {
    on_both_backends(|| {
        let limits = Limits { max_output_bytes: 10_000, ..Limits::default() };
        let mut actor = start("flood.wasm", &[], limits, json!({}));
        let out = actor.call(json!({"return": 5_000})).unwrap();
        assert_eq!(out["out"], Message::String("x".repeat(5_000)));
        for port in ["return", "send", "state"] {
            let err = actor.call(json!({port: 50_000})).unwrap_err();
            assert_eq!(err.to_string(), "actor hostile: exceeded the 10000-byte output limit", "on {port}");
        }
        assert_eq!(actor.state(), json!({}), "the refused __set_state left no trace");
        // __set_state adds a key per call: the state as a whole stays within the limit.
        actor.call(json!({"state": 6_000})).unwrap();
        let err = actor.call(json!({"state": 6_000})).unwrap_err();
        assert_eq!(err.to_string(), "actor hostile: exceeded the 10000-byte output limit");
        assert_eq!(actor.state().as_object().unwrap().keys().collect::<Vec<_>>(), ["blob0"]);
        let recorder = Recorder::default();
        actor.call_with_sink(json!({"send": 100}), &recorder.sink()).unwrap();
        assert_eq!(recorder.take().len(), 1, "the actor still works after its capped calls");
    });
}

#[test]
fn bad_host_calls_are_clean_errors_naming_the_actor_and_the_function() {
    on_both_backends(|| {
        let mut actor = start("bad_host_calls.wasm", &[], Limits::default(), json!({}));
        for (which, expected) in [
            ("offset", "__send_output: the outputs: not a valid memory handle"),
            ("json", "__send_output: the outputs are not valid JSON"),
            ("shape", "__send_output: expected a JSON object {port: message}, got [1,2,3]"),
            ("message", "__send_output: port \"out\": a Integer message needs an integer"),
            ("state", "__set_state: the value is not valid JSON"),
            ("key", "__set_state: the key is not UTF-8"),
        ] {
            let err = actor.call(json!({"in": which})).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("actor hostile: plugin call failed: "), "{which}: {text}");
            assert!(text.contains(expected), "{which}: {text}");
            assert!(!text.contains('\n'), "{which}: one line: {text}");
        }
        assert_eq!(actor.state(), json!({}));
        let out = actor.call(json!({"in": "nothing bad"})).unwrap();
        assert_eq!(out["out"], Message::String("nothing bad".into()));
    });
}

/// A fresh directory holding `greeting.txt`.
fn data_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reflow-sandbox-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("greeting.txt"), "hello from the host").unwrap();
    dir
}

#[test]
fn files_are_unreachable_without_a_grant() {
    on_both_backends(|| {
        let dir = data_dir("denied");
        // Even the host path itself, which exists, is not visible inside the sandbox.
        for path in ["/data/greeting.txt".to_string(), dir.join("greeting.txt").display().to_string()] {
            let mut actor = start("read_file.wasip1.wasm", &[], Limits::default(), json!({"path": path}));
            let err = actor.call(json!({"in": 1})).unwrap_err().to_string();
            assert!(err.contains(&format!("cannot read {path}")), "{err}");
        }
    });
}

#[test]
fn a_read_only_grant_reads_but_cannot_write() {
    on_both_backends(|| {
        let dir = data_dir("ro");
        let grant = format!("fs:ro:{}=/data", dir.display());
        let config = json!({"path": "/data/greeting.txt"});
        if current_backend() == reflow_script::Backend::Extism {
            // The extism crate cannot keep a directory read-only (see hostile.rs): refused.
            let err = start_sandboxed("read_file.wasip1.wasm", "hostile", &[&grant], Limits::default(), config).err().unwrap();
            assert!(err.to_string().contains("cannot keep a directory read-only"), "{err}");
            return;
        }
        let mut actor = start("read_file.wasip1.wasm", &[&grant], Limits::default(), config);
        let out = actor.call(json!({"in": 1})).unwrap();
        assert_eq!(out["text"], Message::String("hello from the host".into()));
        let err = actor.call(json!({"in": "write"})).unwrap_err().to_string();
        assert!(err.contains("cannot write /data/greeting.txt"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join("greeting.txt")).unwrap(), "hello from the host");
    });
}

#[test]
fn a_read_write_grant_writes_inside_its_directory_only() {
    on_both_backends(|| {
        let dir = data_dir("rw");
        let grant = format!("fs:rw:{}=/data", dir.display());
        let mut actor = start("read_file.wasip1.wasm", &[&grant], Limits::default(), json!({"path": "/data/out.txt"}));
        actor.call(json!({"in": "write"})).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "written by read_file");
        let mut escape = start("read_file.wasip1.wasm", &[&grant], Limits::default(), json!({"path": "/data/../escaped.txt"}));
        assert!(escape.call(json!({"in": "write"})).is_err());
        assert!(!dir.parent().unwrap().join("escaped.txt").exists());
    });
}

#[test]
fn a_grant_of_a_missing_directory_fails_at_load_naming_it() {
    on_both_backends(|| {
        let err = start_sandboxed("read_file.wasip1.wasm", "a", &["fs:ro:/no/such/dir=/data"], Limits::default(), json!({}))
            .err()
            .unwrap();
        let ScriptError::Grant { source, .. } = &err else { panic!("{err:?}") };
        assert_eq!(source.grant, "fs:ro:/no/such/dir=/data");
        assert_eq!(source.reason, "/no/such/dir is not a directory");
        // Printed with its causes (as the CLI does), the grant is named once.
        let printed = with_causes(&err);
        assert_eq!(printed.matches("/no/such/dir is not a directory").count(), 1, "{printed}");
        let err = start_sandboxed("doubler.wasm", "a", &["disk:/"], Limits::default(), json!({})).err().unwrap();
        let printed = with_causes(&err);
        assert_eq!(printed.matches("invalid grant \"disk:/\"").count(), 1, "{printed}");
    });
}

#[test]
fn the_environment_is_empty_unless_granted_and_then_only_as_config() {
    on_both_backends(|| {
        let mut actor = start("read_file.wasip1.wasm", &[], Limits::default(), json!({}));
        let out = actor.call(json!({"in": "env"})).unwrap();
        assert_eq!(out["env"], Message::Object(json!({"wasi": [], "granted": {}})), "no host variable leaks in");
        let mut actor = start("read_file.wasip1.wasm", &["env:MODE=test"], Limits::default(), json!({}));
        let out = actor.call(json!({"in": "env"})).unwrap();
        assert_eq!(out["env"], Message::Object(json!({"wasi": [], "granted": {"MODE": "test"}})));
    });
}

/// A loopback HTTP server answering every request with `body`; counts the requests it saw.
fn loopback_server(body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (format!("http://127.0.0.1:{port}/hello"), seen)
}

#[test]
fn http_is_refused_without_a_grant_and_served_with_one() {
    on_both_backends(|| {
        let (url, seen) = loopback_server("hello over loopback");
        let mut denied = start("http_get.wasm", &[], Limits::default(), json!({"url": url}));
        let err = denied.call(json!({"in": 1})).unwrap_err().to_string();
        assert!(err.contains(&format!("HTTP request to {url} is not allowed")), "{err}");
        let mut other_host = start("http_get.wasm", &["http:example.com"], Limits::default(), json!({"url": url}));
        assert!(other_host.call(json!({"in": 1})).is_err());
        assert_eq!(seen.load(Ordering::SeqCst), 0, "no refused request reached the server");

        let mut granted = start("http_get.wasm", &["http:127.0.0.1"], Limits::default(), json!({"url": url}));
        let out = granted.call(json!({"in": 1})).unwrap();
        assert_eq!(out["body"], Message::String("hello over loopback".into()));
        assert_eq!(out["status"], Message::Integer(200));
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn two_instances_of_one_plugin_have_separate_state() {
    on_both_backends(|| {
        let no_trigger = json!({"trigger": -1});
        let mut a = start("infinite_loop.wasm", &[], Limits::default(), no_trigger.clone());
        let mut b = start("infinite_loop.wasm", &[], Limits::default(), no_trigger);
        for n in 0..3 {
            a.call(json!({"in": n})).unwrap();
        }
        let out = b.call(json!({"in": 7})).unwrap();
        assert_eq!(out["count"], Message::Integer(1));
        assert_eq!((a.state(), b.state()), (json!({"count": 3}), json!({"count": 1})));
    });
}

#[test]
fn one_actors_timeout_does_not_interrupt_a_sibling_sharing_its_plugin() {
    on_both_backends(|| {
        // Actor a loops and is stopped by its 2 s limit. Meanwhile actor b, started from the same
        // loaded plugin 1 s later, is held inside `__send_output` until a's call has ended, then
        // finishes well within its own limit: it must succeed.
        let limits = Limits { call_timeout: Duration::from_secs(2), ..Limits::default() };
        let (mut a, mut b) = start_pair_sandboxed("infinite_loop.wasm", limits, json!({})).unwrap();
        let (a_done, a_ended) = std::sync::mpsc::channel();
        let looping = std::thread::spawn(move || {
            let result = a.call(json!({"in": 3}));
            a_done.send(()).unwrap();
            result
        });
        std::thread::sleep(Duration::from_secs(1));
        let a_ended = std::sync::Mutex::new(a_ended);
        let hold: reflow_script::OutputSink = Arc::new(move |_: &str, _: Message| {
            let _ = a_ended.lock().unwrap().recv_timeout(Duration::from_secs(30));
        });
        let b_result = b.call_with_sink(json!({"in": 1}), &hold);
        let a_result = looping.join().unwrap();
        assert!(matches!(a_result, Err(ScriptError::LimitExceeded { .. })), "{a_result:?}");
        let out = b_result.unwrap_or_else(|e| panic!("b was interrupted by a's timeout: {e}"));
        assert_eq!(out["count"], Message::Integer(1));
    });
}

#[test]
fn a_log_flood_is_cut_at_the_output_limit_without_failing_the_call() {
    on_both_backends(|| {
        let captured = CapturedLog::default();
        let subscriber = captured.subscriber("reflow_script=info");
        let limits = Limits { max_output_bytes: 10_000, ..Limits::default() };
        let mut actor = start("flood.wasm", &[], limits, json!({}));
        // Plugin logs run on the calling thread, so a thread-local subscriber sees them.
        tracing::subscriber::with_default(subscriber, || {
            actor.call(json!({"log": 1_000})).expect("logging never fails a call");
            actor.call(json!({"log": 10})).unwrap();
        });
        let text = captured.text();
        let lines = text.lines().filter(|l| l.contains("xxxxxxxxxx")).count();
        assert_eq!(lines, 100 + 10, "10000 bytes of 100-byte lines in the first call, all 10 in the next");
        assert_eq!(text.matches("further log lines are dropped").count(), 1, "{text}");
    });
}

#[test]
fn a_plugin_looping_in_get_metadata_fails_to_load_naming_the_limit() {
    on_both_backends(|| {
        let limits = Limits { call_timeout: Duration::from_millis(200), ..Limits::default() };
        let err = start_sandboxed("loop_metadata.wasm", "a", &[], limits, json!({})).err().unwrap();
        assert!(matches!(err, ScriptError::Metadata { .. }), "{err:?}");
        assert_eq!(err.to_string(), "loop_metadata.wasm: invalid metadata from `get_metadata`: exceeded the 200 ms call time limit");
    });
}

/// Every sandbox feature exists on both backends: a module runs on the one asked for,
/// whatever its grants and limits (nothing is routed to the Extism backend behind the
/// operator's back).
#[test]
fn modules_run_on_the_backend_asked_for_whatever_they_need() {
    use reflow_script::{Backend, PluginModule, ScriptConfig};
    let dir = data_dir("routing");
    let load = |backend: Backend, grants: &[String], limits: Limits| {
        let script = ScriptConfig { packages: Some(grants.to_vec()), ..ScriptConfig::new(plugin_bytes("doubler.wasm")) };
        PluginModule::load_on(backend, "doubler.wasm", &script, limits).unwrap().backend()
    };
    let d = dir.display();
    let fuel = Limits { fuel: Some(1_000_000), ..Limits::default() };
    for backend in [Backend::Wasmtime, Backend::Extism] {
        assert_eq!(load(backend, &[], Limits::default()), backend);
        assert_eq!(load(backend, &[format!("fs:rw:{d}=/data"), "env:A=b".into()], Limits::default()), backend);
        assert_eq!(load(backend, &["http:127.0.0.1".into()], Limits::default()), backend);
        assert_eq!(load(backend, &[], fuel), backend);
    }
    assert_eq!(load(Backend::Wasmtime, &[format!("fs:ro:{d}=/data")], Limits::default()), Backend::Wasmtime);
    assert_eq!(PluginModule::load(
        "doubler.wasm",
        &ScriptConfig { packages: Some(vec!["http:127.0.0.1".into(), format!("fs:ro:{d}=/data")]), ..ScriptConfig::new(plugin_bytes("doubler.wasm")) },
        fuel,
    )
    .unwrap()
    .backend(), Backend::Wasmtime, "the default is our engine");
}
