//! Every test here runs once per backend (`memory::*`, `db::*`, `nats::*`, the last against a
//! real nats-server of its own): a backend is correct when it
//! behaves exactly as the others do.

use reflow_state::{ActorKey, ActorRecord, DbStore, MemoryStore, NatsStore, Pending, StateError, StateStore, StoreOptions};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A store and whatever must outlive it (the temporary directory of a database, the server).
pub struct Backend {
    pub store: Arc<dyn StateStore>,
    _dir: Option<tempfile::TempDir>,
    _server: Option<reflow_test_nats::NatsServer>,
}

impl std::ops::Deref for Backend {
    type Target = dyn StateStore;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

pub fn memory(options: StoreOptions) -> Backend {
    Backend { store: Arc::new(MemoryStore::new(options)), _dir: None, _server: None }
}

pub fn db(options: StoreOptions) -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = DbStore::open_or_create(&dir.path().join("state"), options).unwrap();
    Backend { store: Arc::new(store), _dir: Some(dir), _server: None }
}

pub fn nats(options: StoreOptions) -> Backend {
    let server = reflow_test_nats::NatsServer::start();
    let store = NatsStore::connect(&server.url(), "state", options).unwrap();
    Backend { store: Arc::new(store), _dir: None, _server: Some(server) }
}

macro_rules! for_every_backend {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $test() { super::$test(&super::memory) })*
        }
        mod db {
            $(#[test] fn $test() { super::$test(&super::db) })*
        }
        mod nats {
            $(#[test] fn $test() { super::$test(&super::nats) })*
        }
    };
}

for_every_backend!(
    an_empty_store_holds_nothing,
    a_commit_is_loaded_back_whole,
    a_commit_replaces_the_whole_record,
    settling_forgets_pending_messages_only,
    graphs_and_processes_stay_separate,
    clearing_one_process_or_one_graph,
    a_state_over_the_limit_is_refused_and_nothing_changes,
    replacing_a_graph_replaces_all_of_it_and_only_it,
    concurrent_commits_of_many_actors_all_land,
);

type Make = dyn Fn(StoreOptions) -> Backend;

fn obj(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn record(state: Value, pending: &[(&str, Value)]) -> ActorRecord {
    ActorRecord {
        state: obj(state),
        pending: pending.iter().map(|(port, message)| Pending { port: port.to_string(), message: message.clone() }).collect(),
    }
}

fn an_empty_store_holds_nothing(make: &Make) {
    let store = make(StoreOptions::default());
    assert_eq!(store.load(&ActorKey::new("g", "a")).unwrap(), None);
    assert!(store.actors("g").unwrap().is_empty());
    assert_eq!(store.clear("g", None).unwrap(), 0);
    store.settle(&ActorKey::new("g", "a")).unwrap();
    assert_eq!(store.load(&ActorKey::new("g", "a")).unwrap(), None);
}

fn a_commit_is_loaded_back_whole(make: &Make) {
    let store = make(StoreOptions::default());
    let key = ActorKey::new("counter", "count");
    let committed = record(
        json!({"count": 3, "nested": {"list": [1, "two", null], "f": 1.5}, "unicode": "é✓"}),
        &[("count", json!({"type": "Integer", "data": 3})), ("log", json!("plain"))],
    );
    store.commit(&key, &committed).unwrap();
    assert_eq!(store.load(&key).unwrap(), Some(committed.clone()));
    assert_eq!(store.actors("counter").unwrap(), vec![("count".to_string(), committed)]);
}

fn a_commit_replaces_the_whole_record(make: &Make) {
    let store = make(StoreOptions::default());
    let key = ActorKey::new("g", "a");
    store.commit(&key, &record(json!({"a": 1, "b": 2}), &[("out", json!(1))])).unwrap();
    store.commit(&key, &record(json!({"c": 3}), &[])).unwrap();
    assert_eq!(store.load(&key).unwrap(), Some(record(json!({"c": 3}), &[])));
}

fn settling_forgets_pending_messages_only(make: &Make) {
    let store = make(StoreOptions::default());
    let key = ActorKey::new("g", "a");
    store.commit(&key, &record(json!({"n": 7}), &[("out", json!(7))])).unwrap();
    store.settle(&key).unwrap();
    assert_eq!(store.load(&key).unwrap(), Some(record(json!({"n": 7}), &[])));
}

fn graphs_and_processes_stay_separate(make: &Make) {
    let store = make(StoreOptions::default());
    let keys = [ActorKey::new("g1", "a"), ActorKey::new("g1", "b"), ActorKey::new("g2", "a"), ActorKey::new("g1a", "")];
    for (i, key) in keys.iter().enumerate() {
        store.commit(key, &record(json!({"i": i}), &[])).unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(store.load(key).unwrap().unwrap().state, obj(json!({"i": i})), "{key:?}");
    }
    let names = |graph: &str| store.actors(graph).unwrap().into_iter().map(|(p, _)| p).collect::<Vec<_>>();
    assert_eq!(names("g1"), ["a", "b"]);
    assert_eq!(names("g2"), ["a"]);
    assert_eq!(names("g1a"), [""]);
    assert!(names("g").is_empty());
}

fn clearing_one_process_or_one_graph(make: &Make) {
    let store = make(StoreOptions::default());
    for (g, p) in [("g1", "a"), ("g1", "b"), ("g2", "a")] {
        store.commit(&ActorKey::new(g, p), &record(json!({"x": 1}), &[("o", json!(1))])).unwrap();
    }
    assert_eq!(store.clear("g1", Some("a")).unwrap(), 1);
    assert_eq!(store.load(&ActorKey::new("g1", "a")).unwrap(), None);
    assert!(store.load(&ActorKey::new("g1", "b")).unwrap().is_some());
    assert_eq!(store.clear("g1", None).unwrap(), 1);
    assert!(store.actors("g1").unwrap().is_empty());
    assert_eq!(store.load(&ActorKey::new("g2", "a")).unwrap(), Some(record(json!({"x": 1}), &[("o", json!(1))])));
}

fn a_state_over_the_limit_is_refused_and_nothing_changes(make: &Make) {
    let store = make(StoreOptions { max_state_bytes: 20 });
    let key = ActorKey::new("g", "big");
    // {"s":"0123456789ab"} is exactly 20 bytes: allowed.
    let at_limit = record(json!({"s": "0123456789ab"}), &[]);
    assert_eq!(serde_json::to_vec(&at_limit.state).unwrap().len(), 20);
    store.commit(&key, &at_limit).unwrap();
    let over = record(json!({"s": "0123456789abc"}), &[("o", json!(1))]);
    match store.commit(&key, &over) {
        Err(StateError::TooLarge { graph, process, size, limit }) => {
            assert_eq!((graph.as_str(), process.as_str(), size, limit), ("g", "big", 21, 20));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let message = store.commit(&key, &over).unwrap_err().to_string();
    assert_eq!(message, "graph \"g\", process \"big\": state of 21 bytes exceeds the limit of 20 bytes per actor");
    assert_eq!(store.load(&key).unwrap(), Some(at_limit));
    assert_eq!(store.options().max_state_bytes, 20);
}

fn replacing_a_graph_replaces_all_of_it_and_only_it(make: &Make) {
    let store = make(StoreOptions { max_state_bytes: 64 });
    store.commit(&ActorKey::new("g", "old"), &record(json!({"v": 1}), &[])).unwrap();
    store.commit(&ActorKey::new("g", "kept"), &record(json!({"v": 2}), &[("o", json!(2))])).unwrap();
    store.commit(&ActorKey::new("other", "old"), &record(json!({"v": 3}), &[])).unwrap();
    let states = vec![("kept".to_string(), obj(json!({"v": 20}))), ("new".to_string(), obj(json!({"v": 30})))];
    store.replace_graph("g", &states).unwrap();
    assert_eq!(
        store.actors("g").unwrap(),
        vec![("kept".to_string(), record(json!({"v": 20}), &[])), ("new".to_string(), record(json!({"v": 30}), &[]))]
    );
    assert_eq!(store.load(&ActorKey::new("other", "old")).unwrap(), Some(record(json!({"v": 3}), &[])));

    // One state over the limit: the whole replacement is refused.
    let too_big = vec![("a".to_string(), obj(json!({"v": 0}))), ("b".to_string(), obj(json!({"v": "x".repeat(100)})))];
    assert!(matches!(store.replace_graph("g", &too_big), Err(StateError::TooLarge { .. })));
    assert_eq!(store.actors("g").unwrap().len(), 2);
}

fn concurrent_commits_of_many_actors_all_land(make: &Make) {
    let backend = make(StoreOptions::default());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = backend.store.clone();
            std::thread::spawn(move || {
                for n in 0..25 {
                    store.commit(&ActorKey::new("g", format!("actor{t}")), &record(json!({"n": n}), &[("o", json!(n))])).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let actors = backend.actors("g").unwrap();
    assert_eq!(actors.len(), 4);
    for (_, record) in actors {
        assert_eq!(record.state, obj(json!({"n": 24})));
    }
}
