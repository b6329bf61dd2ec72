//! `reflow state show|export|import|clear`, and opening a graph's state store for `reflow run`.

use crate::args::{StateArgs, StateCommand, StateDirArgs, StoreArgs};
use anyhow::{bail, Context, Result};
use reflow_network::{default_state_dir, graph_id, load_graph, snapshot_mismatches, StateBinding};
use reflow_state::{DbStore, Snapshot, StateStore, StoreOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn state_dir(graph: &Path, dir: &StateDirArgs) -> PathBuf {
    dir.state_dir.clone().unwrap_or_else(|| default_state_dir(graph))
}

fn options(store: &StoreArgs) -> StoreOptions {
    StoreOptions { max_state_bytes: store.max_state_bytes }
}

/// The store `reflow run` uses for `graph`, created if there is none yet.
pub fn open_or_create(graph: &Path, store: &StoreArgs) -> Result<DbStore> {
    Ok(DbStore::open_or_create(&state_dir(graph, &store.dir), options(store))?)
}

pub fn state(command: &StateCommand) -> Result<()> {
    let graph = match command {
        StateCommand::Show(args) | StateCommand::Export { state: args, .. } | StateCommand::Clear { state: args, .. } => {
            &args.graph
        }
        StateCommand::Import { graph, .. } => graph,
    };
    // The graph id comes from the file name: a mistyped name would silently show nothing.
    if !graph.is_file() {
        bail!("{}: no such graph file", graph.display());
    }
    match command {
        StateCommand::Show(args) => show(args),
        StateCommand::Export { state, output } => export(state, output.as_deref()),
        StateCommand::Import { graph, store, file } => import(graph, store, file),
        StateCommand::Clear { state, process } => clear(state, process.as_deref()),
    }
}

/// The existing store, or `None` after telling the user there is none.
fn existing(args: &StateArgs) -> Result<Option<DbStore>> {
    let dir = state_dir(&args.graph, &args.dir);
    // Reading and clearing commit no state, so the size cap does not matter here.
    let store = DbStore::open_existing(&dir, StoreOptions::default())?;
    if store.is_none() {
        eprintln!("reflow: no state stored in {}", dir.display());
    }
    Ok(store)
}

fn show(args: &StateArgs) -> Result<()> {
    let Some(store) = existing(args)? else { return Ok(()) };
    let graph = graph_id(&args.graph);
    let actors = store.actors(&graph)?;
    let binding = StateBinding { store: Arc::new(store), graph_id: graph.clone() };
    let unfinished = reflow_network::durable::unfinished(&binding).map_err(anyhow::Error::msg)?;
    if actors.is_empty() && unfinished.is_none() {
        eprintln!("reflow: no state stored for graph {graph:?} in {}", state_dir(&args.graph, &args.dir).display());
    }
    let mut out = std::io::stdout().lock();
    for (process, record) in actors {
        writeln!(out, "{process}: {}", serde_json::Value::Object(record.state))?;
    }
    // On stdout with the states: it is part of the answer (and a script may look for it).
    if let Some(run) = unfinished {
        writeln!(out, "unfinished run: last checkpoint {:.1} s ago; `reflow run` resumes it, `reflow state clear` starts over", run.age().as_secs_f64())?;
    }
    Ok(())
}

fn export(args: &StateArgs, output: Option<&Path>) -> Result<()> {
    let graph = graph_id(&args.graph);
    let snapshot = match existing(args)? {
        Some(store) => Snapshot::export(&store, &graph)?,
        None => Snapshot::export(&reflow_state::MemoryStore::default(), &graph)?,
    };
    match output {
        Some(path) => std::fs::write(path, snapshot.to_json()).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(snapshot.to_json().as_bytes())?,
    }
    Ok(())
}

fn import(graph_file: &Path, store: &StoreArgs, file: &Path) -> Result<()> {
    let (name, text) = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read stdin")?;
        ("stdin".to_string(), text)
    } else {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        (file.display().to_string(), text)
    };
    let snapshot = Snapshot::parse(&name, &text)?;
    // Only a plugin process of this graph has state: anything else is a mistake worth stopping for.
    let graph = load_graph(graph_file)?;
    let problems: Vec<String> = snapshot_mismatches(&graph, snapshot.actors.keys().map(String::as_str))
        .into_iter()
        .map(|m| format!("{name}: {m} ({})", graph_file.display()))
        .collect();
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let store = open_or_create(graph_file, store)?;
    let id = graph_id(graph_file);
    snapshot.restore(&store, &id)?;
    eprintln!("reflow: graph {id:?} now has the state of {} actor(s) from {name}", snapshot.actors.len());
    Ok(())
}

fn clear(args: &StateArgs, process: Option<&str>) -> Result<()> {
    let Some(store) = existing(args)? else { return Ok(()) };
    let graph = graph_id(&args.graph);
    let unfinished = store.unfinished_run(&graph)?.is_some();
    let removed = store.clear(&graph, process)?;
    let run = if unfinished { " and its unfinished run (the next `reflow run` starts over)" } else { "" };
    eprintln!("reflow: cleared the state of {removed} actor(s) of graph {graph:?}{run}");
    Ok(())
}
