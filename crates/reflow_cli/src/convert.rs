//! `reflow convert`: a graph file read in one format and written in the other.

use crate::args::{ConvertArgs, GraphFormat};
use anyhow::{Context, Result};
use reflow_network::loader::fbp::{load_fbp, to_fbp, FbpOptions};
use reflow_network::loader::{load_graph, resolve_components};
use std::io::Write;

pub fn convert(args: &ConvertArgs) -> Result<()> {
    let is_fbp = |p: &std::path::Path| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("fbp"));
    let graph = if is_fbp(&args.graph) {
        // Component names resolved as `reflow run` resolves them, so the JSON runs too.
        let mut graph = load_fbp(&args.graph, FbpOptions { case_sensitive: args.case_sensitive })?;
        resolve_components(&mut graph);
        graph
    } else {
        load_graph(&args.graph)?
    };
    let format = args.to.unwrap_or(match &args.output {
        Some(path) if is_fbp(path) => GraphFormat::Fbp,
        _ => GraphFormat::Json,
    });
    let text = match format {
        GraphFormat::Json => graph.to_fbp_json() + "\n",
        GraphFormat::Fbp => to_fbp(&graph).with_context(|| args.graph.display().to_string())?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}
