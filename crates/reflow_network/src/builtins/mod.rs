//! Native components, so that real graphs need no plugin for plumbing: sources, sinks and the
//! `core/*` names FBP users expect. They run with the runtime's own authority (they are not
//! sandboxed): only the ones that touch files read or write, and only the path configured.

mod io;
mod plumbing;

use crate::component::Component;
use crate::error::NetworkError;
use reflow_abi::{PluginMetadata, PortDefinition};
use serde_json::{Map, Value};
use std::path::Path;

/// Creates the built-in `component` configured by `config` (a process's `metadata.config`);
/// relative paths in the configuration are relative to `base_dir` (the graph file's folder).
/// `None`: no built-in has that name.
pub(crate) fn create(component: &str, config: &Map<String, Value>, base_dir: &Path) -> Option<Result<Box<dyn Component>, NetworkError>> {
    let built: Result<Box<dyn Component>, NetworkError> = match component {
        "core/Repeat" => Ok(Box::new(plumbing::Repeat::new())),
        "core/Drop" => Ok(Box::new(plumbing::Drop::new())),
        "core/Output" => Ok(Box::new(io::Output::new())),
        "reflow/Range" => plumbing::Range::new(config).map(|c| Box::new(c) as Box<dyn Component>),
        "reflow/Double" => Ok(Box::new(plumbing::Double::new())),
        "reflow/Print" => Ok(Box::new(io::Print::new())),
        "reflow/ReadJsonLines" => io::ReadJsonLines::new(config, base_dir).map(|c| Box::new(c) as Box<dyn Component>),
        "reflow/WriteJsonLines" => io::WriteJsonLines::new(config, base_dir).map(|c| Box::new(c) as Box<dyn Component>),
        _ => return None,
    };
    Some(built)
}

/// The metadata of every built-in, for validation and for editors listing components.
pub fn all() -> &'static [PluginMetadata] {
    // Built once: validation looks a built-in up for every process of a graph, and building
    // them all for each lookup was a tenth of loading a 100,000-process graph.
    static ALL: std::sync::LazyLock<Vec<PluginMetadata>> = std::sync::LazyLock::new(|| vec![
        plumbing::Repeat::metadata_value(),
        plumbing::Drop::metadata_value(),
        io::Output::metadata_value(),
        plumbing::Range::metadata_value(),
        plumbing::Double::metadata_value(),
        io::Print::metadata_value(),
        io::ReadJsonLines::metadata_value(),
        io::WriteJsonLines::metadata_value(),
    ]);
    &ALL
}

/// The metadata of the built-in `component`, without creating it.
pub fn metadata(component: &str) -> Option<PluginMetadata> {
    all().iter().find(|m| m.component == component).cloned()
}

fn meta(component: &str, description: &str, inports: Vec<PortDefinition>, outports: Vec<PortDefinition>) -> PluginMetadata {
    PluginMetadata {
        component: component.to_string(),
        description: description.to_string(),
        inports,
        outports,
        config_schema: None,
    }
}

fn port(name: &str, description: &str, port_type: &str) -> PortDefinition {
    PortDefinition::new(name, description, port_type, false)
}
