//! The database backend alone: what survives closing it, and every way a file can be wrong.
//! A store that cannot be trusted is reported and left byte for byte as it was.

use redb::{Database, ReadableDatabase, TableDefinition};
use reflow_state::{ActorKey, ActorRecord, DbStore, Pending, StateError, StoreOptions, StateStore};
use serde_json::json;
use std::path::Path;

const FILE: &str = "state.redb";

fn sample() -> ActorRecord {
    ActorRecord {
        state: json!({"count": 41}).as_object().unwrap().clone(),
        pending: vec![Pending { port: "count".into(), message: json!({"type": "Integer", "data": 41}) }],
    }
}

/// Opening `dir` fails, twice the same way (nothing was reset by the first attempt).
fn refused(dir: &Path) -> StateError {
    let error = DbStore::open_or_create(dir, StoreOptions::default()).unwrap_err();
    let again = DbStore::open_existing(dir, StoreOptions::default()).unwrap_err();
    assert_eq!(error.to_string(), again.to_string());
    error
}

/// Like [`refused`], for a file redb cannot read at all: it stays byte for byte as it was.
fn refused_untouched(dir: &Path) -> StateError {
    let before = std::fs::read(dir.join(FILE)).unwrap();
    let error = refused(dir);
    assert!(std::fs::read(dir.join(FILE)).unwrap() == before, "the store file was changed");
    error
}

#[test]
fn records_survive_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let key = ActorKey::new("counter", "count");
    {
        let store = DbStore::open_or_create(dir.path(), StoreOptions::default()).unwrap();
        store.commit(&key, &sample()).unwrap();
        store.commit(&ActorKey::new("counter", "gone"), &sample()).unwrap();
        store.clear("counter", Some("gone")).unwrap();
    }
    let store = DbStore::open_existing(dir.path(), StoreOptions::default()).unwrap().unwrap();
    assert_eq!(store.path(), dir.path().join(FILE));
    assert_eq!(store.load(&key).unwrap(), Some(sample()));
    assert_eq!(store.actors("counter").unwrap().len(), 1);
}

#[test]
fn a_missing_store_is_created_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    assert!(DbStore::open_existing(&nested, StoreOptions::default()).unwrap().is_none());
    assert!(!nested.exists());
    DbStore::open_or_create(&nested, StoreOptions::default()).unwrap();
    assert!(nested.join(FILE).exists());
    // Only the store itself is left in the directory (the file made beside it was moved).
    assert_eq!(std::fs::read_dir(&nested).unwrap().count(), 1);
}

#[test]
fn a_garbage_file_is_reported_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE), b"this is not a database, just some text that is long enough".repeat(100)).unwrap();
    let error = refused_untouched(dir.path());
    assert!(matches!(error, StateError::Corrupt { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("state.redb") && text.contains("left untouched"), "{text}");
}

#[test]
fn an_empty_file_is_reported_not_reset() {
    // An existing file that lost its contents is a lost store, not a new one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE), b"").unwrap();
    assert!(matches!(refused_untouched(dir.path()), StateError::Corrupt { .. }));
}

#[test]
fn a_truncated_store_is_reported_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = DbStore::open_or_create(dir.path(), StoreOptions::default()).unwrap();
        for i in 0..50 {
            store.commit(&ActorKey::new("g", format!("p{i}")), &sample()).unwrap();
        }
    }
    let path = dir.path().join(FILE);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    assert!(matches!(refused_untouched(dir.path()), StateError::Corrupt { .. }));
}

#[test]
fn a_redb_file_of_another_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::create(dir.path().join(FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, u64>::new("theirs")).unwrap().insert("k", &1).unwrap();
        txn.commit().unwrap();
    }
    let error = refused(dir.path());
    assert!(matches!(error, StateError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("without the Reflow format marker"), "{error}");
    // Their data is still there.
    let db = Database::open(dir.path().join(FILE)).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(TableDefinition::<&str, u64>::new("theirs")).unwrap();
    assert_eq!(redb::ReadableTable::get(&table, "k").unwrap().unwrap().value(), 1);
}

#[test]
fn a_store_of_another_layout_version_is_incompatible() {
    let dir = tempfile::tempdir().unwrap();
    drop(DbStore::open_or_create(dir.path(), StoreOptions::default()).unwrap());
    {
        let db = Database::open(dir.path().join(FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, &str>::new("reflow_meta")).unwrap().insert("version", "2").unwrap();
        txn.commit().unwrap();
    }
    let error = refused(dir.path());
    match &error {
        StateError::Incompatible { reason, .. } => assert_eq!(reason, "written in layout version 2, this reflow reads version 1"),
        other => panic!("expected Incompatible, got {other:?}"),
    }
}

#[test]
fn a_store_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = DbStore::open_or_create(dir.path(), StoreOptions::default()).unwrap();
    let error = DbStore::open_existing(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(error, StateError::Locked { .. }), "{error:?}");
    assert!(error.to_string().contains("in use by another process"), "{error}");
}
