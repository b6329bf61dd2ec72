//! The sandbox features on our engine against the same calls on the Extism backend: an
//! HTTP-granted call (a GET to a loopback server), a fuel-limited call, and what fuel metering
//! costs an engine (why fuel-limited modules get an engine of their own, `wasmtime_backend`).

use crate::measure::ns_per_call;
use reflow_script::{ActorConfig, Backend, Limits, Message, OutputSink, PluginModule, ScriptActor, ScriptConfig};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const ROUND: Duration = Duration::from_millis(150);
const ROUNDS: usize = 7;

fn actor(dir: &Path, plugin: &str, backend: Backend, grants: &[&str], limits: Limits, config: serde_json::Value) -> Result<ScriptActor, String> {
    let source = std::fs::read(dir.join(plugin)).map_err(|e| format!("{plugin}: {e} (run `cargo xtask build-plugins`)"))?;
    let packages = (!grants.is_empty()).then(|| grants.iter().map(|g| g.to_string()).collect());
    let module = PluginModule::load_on(backend, plugin, &ScriptConfig { packages, ..ScriptConfig::new(source) }, limits).map_err(|e| e.to_string())?;
    let config = config.as_object().cloned().unwrap_or_default();
    ScriptActor::new(&module, ActorConfig { node_id: "bench".into(), config, ..Default::default() }).map_err(|e| e.to_string())
}

/// A loopback HTTP server answering every request with a short body (one thread each).
fn loopback() -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
            });
        }
    });
    Ok(format!("http://127.0.0.1:{port}/"))
}

/// What a row's figure is held to.
enum Target {
    /// Faster than its baseline.
    Faster,
    /// No target: the row measures a cost (of metering).
    Cost,
}

/// One row, in the JSON shape of `cases.rs`'s rows (xtask renders both into the table).
fn row(case: &str, ours: f64, baseline: &str, base: f64, target: Target) {
    let (target, met) = match target {
        Target::Faster => ("faster than the Extism backend", ours < base),
        Target::Cost => ("(the cost of one metered engine for all)", true),
    };
    let ratio = ours / base;
    println!(
        "{}",
        serde_json::json!({"case": case, "unit": "ns", "ours": ours, "baseline": baseline, "base": base, "ratio": ratio, "target": target, "met": met})
    );
}

pub fn run(dir: &Path) -> Result<(), String> {
    let sink: OutputSink = Arc::new(|_: &str, _: Message| {});
    let url = loopback()?;
    let grant = ["http:127.0.0.1"];
    let config = serde_json::json!({ "url": url });
    let trigger = HashMap::from([("in".to_string(), Message::Integer(1))]);
    let mut ours = actor(dir, "http_get.wasm", Backend::Wasmtime, &grant, Limits::default(), config.clone())?;
    let mut theirs = actor(dir, "http_get.wasm", Backend::Extism, &grant, Limits::default(), config)?;
    let our_ns = ns_per_call(|| ours.process(&trigger, sink.clone()).unwrap(), ROUND, ROUNDS);
    let their_ns = ns_per_call(|| theirs.process(&trigger, sink.clone()).unwrap(), ROUND, ROUNDS);
    row("HTTP-granted call (GET to loopback)", our_ns, "same call, Extism backend", their_ns, Target::Faster);

    let doubler = HashMap::from([("input".to_string(), Message::Integer(21))]);
    let fuel = Limits { fuel: Some(10_000_000), ..Limits::default() };
    let mut ours = actor(dir, "doubler.wasm", Backend::Wasmtime, &[], fuel, serde_json::json!({}))?;
    let mut theirs = actor(dir, "doubler.wasm", Backend::Extism, &[], fuel, serde_json::json!({}))?;
    let our_ns = ns_per_call(|| ours.process(&doubler, sink.clone()).unwrap(), ROUND, ROUNDS);
    let their_ns = ns_per_call(|| theirs.process(&doubler, sink.clone()).unwrap(), ROUND, ROUNDS);
    row("fuel-limited call (doubler, 10M fuel)", our_ns, "same call, Extism backend", their_ns, Target::Faster);

    // What metering costs: the same unlimited call on the metered engine (a budget no call
    // exhausts) against the plain one. Had every module shared one metered engine, every call
    // would pay this.
    let mut plain = actor(dir, "doubler.wasm", Backend::Wasmtime, &[], Limits::default(), serde_json::json!({}))?;
    let unlimited = Limits { fuel: Some(u64::MAX / 2), ..Limits::default() };
    let mut metered = actor(dir, "doubler.wasm", Backend::Wasmtime, &[], unlimited, serde_json::json!({}))?;
    let plain_ns = ns_per_call(|| plain.process(&doubler, sink.clone()).unwrap(), ROUND, ROUNDS);
    let metered_ns = ns_per_call(|| metered.process(&doubler, sink.clone()).unwrap(), ROUND, ROUNDS);
    row("doubler on the metered engine, huge fuel budget", metered_ns, "same call, unmetered engine", plain_ns, Target::Cost);

    // The same on wasm-bound work, where metering shows: a loop of a million iterations.
    let spin = |limits: Limits| -> Result<ScriptActor, String> {
        let module = PluginModule::load_on(Backend::Wasmtime, "spin.wat", &ScriptConfig::new(spin_module()?), limits).map_err(|e| e.to_string())?;
        ScriptActor::new(&module, ActorConfig { node_id: "bench".into(), ..Default::default() }).map_err(|e| e.to_string())
    };
    let (mut plain, mut metered) = (spin(Limits::default())?, spin(unlimited)?);
    let plain_ns = ns_per_call(|| { plain.engine_mut().call_export("spin", &[]).unwrap(); }, ROUND, ROUNDS);
    let metered_ns = ns_per_call(|| { metered.engine_mut().call_export("spin", &[]).unwrap(); }, ROUND, ROUNDS);
    row("1M-iteration wasm loop on the metered engine", metered_ns, "same call, unmetered engine", plain_ns, Target::Cost);
    Ok(())
}

/// A plugin whose `spin` export counts to a million: pure wasm work, no host calls.
fn spin_module() -> Result<Vec<u8>, String> {
    const METADATA: &str = r#"{"component":"spin"}"#;
    wat::parse_str(format!(
        r#"(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory 1)
  (data (i32.const 0) "{metadata}")
  (func (export "get_metadata") (result i32)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.const {len})))
    (block $end (loop $copy
      (br_if $end (i32.ge_u (local.get $i) (i32.const {len})))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (call $output_set (local.get $h) (i64.const {len}))
    (i32.const 0))
  (func (export "process") (result i32) (i32.const 0))
  (func (export "spin") (result i32)
    (local $i i32)
    (block $end (loop $l
      (br_if $end (i32.ge_u (local.get $i) (i32.const 1000000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.const 0)))"#,
        metadata = METADATA.replace('"', "\\\""),
        len = METADATA.len()
    ))
    .map_err(|e| e.to_string())
}
