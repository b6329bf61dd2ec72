//! The database backend alone: what survives closing it, and every way a file can be wrong.
//! A store that cannot be trusted is reported and left byte for byte as it was.

use redb::{Database, ReadableDatabase, TableDefinition};
use reflow_state::{ActorKey, ActorRecord, DbStore, StateError, StoreOptions, StateStore};
use serde_json::json;
use std::path::Path;

const FILE: &str = "state.redb";

fn sample() -> ActorRecord {
    ActorRecord { state: json!({"count": 41}).as_object().unwrap().clone() }
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
        txn.open_table(TableDefinition::<&str, &str>::new("reflow_meta")).unwrap().insert("version", "3").unwrap();
        txn.commit().unwrap();
    }
    let error = refused(dir.path());
    match &error {
        StateError::Incompatible { reason, .. } => assert_eq!(reason, "written in layout version 3, this reflow reads version 2"),
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

/// Set in the child process [`a_full_disk_fails_only_the_calls_that_could_not_commit`] starts.
const FULL_DISK_CHILD: &str = "REFLOW_STATE_TEST_FULL_DISK_DIR";

/// A real write failure, no mock: the test runs itself again in a child process (a file-size
/// limit applies to the whole process, and the other tests write files too) with
/// `RLIMIT_FSIZE` lowered, so the file system refuses to grow the store (`EFBIG`, what a full
/// disk gives as `ENOSPC`). Commits fail until the limit is raised again ("space freed"); then
/// the same store commits and reads as before, and kept every commit made before the failure.
#[cfg(unix)]
#[test]
fn a_full_disk_fails_only_the_calls_that_could_not_commit() {
    match std::env::var_os(FULL_DISK_CHILD) {
        Some(dir) => full_disk_child(Path::new(&dir)),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let output = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["db::a_full_disk_fails_only_the_calls_that_could_not_commit", "--exact", "--nocapture", "--test-threads=1"])
                .env(FULL_DISK_CHILD, dir.path())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("1 passed"),
                "the child failed: {}\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

#[cfg(unix)]
fn full_disk_child(dir: &Path) {
    let store = DbStore::open_or_create(dir, StoreOptions::default()).unwrap();
    let before = ActorKey::new("g", "before");
    store.commit(&before, &sample()).unwrap();

    let file = dir.join(FILE);
    let size = std::fs::metadata(&file).unwrap().len();
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain system calls on a struct we own; this process runs this one test only.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        // Growing a file past the limit is then an EFBIG error instead of a fatal signal.
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let full = libc::rlimit { rlim_cur: size, rlim_max: limit.rlim_max };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &full), 0);
    }
    // States far larger than the room left: every commit needs to grow the file.
    let big = |n: usize| ActorRecord {
        state: json!({"blob": "x".repeat(256 * 1024 + n)}).as_object().unwrap().clone(),
    };
    let mut refused = 0;
    for n in 0..3 {
        let error = store.commit(&ActorKey::new("g", format!("big{n}")), &big(n)).unwrap_err();
        assert!(matches!(error, StateError::Storage { .. }), "{error}");
        refused += 1;
    }
    assert_eq!(refused, 3);

    // Space is freed.
    // SAFETY: as above; raising the soft limit back up to the hard one is always allowed.
    unsafe {
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let after = ActorKey::new("g", "after");
    store.commit(&after, &big(7)).expect("the store commits again once there is room");
    assert_eq!(store.load(&before).unwrap(), Some(sample()), "what was committed before the failure is kept");
    assert_eq!(store.load(&after).unwrap(), Some(big(7)));
    for n in 0..3 {
        assert_eq!(store.load(&ActorKey::new("g", format!("big{n}"))).unwrap(), None, "a refused commit left nothing");
    }
    drop(store);
    // And the file is sound when opened afresh.
    let store = DbStore::open_existing(dir, StoreOptions::default()).unwrap().unwrap();
    assert_eq!(store.actors("g").unwrap().len(), 2);
}

/// A store as reflow wrote it in layout version 1: states, and per-actor pending messages.
fn v1_store(dir: &Path, pending: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let db = Database::create(dir.join(FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(TableDefinition::<&str, &str>::new("reflow_meta")).unwrap();
        meta.insert("format", "reflow-state").unwrap();
        meta.insert("version", "1").unwrap();
        let mut state = txn.open_table(TableDefinition::<(&str, &str), &[u8]>::new("actor_state")).unwrap();
        state.insert(("counter", "count"), br#"{"count":7}"#.as_slice()).unwrap();
        let mut table = txn.open_table(TableDefinition::<(&str, &str), &[u8]>::new("actor_pending")).unwrap();
        for key in pending {
            table.insert(*key, br#"[{"port":"count","message":7}]"#.as_slice()).unwrap();
        }
    }
    txn.commit().unwrap();
}

#[test]
fn a_version_1_store_is_migrated_keeping_its_states() {
    let dir = tempfile::tempdir().unwrap();
    v1_store(dir.path(), &[]);
    for _ in 0..2 {
        // Migrated at the first open; the second finds version 2.
        let store = DbStore::open_or_create(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(store.load(&ActorKey::new("counter", "count")).unwrap().unwrap().state, *json!({"count": 7}).as_object().unwrap());
        assert_eq!(store.unfinished_run("counter").unwrap(), None);
    }
    let db = Database::open(dir.path().join(FILE)).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(TableDefinition::<&str, &str>::new("reflow_meta")).unwrap();
    assert_eq!(redb::ReadableTable::get(&meta, "version").unwrap().unwrap().value(), "2");
}

#[test]
fn a_version_1_store_of_a_crashed_run_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    v1_store(dir.path(), &[("counter", "count")]);
    let error = refused(dir.path());
    let text = error.to_string();
    assert!(matches!(error, StateError::Incompatible { .. }), "{error:?}");
    assert!(text.contains("layout version 1") && text.contains(r#"graph "counter" process "count""#) && text.contains("reflow state import"), "{text}");
    // Refused means untouched: still version 1, its messages still there.
    let db = Database::open(dir.path().join(FILE)).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(TableDefinition::<&str, &str>::new("reflow_meta")).unwrap();
    assert_eq!(redb::ReadableTable::get(&meta, "version").unwrap().unwrap().value(), "1");
    let pending = txn.open_table(TableDefinition::<(&str, &str), &[u8]>::new("actor_pending")).unwrap();
    assert!(redb::ReadableTable::get(&pending, ("counter", "count")).unwrap().is_some());
}
