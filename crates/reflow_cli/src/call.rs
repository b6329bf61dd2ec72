//! `reflow inspect` and `reflow call`: one plugin, no graph.

use crate::args::{CallArgs, InspectArgs};
use anyhow::{anyhow, Context, Result};
use reflow_script::{ActorConfig, Backend, ExtismEngine, Limits, Message, OutputSink, PluginModule, ScriptConfig};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let module = load(&args.plugin, "process", Vec::new(), Limits::default(), Backend::default())?;
    println!("{}", serde_json::to_string_pretty(module.metadata())?);
    Ok(())
}

pub fn call(args: &CallArgs) -> Result<()> {
    let payload = parse_object("--payload", &args.payload)?
        .into_iter()
        .map(|(port, value)| {
            Message::from_json(value).map(|m| (port.clone(), m)).map_err(|e| anyhow!("--payload: port {port:?}: {e}"))
        })
        .collect::<Result<HashMap<_, _>>>()?;
    let config = parse_object("--config", &args.config)?;
    let state = parse_object("--state", &args.state)?;

    let module = load(&args.plugin, &args.entry_point, args.grants.clone(), args.limits.to_limits(), args.engine)?;
    let metadata = module.metadata().clone();
    let actor = ActorConfig {
        node_id: metadata.component.clone(),
        component: metadata.component.clone(),
        config,
        ..ActorConfig::default()
    };
    let mut engine = ExtismEngine::from_module(&module, actor)?;
    engine.set_state(state);

    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink: OutputSink = {
        let sent = sent.clone();
        Arc::new(move |port: &str, message: Message| {
            sent.lock().unwrap().push(json!({"port": port, "message": message}));
        })
    };
    let outputs = engine.process(&payload, Some(&sink))?;

    let sent = std::mem::take(&mut *sent.lock().unwrap());
    for entry in &sent {
        warn_if_undeclared(&metadata, entry["port"].as_str().unwrap_or_default(), "sent");
    }
    for port in outputs.keys() {
        warn_if_undeclared(&metadata, port, "returned");
    }
    let outputs: Map<String, Value> = outputs.into_iter().map(|(p, m)| (p, m.to_json())).collect();
    let result = json!({"outputs": outputs, "state": engine.state(), "sent": sent});
    println!("{result}");
    Ok(())
}

/// `reflow call` shows everything the plugin produced; in a graph such a port would be dropped.
fn warn_if_undeclared(metadata: &reflow_script::PluginMetadata, port: &str, how: &str) {
    if metadata.outport(port).is_none() {
        eprintln!(
            "warning: {} {how} a message on outport {port:?}, which its metadata does not declare (a graph drops it)",
            metadata.component
        );
    }
}

fn load(path: &Path, entry_point: &str, grants: Vec<String>, limits: Limits, engine: Backend) -> Result<PluginModule> {
    let source = std::fs::read(path).with_context(|| format!("cannot read plugin {}", path.display()))?;
    let packages = (!grants.is_empty()).then_some(grants);
    let config = ScriptConfig { entry_point: entry_point.to_string(), packages, ..ScriptConfig::new(source) };
    Ok(PluginModule::load_on(engine, &path.display().to_string(), &config, limits)?)
}

fn parse_object(flag: &str, text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(anyhow!("{flag} must be a JSON object, got {other}")),
        Err(e) => Err(anyhow!("{flag} is not valid JSON: {e}")),
    }
}
