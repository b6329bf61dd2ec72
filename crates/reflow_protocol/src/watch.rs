//! Hooks for something that watches every network the runtime starts: the web inspector of
//! `reflow serve --inspect`, which lives in a crate that depends on this one, so the runtime
//! knows it only through these traits.

use reflow_network::{Network, Observer, Probe, Reloader, RunReport};
use std::sync::Arc;

/// Watches each network a client starts.
pub trait RunWatcher: Send + Sync {
    /// `network` (graph `graph`) is about to run with `observer`; the run gets the returned
    /// watch's probe and observer instead (the latter must pass everything on to `observer`).
    /// `swaps`: its hot swaps, when its plugins can be swapped (`--allow-build`).
    /// `None`: this run is not watched (the watcher could not start, and has said why).
    fn watch(&self, graph: &str, network: &Network, observer: Arc<dyn Observer>, swaps: Option<Reloader>) -> Option<Box<dyn WatchedRun>>;
}

/// One watched run.
pub trait WatchedRun: Send {
    fn probe(&self) -> Arc<Probe>;
    fn observer(&self) -> Arc<dyn Observer>;
    /// The run ended, with its report or why it could not run.
    fn finish(self: Box<Self>, result: Result<&RunReport, &str>);
}

/// The watcher a [`crate::RuntimeConfig`] holds (a wrapper, so that the config stays `Debug`).
#[derive(Clone)]
pub struct Watcher(pub Arc<dyn RunWatcher>);

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}
