//! `reflow run --watch`: the OS's file events on the plugins' folders, turned into
//! [`Reloader::reload`] calls.
//!
//! notify (inotify here) rather than polling every plugin's mtime: a change is seen when it
//! happens, an idle run costs nothing, and a folder of many plugins is one watch. A build
//! writes a file in several steps, so changes are gathered until the folder is quiet for
//! [`SETTLE`], and a plugin whose bytes did not change is not swapped again.

use notify::{RecursiveMode, Watcher};
use reflow_network::Reloader;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// How long a plugin's folder must be quiet before its change is taken.
const SETTLE: Duration = Duration::from_millis(200);

/// Watches until dropped.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
}

pub fn start(reloader: Reloader) -> anyhow::Result<Watch> {
    let plugins: Vec<PathBuf> = reloader.plugins().into_iter().map(|p| p.canonicalize().unwrap_or(p)).collect();
    let (events, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if event.kind.is_modify() || event.kind.is_create() {
                for path in event.paths {
                    let _ = events.send(path);
                }
            }
        }
    })?;
    let folders: BTreeSet<PathBuf> = plugins.iter().filter_map(|p| p.parent().map(PathBuf::from)).collect();
    for folder in &folders {
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
    }
    let _ = writeln!(std::io::stderr(), "reflow: watching {} plugin(s) for changes", plugins.len());
    std::thread::Builder::new().name("reflow watch".into()).spawn(move || swap_on_change(&reloader, &plugins, &changes))?;
    Ok(Watch { _watcher: watcher })
}

fn swap_on_change(reloader: &Reloader, plugins: &[PathBuf], changes: &mpsc::Receiver<PathBuf>) {
    let mut loaded: HashMap<PathBuf, Vec<u8>> = plugins.iter().filter_map(|p| Some((p.clone(), std::fs::read(p).ok()?))).collect();
    // Ends when the watcher (and so the sender) is dropped.
    while let Ok(first) = changes.recv() {
        let mut changed = BTreeSet::from([first]);
        while let Ok(path) = changes.recv_timeout(SETTLE) {
            changed.insert(path);
        }
        for path in changed.into_iter().filter(|p| plugins.contains(p)) {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            if loaded.get(&path) == Some(&bytes) {
                continue;
            }
            let mut err = std::io::stderr().lock();
            match reloader.replace(&path, bytes.clone()) {
                Ok(processes) => {
                    let _ = writeln!(err, "reflow: {} changed: swapped into {}", path.display(), processes.join(", "));
                }
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                }
            }
            // A refused version is not retried until the file changes again.
            loaded.insert(path, bytes);
        }
    }
}
