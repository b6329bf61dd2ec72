//! Exports: what they contain, what is refused on import, and that export then import gives
//! back the same state.

use reflow_state::{ActorKey, ActorRecord, DbStore, MemoryStore, Snapshot, StateError, StateStore, StoreOptions};
use serde_json::json;

fn seed(store: &dyn StateStore) {
    for (graph, process, state) in
        [("g", "count", json!({"count": 5})), ("g", "probe", json!({"total": 15, "seen": [1, 2]})), ("other", "count", json!({"count": 9}))]
    {
        let record = ActorRecord { state: state.as_object().unwrap().clone() };
        store.commit(&ActorKey::new(graph, process), &record).unwrap();
    }
}

#[test]
fn an_export_holds_the_graphs_states_only() {
    let store = MemoryStore::new(StoreOptions::default());
    seed(&store);
    let snapshot = Snapshot::export(&store, "g").unwrap();
    let value: serde_json::Value = serde_json::from_str(&snapshot.to_json()).unwrap();
    assert_eq!(
        value,
        json!({"format": "reflow-state", "version": 1, "graph": "g",
               "actors": {"count": {"count": 5}, "probe": {"total": 15, "seen": [1, 2]}}})
    );
}

#[test]
fn export_then_import_round_trips_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Box<dyn StateStore>> = vec![
        Box::new(MemoryStore::new(StoreOptions::default())),
        Box::new(DbStore::open_or_create(dir.path(), StoreOptions::default()).unwrap()),
    ];
    for store in &stores {
        seed(&**store);
        let exported = Snapshot::export(&**store, "g").unwrap().to_json();
        store.clear("g", None).unwrap();
        assert!(store.actors("g").unwrap().is_empty());
        Snapshot::parse("backup.json", &exported).unwrap().restore(&**store, "g").unwrap();
        assert_eq!(Snapshot::export(&**store, "g").unwrap().to_json(), exported);
        // The other graph was not touched.
        assert_eq!(store.load(&ActorKey::new("other", "count")).unwrap().unwrap().state, *json!({"count": 9}).as_object().unwrap());
    }
}

#[test]
fn an_import_replaces_the_graphs_state() {
    let store = MemoryStore::new(StoreOptions::default());
    seed(&store);
    let text = r#"{"format": "reflow-state", "version": 1, "graph": "elsewhere", "actors": {"count": {"count": 100}}}"#;
    Snapshot::parse("x.json", text).unwrap().restore(&store, "g").unwrap();
    let actors = store.actors("g").unwrap();
    assert_eq!(actors.len(), 1);
    assert_eq!(actors[0].1.state, *json!({"count": 100}).as_object().unwrap());
}

#[test]
fn what_is_not_an_export_is_refused_with_a_reason() {
    let cases = [
        ("{", "not valid JSON"),
        (r#"{"version": 1, "graph": "g", "actors": {}}"#, "\"format\" is None"),
        (r#"{"format": "reflow-state", "version": 2, "graph": "g", "actors": {}}"#, "this reflow reads version 1"),
        (r#"{"format": "reflow-state", "version": 1, "graph": "g", "actors": {"a": 5}}"#, "invalid type"),
        (r#"{"format": "reflow-state", "version": 1, "graph": "g", "actors": {}, "extra": 1}"#, "unknown field"),
        (r#"{"format": "reflow-state", "version": 1, "actors": {}}"#, "missing field `graph`"),
    ];
    for (text, expected) in cases {
        match Snapshot::parse("in.json", text) {
            Err(e @ StateError::BadSnapshot { .. }) => {
                let message = e.to_string();
                assert!(message.starts_with("in.json: not a Reflow state export: "), "{message}");
                assert!(message.contains(expected), "{text}: {message}");
            }
            other => panic!("{text}: expected BadSnapshot, got {other:?}"),
        }
    }
}

#[test]
fn an_import_over_the_size_limit_changes_nothing() {
    let store = MemoryStore::new(StoreOptions { max_state_bytes: 16 });
    store.commit(&ActorKey::new("g", "a"), &ActorRecord { state: json!({"n": 1}).as_object().unwrap().clone() }).unwrap();
    let text = r#"{"format": "reflow-state", "version": 1, "graph": "g", "actors": {"a": {"long": "abcdefghijklmnop"}}}"#;
    let error = Snapshot::parse("x", text).unwrap().restore(&store, "g").unwrap_err();
    assert!(matches!(error, StateError::TooLarge { .. }), "{error:?}");
    assert_eq!(store.load(&ActorKey::new("g", "a")).unwrap().unwrap().state, *json!({"n": 1}).as_object().unwrap());
}
