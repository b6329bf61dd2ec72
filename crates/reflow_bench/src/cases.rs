//! The cases of the suite, each beside its baseline.

use crate::measure::{median_of, ns_per_call};
use reflow_network::loader::json::parse_json;
use reflow_network::{ActorFailure, Network, Observer, RunOptions};
use reflow_script::{ActorConfig, Backend, ExtismEngine, Limits, Message, OutputSink, PluginModule, ScriptActor, ScriptConfig};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUND: Duration = Duration::from_millis(150);
const ROUNDS: usize = 7;

/// One row of the table.
pub(crate) struct Row<'a> {
    pub case: &'a str,
    pub unit: &'a str,
    pub ours: f64,
    pub baseline: &'a str,
    pub base: f64,
    /// The target, in words, and whether this run met it.
    pub target: &'a str,
    pub met: bool,
}

pub(crate) fn emit(row: Row) {
    let ratio = if row.base > 0.0 { row.ours / row.base } else { f64::NAN };
    println!(
        "{}",
        json!({
            "case": row.case, "unit": row.unit, "ours": row.ours, "baseline": row.baseline,
            "base": row.base, "ratio": ratio, "target": row.target, "met": row.met,
        })
    );
}

fn bytes(dir: &Path, plugin: &str) -> Result<Vec<u8>, String> {
    std::fs::read(dir.join(plugin)).map_err(|e| format!("{plugin}: {e} (run `cargo xtask build-plugins`)"))
}

fn extism_plugin(wasm: &[u8]) -> Result<extism::Plugin, String> {
    let manifest = extism::Manifest::new([extism::Wasm::data(wasm.to_vec())]);
    extism::Plugin::new(manifest, [], false).map_err(|e| format!("{e:#}"))
}

fn actor(dir: &Path, plugin: &str, backend: Backend) -> Result<ScriptActor, String> {
    let module = PluginModule::load_on(backend, plugin, &ScriptConfig::new(bytes(dir, plugin)?), Limits::default()).map_err(|e| e.to_string())?;
    ScriptActor::new(&module, ActorConfig { node_id: "bench".into(), ..Default::default() }).map_err(|e| e.to_string())
}

/// The groups of cases, by the name `--only` selects them with.
pub const GROUPS: [&str; 11] = ["bare", "doubler", "instances", "pipelines", "cold", "rss", "scale", "durable", "inspect", "record", "cluster"];

/// Runs the groups in `only` (all when empty). The pipelines need the doubler group's naive
/// host figure, so selecting them runs that too.
pub fn run_all(dir: &Path, noflo: Option<&Path>, only: &[String]) -> Result<(), String> {
    // Graphs name plugins by absolute path, so that they resolve from any graph file.
    let dir = &dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let wanted = |group: &str| only.is_empty() || only.iter().any(|g| g == group);
    if wanted("bare") {
        bare_calls(dir)?;
    }
    if wanted("doubler") || wanted("pipelines") {
        let naive_ns = doubler_path(dir)?;
        if wanted("doubler") {
            sdk_doublers(dir)?;
        }
        if wanted("pipelines") {
            pipelines(dir, noflo, naive_ns)?;
        }
    }
    if wanted("instances") {
        instances(dir)?;
    }
    if wanted("cold") {
        cold_start(dir)?;
    }
    if wanted("rss") {
        resident_memory(dir)?;
    }
    if wanted("scale") {
        scale(dir)?;
    }
    if wanted("durable") {
        crate::durable::run(dir)?;
    }
    if wanted("inspect") {
        crate::inspect::run(dir)?;
    }
    if wanted("record") {
        crate::record::run(dir)?;
    }
    if wanted("cluster") {
        crate::cluster::run(dir)?;
    }
    Ok(())
}

/// The fixed cost of a call and the cost of moving bytes through the PDK's input and output.
fn bare_calls(dir: &Path) -> Result<(), String> {
    // Floor: a typed call of a trivial export on raw wasmtime, no ABI work at all.
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, r#"(module (func (export "noop") (result i32) i32.const 0))"#).map_err(|e| e.to_string())?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).map_err(|e| e.to_string())?;
    let noop = instance.get_typed_func::<(), i32>(&mut store, "noop").map_err(|e| e.to_string())?;
    let floor = ns_per_call(|| { noop.call(&mut store, ()).unwrap(); }, ROUND, ROUNDS);

    let echo = bytes(dir, "echo.wasm")?;
    let mut reference = extism_plugin(&echo)?;
    let mut ours = actor(dir, "echo.wasm", Backend::Wasmtime)?;
    let engine = ours.engine_mut();

    let extism_noop = ns_per_call(|| { reference.call::<&[u8], &[u8]>("noop", &[]).unwrap(); }, ROUND, ROUNDS);
    let our_noop = ns_per_call(|| { engine.call_export("noop", &[]).unwrap(); }, ROUND, ROUNDS);
    emit(Row { case: "bare call, noop export", unit: "ns", ours: our_noop, baseline: "Extism Plugin::call", base: extism_noop, target: "(no target)", met: true });
    emit(Row { case: "raw wasmtime typed call (floor)", unit: "ns", ours: floor, baseline: "Extism Plugin::call", base: extism_noop, target: "(baseline)", met: true });

    // `echo` takes the bulk path on our engine (the SDK's raw I/O); `echo_pdk`, in the same
    // plugin, the PDK's 8-bytes-per-call loops, as any plugin without the bulk export does.
    for (size, label, target, factor) in [
        (16, "echo 16 B", "<= 1/10 of Extism", 0.1),
        (1024, "echo 1 KiB", "<= 1/10 of Extism", 0.1),
        (64 * 1024, "echo 64 KiB", "<= 1/4 of Extism", 0.25),
    ] {
        let input: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let extism_ns = ns_per_call(|| { reference.call::<&[u8], &[u8]>("echo", &input).unwrap(); }, ROUND, ROUNDS);
        let bulk_ns = ns_per_call(|| { engine.call_export("echo", &input).unwrap(); }, ROUND, ROUNDS);
        let pdk_ns = ns_per_call(|| { engine.call_export("echo_pdk", &input).unwrap(); }, ROUND, ROUNDS);
        let bulk = format!("bare call, {label}, bulk path");
        let pdk = format!("bare call, {label}, PDK path");
        emit(Row { case: &bulk, unit: "ns", ours: bulk_ns, baseline: "Extism Plugin::call", base: extism_ns, target, met: bulk_ns <= extism_ns * factor });
        emit(Row { case: &pdk, unit: "ns", ours: pdk_ns, baseline: "Extism Plugin::call", base: extism_ns, target: "(no target)", met: true });
    }
    Ok(())
}

/// The spec's doubler as a pass-through actor: encode the context, call, decode, route.
/// Returns the naive host's nanoseconds per message, the pipelines' baseline.
fn doubler_path(dir: &Path) -> Result<f64, String> {
    let doubler = bytes(dir, "doubler.wasm")?;
    let mut ours = actor(dir, "doubler.wasm", Backend::Wasmtime)?;
    let payload = HashMap::from([("input".to_string(), Message::Integer(21))]);
    let sink: OutputSink = Arc::new(|_: &str, _: Message| {});
    let our_ns = ns_per_call(|| ours.process(&payload, sink.clone()).unwrap(), ROUND, ROUNDS);

    let mut on_extism = actor(dir, "doubler.wasm", Backend::Extism)?;
    let extism_backend_ns = ns_per_call(|| on_extism.process(&payload, sink.clone()).unwrap(), ROUND, ROUNDS);

    let context = json!({
        "payload": {"input": {"type": "Integer", "data": 21}},
        "config": serde_json::to_value(ActorConfig { node_id: "bench".into(), ..Default::default() }).unwrap(),
        "state": {}
    })
    .to_string();
    let mut reference = extism_plugin(&doubler)?;
    let raw_ns = ns_per_call(|| { reference.call::<&str, &[u8]>("process", &context).unwrap(); }, ROUND, ROUNDS);
    emit(Row { case: "doubler, full per-message path", unit: "ns", ours: our_ns, baseline: "raw Extism Plugin::call, same context", base: raw_ns, target: "<= 1/8 of a raw Extism call", met: our_ns <= raw_ns / 8.0 });
    // 32 messages waiting, as the executor hands them over: one call across the boundary.
    let waiting = vec![payload.clone(); 32];
    let batched_ns = ns_per_call(|| assert!(matches!(ours.process_batch(&waiting, sink.clone()), (32, None))), ROUND, ROUNDS) / 32.0;
    emit(Row { case: "doubler, batched (32 waiting), per message", unit: "ns", ours: batched_ns, baseline: "raw Extism Plugin::call, same context", base: raw_ns, target: "<= 1/20 of a raw Extism call", met: batched_ns <= raw_ns / 20.0 });
    emit(Row { case: "doubler, full path on the Extism backend", unit: "ns", ours: extism_backend_ns, baseline: "raw Extism Plugin::call, same context", base: raw_ns, target: "(reference)", met: true });

    // What the original Reflow host does: a new Extism plugin for every message.
    let naive_ns = ns_per_call(
        || {
            let mut plugin = extism_plugin(&doubler).unwrap();
            plugin.call::<&str, &[u8]>("process", &context).unwrap();
        },
        Duration::from_millis(400),
        3,
    );
    emit(Row { case: "doubler, naive host (new Plugin per message)", unit: "ns", ours: naive_ns, baseline: "raw Extism Plugin::call, same context", base: raw_ns, target: "(baseline)", met: true });
    Ok(naive_ns)
}

/// A new actor of an already loaded plugin (what a fan-out or a hot swap costs), and a call that
/// traps, which replaces the instance (what a restart costs), beside a plain call.
fn instances(dir: &Path) -> Result<(), String> {
    let module = PluginModule::load_on(Backend::Wasmtime, "doubler.wasm", &ScriptConfig::new(bytes(dir, "doubler.wasm")?), Limits::default())
        .map_err(|e| e.to_string())?;
    let config = ActorConfig { node_id: "bench".into(), ..Default::default() };
    let new_ns = ns_per_call(|| drop(ExtismEngine::from_module(&module, config.clone()).unwrap()), ROUND, ROUNDS);
    let compiled = extism::CompiledPlugin::new(extism::PluginBuilder::new(extism::Manifest::new([extism::Wasm::data(bytes(dir, "doubler.wasm")?)])))
        .map_err(|e| format!("{e:#}"))?;
    let extism_ns = ns_per_call(|| drop(extism::Plugin::new_from_compiled(&compiled).unwrap()), ROUND, ROUNDS);
    emit(Row { case: "new instance of a loaded plugin (doubler)", unit: "ns", ours: new_ns, baseline: "Extism Plugin::new_from_compiled", base: extism_ns, target: "< 20 us", met: new_ns < 20_000.0 });

    let probe = PluginModule::load_on(Backend::Wasmtime, "state_probe.wasm", &ScriptConfig::new(bytes(dir, "state_probe.wasm")?), Limits::default())
        .map_err(|e| e.to_string())?;
    let mut engine = ExtismEngine::from_module(&probe, config).map_err(|e| e.to_string())?;
    let trap = HashMap::from([("trap".to_string(), Message::Flow)]);
    let plain = HashMap::from([("read".to_string(), Message::String("total".into()))]);
    let trap_ns = ns_per_call(|| assert!(engine.process(&trap, None).is_err()), ROUND, ROUNDS);
    let plain_ns = ns_per_call(|| { engine.process(&plain, None).unwrap(); }, ROUND, ROUNDS);
    emit(Row { case: "restart after a trap (trapping call + new instance)", unit: "ns", ours: trap_ns, baseline: "the same actor's plain call", base: plain_ns, target: "< 20 us", met: trap_ns < 20_000.0 });
    Ok(())
}

/// The spec's doubler as each SDK builds it: the plugin's size and the per-message cost on
/// the default backend, beside the Rust SDK's build measured in the same run.
fn sdk_doublers(dir: &Path) -> Result<(), String> {
    let payload = HashMap::from([("input".to_string(), Message::Integer(21))]);
    let sink: OutputSink = Arc::new(|_: &str, _: Message| {});
    let per_message = |plugin: &str| -> Result<f64, String> {
        let mut actor = actor(dir, plugin, Backend::Wasmtime)?;
        Ok(ns_per_call(|| actor.process(&payload, sink.clone()).unwrap(), ROUND, ROUNDS))
    };
    let kib = |plugin: &str| -> Result<f64, String> { Ok(bytes(dir, plugin)?.len() as f64 / 1024.0) };
    let (rust_ns, rust_kib) = (per_message("doubler.wasm")?, kib("doubler.wasm")?);
    let sdks = [
        ("Rust", "doubler.wasm"),
        ("Go", "go_doubler.wasm"),
        ("AssemblyScript", "as_doubler.wasm"),
        ("C", "c_doubler.wasm"),
        ("Zig", "zig_doubler.wasm"),
    ];
    for (sdk, plugin) in sdks {
        // The Rust row is measured again, as the others are: its ratio shows the run's noise.
        let target = if sdk == "Rust" { "(baseline, measured twice)" } else { "(report)" };
        let ns_case = format!("doubler per message, {sdk} SDK");
        emit(Row { case: &ns_case, unit: "ns", ours: per_message(plugin)?, baseline: "Rust SDK doubler, same path", base: rust_ns, target, met: true });
    }
    for (sdk, plugin) in sdks {
        let size_case = format!("doubler plugin size, {sdk} SDK");
        let target = if sdk == "Rust" { "(baseline)" } else { "(report)" };
        emit(Row { case: &size_case, unit: "KiB", ours: kib(plugin)?, baseline: "Rust SDK doubler", base: rust_kib, target, met: true });
    }
    Ok(())
}

pub struct Quiet;

impl Observer for Quiet {
    fn exported(&self, _: &str, _: &Message) {}
    fn failed(&self, failure: &ActorFailure) {
        eprintln!("bench: {failure}");
    }
}

/// The network `reflow/Range 1..=packets -> stage x stages -> core/Drop`, as if in a file in
/// `dir` (where plugin stages are).
pub(crate) fn chain_network(dir: &Path, stage: &str, inport: &str, outport: &str, stages: usize, packets: u64) -> Result<Network, String> {
    let text = chain_graph(stage, inport, outport, stages, packets).to_string();
    let file = dir.join("bench-chain.json");
    let graph = parse_json(text.as_bytes(), &file).map_err(|e| e.to_string())?;
    Network::from_graph(dir, graph, Limits::default()).map_err(|e| reflow_network::error::chain(&e))
}

/// The graph `Range 1..=packets -> stage x stages -> core/Drop` (named `src`, `s0`.., `sink`).
pub(crate) fn chain_graph(stage: &str, inport: &str, outport: &str, stages: usize, packets: u64) -> serde_json::Value {
    let mut processes = serde_json::Map::new();
    let mut connections = Vec::new();
    processes.insert("src".into(), json!({"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": packets}}}));
    let mut previous = ("src".to_string(), "out".to_string());
    for i in 0..stages {
        let name = format!("s{i}");
        processes.insert(name.clone(), json!({"component": stage}));
        connections.push(json!({"src": {"process": previous.0, "port": previous.1}, "tgt": {"process": name, "port": inport}}));
        previous = (name, outport.to_string());
    }
    processes.insert("sink".into(), json!({"component": "core/Drop"}));
    connections.push(json!({"src": {"process": previous.0, "port": previous.1}, "tgt": {"process": "sink", "port": "in"}}));
    json!({"processes": processes, "connections": connections})
}

/// Runs a chain network to its end: the seconds the run took (its instances are created
/// first, and the graph dropped, so neither counts), and the messages the sink received.
fn run_chain(network: Network) -> Result<(f64, u64), String> {
    let plan = network.instantiate().map_err(|e| reflow_network::error::chain(&e))?;
    drop(network);
    let start = Instant::now();
    let report = plan.run(&RunOptions::default(), Arc::new(Quiet));
    let seconds = start.elapsed().as_secs_f64();
    let delivered = report.actors.iter().find(|a| a.name == "sink").map_or(0, |a| a.received);
    Ok((seconds, delivered))
}

/// A chain `Range -> stage x N -> core/Drop`, run to the end; messages per second.
fn chain_throughput(dir: &Path, stage: &str, inport: &str, outport: &str, stages: usize, packets: u64) -> Result<f64, String> {
    let (seconds, delivered) = run_chain(chain_network(dir, stage, inport, outport, stages, packets)?)?;
    if delivered != packets {
        return Err(format!("the chain delivered {delivered} of {packets} messages"));
    }
    Ok(packets as f64 / seconds)
}

fn noflo_throughput(dir: &Path, stages: usize, packets: u64) -> Result<f64, String> {
    let out = Command::new("node")
        .arg(dir.join("chain.js"))
        .args([stages.to_string(), packets.to_string()])
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        return Err(format!("NoFlo run failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("NoFlo output: {e}"))?;
    line["msgs_per_sec"].as_f64().ok_or_else(|| "NoFlo printed no rate".to_string())
}

fn pipelines(dir: &Path, noflo: Option<&Path>, naive_ns: f64) -> Result<(), String> {
    let wasm = median_of(3, || chain_throughput(dir, "echo.wasm", "in", "out", 10, 20_000).unwrap());
    let native = median_of(3, || chain_throughput(dir, "core/Repeat", "in", "out", 10, 200_000).unwrap());
    // The naive host is too slow to run 10 stages of thousands of messages; its throughput is
    // one new plugin per message per stage, from the measurement above, on one thread.
    let naive = 1e9 / (naive_ns * 10.0);
    emit(Row { case: "10-stage WASM pipeline", unit: "msg/s", ours: wasm, baseline: "naive host (new Plugin per message)", base: naive, target: ">= 1000x naive", met: wasm >= naive * 1000.0 });
    match noflo {
        Some(noflo) => {
            let noflo10 = median_of(3, || noflo_throughput(noflo, 10, 100_000).unwrap_or(f64::NAN));
            let noflo1 = median_of(3, || noflo_throughput(noflo, 1, 100_000).unwrap_or(f64::NAN));
            emit(Row { case: "10-stage WASM pipeline", unit: "msg/s", ours: wasm, baseline: "NoFlo, 10 x core/Repeat", base: noflo10, target: "> NoFlo", met: wasm > noflo10 });
            emit(Row { case: "10-stage native pipeline (core/Repeat)", unit: "msg/s", ours: native, baseline: "NoFlo, 10 x core/Repeat", base: noflo10, target: ">= 20x NoFlo", met: native >= noflo10 * 20.0 });
            emit(Row { case: "NoFlo, 1 x core/Repeat", unit: "msg/s", ours: noflo1, baseline: "NoFlo, 10 x core/Repeat", base: noflo10, target: "(baseline)", met: true });
        }
        None => eprintln!("bench: node or the NoFlo baseline is missing; NoFlo rows skipped"),
    }
    Ok(())
}

/// Milliseconds to load, validate and instantiate a graph of `n` instances of `plugin`.
pub fn cold_start_child(plugin: &Path, n: usize) -> Result<(), String> {
    let start = Instant::now();
    let processes: serde_json::Map<String, serde_json::Value> =
        (0..n).map(|i| (format!("p{i}"), json!({"component": plugin.display().to_string()}))).collect();
    let text = json!({"processes": processes, "connections": []}).to_string();
    let file = plugin.with_file_name("bench-cold.json");
    let graph = parse_json(text.as_bytes(), &file).map_err(|e| e.to_string())?;
    let network = Network::from_graph(plugin.parent().unwrap_or(Path::new(".")), graph, Limits::default())
        .map_err(|e| reflow_network::error::chain(&e))?;
    let plan = network.instantiate().map_err(|e| reflow_network::error::chain(&e))?;
    assert_eq!(plan.len(), n);
    println!("{}", start.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

fn child(args: &[String], cache_home: &Path) -> Result<f64, String> {
    let out = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(args)
        .env("XDG_CACHE_HOME", cache_home)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("child output: {e}"))
}

fn cold_start(dir: &Path) -> Result<(), String> {
    let plugin = dir.join("echo.wasm").display().to_string();
    let scratch = std::env::temp_dir().join(format!("reflow-bench-cache-{}", std::process::id()));
    let fresh = |name: &str| {
        let path = scratch.join(name);
        let _ = std::fs::remove_dir_all(&path);
        path
    };
    let one = median_of(3, || child(&["--cold-start".into(), plugin.clone(), "1".into()], &fresh("one")).unwrap());
    let hundred_first = median_of(3, || child(&["--cold-start".into(), plugin.clone(), "100".into()], &fresh("hundred")).unwrap());
    let warm = scratch.join("warm");
    child(&["--cold-start".into(), plugin.clone(), "1".into()], &warm)?;
    let hundred_second = median_of(3, || child(&["--cold-start".into(), plugin.clone(), "100".into()], &warm).unwrap());
    let _ = std::fs::remove_dir_all(&scratch);
    emit(Row { case: "cold start, 100 instances (first run)", unit: "ms", ours: hundred_first, baseline: "cold start, 1 instance", base: one, target: "< 5x one instance", met: hundred_first < one * 5.0 });
    emit(Row { case: "cold start, 100 instances (second run)", unit: "ms", ours: hundred_second, baseline: "first run", base: hundred_first, target: "faster than the first run", met: hundred_second < hundred_first });
    Ok(())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Resident MiB of the whole process holding `n` live instances of `plugin`, each used once.
pub fn rss_child(plugin: &Path, n: usize) -> Result<(), String> {
    let backend = if std::env::var("REFLOW_BENCH_BACKEND").as_deref() == Ok("extism") { Backend::Extism } else { Backend::Wasmtime };
    let source = std::fs::read(plugin).map_err(|e| e.to_string())?;
    let module = PluginModule::load_on(backend, "bench", &ScriptConfig::new(source), Limits::default()).map_err(|e| e.to_string())?;
    let payload = HashMap::from([("input".to_string(), Message::Integer(1))]);
    let sink: OutputSink = Arc::new(|_: &str, _: Message| {});
    let mut actors = Vec::with_capacity(n);
    for i in 0..n {
        let mut actor = ScriptActor::new(&module, ActorConfig { node_id: format!("a{i}"), ..Default::default() }).map_err(|e| e.to_string())?;
        actor.process(&payload, sink.clone()).map_err(|e| e.to_string())?;
        actors.push(actor);
    }
    println!("{}", rss_kib() as f64 / 1024.0);
    drop(actors);
    Ok(())
}

fn resident_memory(dir: &Path) -> Result<(), String> {
    let plugin = dir.join("doubler.wasm").display().to_string();
    let cache = std::env::temp_dir().join("reflow-bench-rss-cache");
    let ours = child(&["--rss".into(), plugin.clone(), "1000".into()], &cache)?;
    let base = child(&["--rss".into(), plugin.clone(), "1".into()], &cache)?;
    emit(Row { case: "resident memory, 1,000 doubler instances", unit: "MiB", ours, baseline: "same process with 1 instance", base, target: "< 1 GiB", met: ours < 1024.0 });
    Ok(())
}

/// `reflow/Range 1..=messages -> core/Repeat x stages -> core/Drop`, built and run in this
/// process: prints `{"hops_per_sec", "rss_mib", "base_rss_mib"}` (the RSS after the run, and
/// before the graph was built).
pub fn chain_child(stages: usize, messages: u64) -> Result<(), String> {
    let base = rss_kib();
    let network = chain_network(Path::new("."), "core/Repeat", "in", "out", stages, messages)?;
    let (seconds, delivered) = run_chain(network)?;
    let rss = rss_kib();
    if delivered != messages {
        return Err(format!("the chain delivered {delivered} of {messages} messages"));
    }
    let hops = messages as f64 * (stages + 1) as f64;
    println!("{}", json!({"hops_per_sec": hops / seconds, "rss_mib": rss as f64 / 1024.0, "base_rss_mib": base as f64 / 1024.0}));
    Ok(())
}

fn chain_figures(stages: usize, messages: u64) -> Result<(f64, f64, f64), String> {
    let out = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["--chain".to_string(), stages.to_string(), messages.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("chain child: {e}"))?;
    let get = |key: &str| line[key].as_f64().ok_or_else(|| format!("chain child printed no {key}"));
    Ok((get("hops_per_sec")?, get("rss_mib")?, get("base_rss_mib")?))
}

/// Chains of 1,000 to 100,000 native actors (each in a fresh process, for its RSS), and
/// 10,000 live WASM doublers.
fn scale(dir: &Path) -> Result<(), String> {
    let runs: Vec<(usize, u64, &str)> = vec![(1_000, 1_000, "1,000"), (10_000, 100, "10,000"), (100_000, 10, "100,000")];
    let mut figures = Vec::new();
    for (stages, messages, _) in &runs {
        figures.push(median_of(3, || chain_figures(*stages, *messages).map(|f| f.0).unwrap_or(f64::NAN)));
    }
    let base = figures[0];
    emit(Row { case: "chain of 1,000 native actors", unit: "hops/s", ours: base, baseline: "(itself)", base, target: "(baseline)", met: true });
    for ((_, _, name), hops) in runs.iter().zip(&figures).skip(1) {
        let case = format!("chain of {name} native actors");
        emit(Row { case: &case, unit: "hops/s", ours: *hops, baseline: "chain of 1,000 native actors", base, target: ">= 0.5x the 1,000 chain", met: *hops >= base * 0.5 });
    }
    let (_, rss, before) = chain_figures(100_000, 10)?;
    emit(Row { case: "resident memory, 100,000-actor native chain", unit: "MiB", ours: rss, baseline: "same process before the graph", base: before, target: "< 500 MiB", met: rss < 500.0 });
    let per_actor = (rss - before) * 1024.0 * 1024.0 / 100_000.0;
    emit(Row { case: "resident memory per native actor (100,000 chain)", unit: "B", ours: per_actor, baseline: "(none)", base: f64::NAN, target: "(reported)", met: true });
    let plugin = dir.join("doubler.wasm").display().to_string();
    let cache = std::env::temp_dir().join("reflow-bench-rss-cache");
    let one = child(&["--rss".into(), plugin.clone(), "1".into()], &cache)?;
    match child(&["--rss".into(), plugin, "10000".into()], &cache) {
        Ok(ours) => emit(Row { case: "resident memory, 10,000 doubler instances", unit: "MiB", ours, baseline: "same process with 1 instance", base: one, target: "< 1 GiB", met: ours < 1024.0 }),
        Err(e) => {
            eprintln!("bench: 10,000 doubler instances: {e}");
            emit(Row { case: "resident memory, 10,000 doubler instances (failed)", unit: "MiB", ours: f64::NAN, baseline: "same process with 1 instance", base: one, target: "< 1 GiB", met: false });
        }
    }
    Ok(())
}
