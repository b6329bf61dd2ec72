//! Which live worker runs which process. A process whose `metadata.worker` names a worker is
//! pinned there (an absent pinned worker is an error, never a silent move); the others are
//! spread in contiguous runs of the graph's process order over the live workers, sorted by
//! name: process `i` of `n` unpinned goes to worker `i * k / n`.
//!
//! Why runs rather than hashing each process: a graph's file lists a pipeline in order, so
//! runs keep neighbours together, which makes one edge between workers per boundary instead
//! of one per process, and keeps the graph of workers free of cycles (worker A feeding B
//! feeding A), which the end-of-input protocol needs: a worker ends an edge when its own part
//! has run out of input (docs/cluster.md). [`worker_cycle`] refuses a placement with one.

use crate::ClusterError;
use std::collections::{BTreeMap, BTreeSet};

/// One process to place: its name and its pin, if its metadata names a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub process: &'a str,
    pub pinned: Option<&'a str>,
}

/// Process name to worker name, for every process in `wanted` (in graph order).
pub fn place(wanted: &[Wanted<'_>], live: &[String]) -> Result<BTreeMap<String, String>, ClusterError> {
    let mut workers = live.to_vec();
    workers.sort();
    let unpinned = wanted.iter().filter(|w| w.pinned.is_none()).count();
    let mut placed = BTreeMap::new();
    let mut i = 0;
    for want in wanted {
        let worker = match want.pinned {
            Some(pin) if workers.iter().any(|w| w == pin) => pin.to_string(),
            Some(pin) => {
                return Err(ClusterError::PinnedToAbsent { process: want.process.to_string(), worker: pin.to_string(), live: workers })
            }
            None if workers.is_empty() => return Err(ClusterError::NoWorkers { process: want.process.to_string() }),
            None => {
                let worker = workers[i * workers.len() / unpinned].clone();
                i += 1;
                worker
            }
        };
        placed.insert(want.process.to_string(), worker);
    }
    Ok(placed)
}

/// Two workers that feed each other under `placement`, given the graph's edges (source
/// process, target process), if any.
pub fn worker_cycle(placement: &BTreeMap<String, String>, edges: &[(String, String)]) -> Option<(String, String)> {
    let mut feeds: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges {
        let (a, b) = (placement[from].as_str(), placement[to].as_str());
        if a != b {
            feeds.entry(a).or_default().insert(b);
        }
    }
    // Depth-first search for a path back to the start, from each worker.
    for &start in feeds.keys() {
        let mut stack: Vec<&str> = feeds[start].iter().copied().collect();
        let mut seen = BTreeSet::new();
        while let Some(worker) = stack.pop() {
            if worker == start {
                let via = feeds[start].iter().find(|w| **w != start).copied().unwrap_or(start);
                return Some((start.to_string(), via.to_string()));
            }
            if seen.insert(worker) {
                stack.extend(feeds.get(worker).into_iter().flatten().copied());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_pin_wins_and_an_absent_pin_is_an_error_naming_it() {
        let wanted = [Wanted { process: "sink", pinned: Some("w2") }];
        assert_eq!(place(&wanted, &workers(&["w1", "w2", "w3"])).unwrap()["sink"], "w2");
        let error = place(&wanted, &workers(&["w3", "w1"])).unwrap_err();
        assert_eq!(error.to_string(), "process \"sink\" is pinned to worker \"w2\" (metadata.worker), which is not live; live: [\"w1\", \"w3\"]");
    }

    #[test]
    fn a_pipeline_is_cut_into_runs_whatever_the_workers_order() {
        let names: Vec<String> = (0..9).map(|i| format!("p{i}")).collect();
        let wanted: Vec<_> = names.iter().map(|p| Wanted { process: p, pinned: None }).collect();
        let placed = place(&wanted, &workers(&["w3", "w1", "w2"])).unwrap();
        let order: Vec<&str> = names.iter().map(|p| placed[p].as_str()).collect();
        assert_eq!(order, ["w1", "w1", "w1", "w2", "w2", "w2", "w3", "w3", "w3"]);
        let edges: Vec<_> = names.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect();
        assert_eq!(worker_cycle(&placed, &edges), None);
    }

    #[test]
    fn workers_feeding_each_other_are_found() {
        let names = ["a", "b", "c"];
        let wanted: Vec<_> = names.iter().map(|p| Wanted { process: p, pinned: None }).collect();
        let mut placed = place(&wanted, &workers(&["w1", "w2", "w3"])).unwrap();
        placed.insert("c".into(), "w1".into());
        let edges = vec![("a".to_string(), "b".to_string()), ("b".to_string(), "c".to_string())];
        assert_eq!(worker_cycle(&placed, &edges), Some(("w1".to_string(), "w2".to_string())));
    }

    #[test]
    fn no_live_worker_is_an_error() {
        let wanted = [Wanted { process: "p", pinned: None }];
        assert!(matches!(place(&wanted, &[]), Err(ClusterError::NoWorkers { .. })));
    }
}
