//! `reflow inspect` and `reflow call`: one plugin, no graph.

use crate::args::{CallArgs, InspectArgs};
use anyhow::{anyhow, Context, Result};
use reflow_script::{ActorConfig, Backend, ExtismEngine, Limits, Message, PluginModule, ScriptConfig, Transcript, Undeclared};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

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
    let transcript = Transcript::record(&mut engine, &payload)?;
    // `reflow call` shows everything the plugin produced; in a graph such a port is dropped.
    for Undeclared { port, sent } in transcript.undeclared(&metadata) {
        let how = if sent { "sent" } else { "returned" };
        eprintln!(
            "warning: {} {how} a message on outport {port:?}, which its metadata does not declare (a graph drops it)",
            metadata.component
        );
    }
    println!("{}", transcript.to_json());
    Ok(())
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
