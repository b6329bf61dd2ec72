//! The persistent backend: one [redb](https://www.redb.org) file, `state.redb`, in a state
//! directory. redb commits are atomic and durable (copy-on-write B-trees, checksummed, fsync on
//! commit), so a `SIGKILL` or a power cut leaves either the old record or the new one. The
//! file holds a format marker; a file without it, a damaged file or one of another version is
//! reported and left untouched, never reset. redb locks the file, so two processes cannot
//! share one state directory by accident.
//!
//! After an I/O error (a full disk, most often) redb refuses every later transaction with
//! "Previous I/O error occurred" until the file is opened again. So a failed I/O marks the
//! handle poisoned, and the next call closes it and reopens the file (redb's repair brings back
//! the last committed transaction): only the calls that could not commit fail, and once space
//! is free again the store works as before, without restarting the run.

use crate::store::{decode, encode_state, encode_states};
use crate::{ActorKey, ActorRecord, StateError, StateStore, StoreOptions};
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// The store's file name inside a state directory.
pub const FILE_NAME: &str = "state.redb";
/// What the marker table says: this file is ours, in this layout.
const FORMAT: &str = "reflow-state";
/// Version 2 (checkpoints): the unfinished run of each graph beside the states, and no
/// per-actor pending messages. A version 1 file is migrated when opened (see [`migrate_v1`]).
const VERSION: &str = "2";

const META: TableDefinition<&str, &str> = TableDefinition::new("reflow_meta");
/// (graph, process) -> the state, compact JSON.
const STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("actor_state");
/// Version 1 only: (graph, process) -> the pending messages of the last per-call commit.
const V1_PENDING: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("actor_pending");
/// graph -> its unfinished run's checkpoint (JSON, what the network wrote); absent once the
/// run finished.
const RUN: TableDefinition<&str, &[u8]> = TableDefinition::new("graph_run");

/// A [`StateStore`] in a redb file.
pub struct DbStore {
    /// `None` between closing a poisoned handle and reopening the file (which may fail, e.g.
    /// while the disk is still full; the next call tries again).
    db: RwLock<Option<Arc<Database>>>,
    path: PathBuf,
    options: StoreOptions,
}

impl std::fmt::Debug for DbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbStore").field("path", &self.path).field("options", &self.options).finish()
    }
}

impl DbStore {
    /// Opens the store in `dir`, creating the directory and an empty store if there is none.
    pub fn open_or_create(dir: &Path, options: StoreOptions) -> Result<DbStore, StateError> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StateError::Open { path: path.clone(), reason: format!("cannot create {}: {e}", dir.display()) })?;
            create(&path)?;
        }
        DbStore::open_file(&path, options)
    }

    /// Opens the store in `dir` if there is one (`None`: nothing was ever stored there).
    pub fn open_existing(dir: &Path, options: StoreOptions) -> Result<Option<DbStore>, StateError> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            return Ok(None);
        }
        DbStore::open_file(&path, options).map(Some)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_file(path: &Path, options: StoreOptions) -> Result<DbStore, StateError> {
        // Every open verifies the checksums of the whole file: a state store is small, and
        // redb may panic on a file damaged outside it where the check reports it instead.
        let db = open_database(path)?;
        let store = DbStore { db: RwLock::new(Some(Arc::new(db))), path: path.to_path_buf(), options };
        store.check_marker()?;
        Ok(store)
    }

    /// The open database, reopened first if an I/O error poisoned the last handle.
    fn database(&self) -> Result<Arc<Database>, StateError> {
        if let Some(db) = read_guard(&self.db).as_ref() {
            return Ok(db.clone());
        }
        let mut slot = self.db.write().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        let db = Arc::new(open_database(&self.path).map_err(|e| match e {
            // Our own old handle, still held by a call that has not returned yet.
            StateError::Locked { path } => StateError::Storage {
                path,
                operation: "reopening after an I/O error".into(),
                reason: "a call on the failed handle is still running; try again".into(),
            },
            other => other,
        })?);
        tracing::info!("{}: state store reopened after an I/O error", self.path.display());
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Closes `db` after an I/O error, so that the next call reopens the file. Calls still
    /// running on it hold their own reference and fail on their own.
    fn poisoned(&self, db: &Arc<Database>) {
        let mut slot = self.db.write().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|current| Arc::ptr_eq(current, db)) {
            *slot = None;
        }
    }

    /// `error` after a call on `db`; an I/O error also closes `db` (see the module docs).
    fn failed_on(&self, db: &Arc<Database>, operation: &str, error: impl Into<redb::Error>) -> StateError {
        let error = error.into();
        if is_io(&error) {
            self.poisoned(db);
        }
        self.failed(operation, error)
    }

    fn check_marker(&self) -> Result<(), StateError> {
        let db = self.database()?;
        let txn = db.begin_read().map_err(|e| self.failed_on(&db, "reading", e))?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Err(corrupt(&self.path, "a redb database without the Reflow format marker"))
            }
            Err(e) => return Err(self.failed_on(&db, "reading the format marker", e)),
        };
        let get = |name: &str| -> Result<Option<String>, StateError> {
            Ok(meta.get(name).map_err(|e| self.failed_on(&db, "reading the format marker", e))?.map(|v| v.value().to_string()))
        };
        let (format, version) = (get("format")?, get("version")?);
        if format.as_deref() != Some(FORMAT) {
            return Err(corrupt(&self.path, &format!("format marker is {format:?}, expected {FORMAT:?}")));
        }
        drop(meta);
        drop(txn);
        if version.as_deref() == Some("1") {
            return self.migrate_v1();
        }
        if version.as_deref() != Some(VERSION) {
            return Err(StateError::Incompatible {
                path: self.path.clone(),
                reason: format!(
                    "written in layout version {}, this reflow reads version {VERSION}",
                    version.as_deref().unwrap_or("(none)")
                ),
            });
        }
        Ok(())
    }

    /// Brings a version 1 store to version 2 in one transaction: the states stay as they
    /// are, the marker says 2. Version 1 kept, per actor, the messages of its last call until
    /// they were known delivered; a store that still holds some was left by a crashed run,
    /// and those messages have no place in a checkpoint (they belong to no consistent cut),
    /// so such a store is refused, untouched, naming the actors, rather than losing them.
    fn migrate_v1(&self) -> Result<(), StateError> {
        let db = self.database()?;
        let txn = db.begin_write().map_err(|e| self.failed_on(&db, "migrating from layout version 1", e))?;
        let undelivered = (|| -> Result<Vec<String>, redb::Error> {
            let pending = match txn.open_table(V1_PENDING) {
                Ok(table) => table,
                Err(e) => return Err(e.into()),
            };
            let mut names = Vec::new();
            for entry in pending.iter()? {
                let (key, _) = entry?;
                let (graph, process) = key.value();
                names.push(format!("graph {graph:?} process {process:?}"));
            }
            Ok(names)
        })()
        .map_err(|e| self.failed_on(&db, "migrating from layout version 1", e))?;
        if !undelivered.is_empty() {
            drop(txn);
            return Err(StateError::Incompatible {
                path: self.path.clone(),
                reason: format!(
                    "written in layout version 1 by a run that crashed with messages not yet delivered again ({}); \
                     this reflow cannot resume them: `reflow state export GRAPH -o FILE` then `reflow state import GRAPH FILE` keeps the states and drops those messages",
                    undelivered.join(", ")
                ),
            });
        }
        let migrate = || -> Result<(), redb::Error> {
            txn.delete_table(V1_PENDING)?;
            txn.open_table(RUN)?;
            txn.open_table(META)?.insert("version", VERSION)?;
            Ok(())
        };
        migrate().map_err(|e| self.failed_on(&db, "migrating from layout version 1", e))?;
        txn.commit().map_err(|e| self.failed_on(&db, "migrating from layout version 1", e))?;
        tracing::info!("{}: state store migrated from layout version 1 to {VERSION}", self.path.display());
        Ok(())
    }

    /// An error after opening: corruption is reported as such, anything else as a failed
    /// `operation`.
    fn failed(&self, operation: &str, error: impl Into<redb::Error>) -> StateError {
        match error.into() {
            redb::Error::Corrupted(reason) => corrupt(&self.path, &reason),
            other => StateError::Storage { path: self.path.clone(), operation: operation.to_string(), reason: other.to_string() },
        }
    }

    fn bad_record(&self, key: (&str, &str), reason: String) -> StateError {
        StateError::BadRecord { path: self.path.clone(), graph: key.0.to_string(), process: key.1.to_string(), reason }
    }

    /// One write transaction running `f`, committed durably.
    fn write(&self, operation: &str, f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>) -> Result<(), StateError> {
        let db = self.database()?;
        let txn = db.begin_write().map_err(|e| self.failed_on(&db, operation, e))?;
        f(&txn).map_err(|e| self.failed_on(&db, operation, e))?;
        txn.commit().map_err(|e| self.failed_on(&db, operation, e))
    }

    /// One read transaction running `f`.
    fn read<T>(&self, f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>) -> Result<T, StateError> {
        let db = self.database()?;
        let txn = db.begin_read().map_err(|e| self.failed_on(&db, "reading", e))?;
        f(&txn).map_err(|e| self.failed_on(&db, "reading", e))
    }
}

fn read_guard<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

/// An error after which redb refuses every transaction until the file is opened again.
fn is_io(error: &redb::Error) -> bool {
    matches!(error, redb::Error::Io(_) | redb::Error::PreviousIo)
}

fn open_database(path: &Path) -> Result<Database, StateError> {
    // Every open verifies the checksums of the whole file: a state store is small, and
    // redb may panic on a file damaged outside it where the check reports it instead.
    let opened = catch_unwind(AssertUnwindSafe(|| {
        Database::builder().set_check_integrity_on_open(true).set_cache_size(16 << 20).open(path)
    }));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(open_error(path, e)),
        Err(_) => Err(corrupt(path, "the database engine could not read it")),
    }
}

/// Makes a new store at `path`: written beside it, then renamed into place, so that a crash
/// during creation never leaves a file without the marker (which would then be refused).
fn create(path: &Path) -> Result<(), StateError> {
    let fresh = path.with_extension("redb.new");
    let open_error = |reason: String| StateError::Open { path: path.to_path_buf(), reason };
    let _ = std::fs::remove_file(&fresh);
    let db = Database::create(&fresh).map_err(|e| open_error(e.to_string()))?;
    let txn = db.begin_write().map_err(|e| open_error(e.to_string()))?;
    {
        let init = || -> Result<(), redb::Error> {
            let mut meta = txn.open_table(META)?;
            meta.insert("format", FORMAT)?;
            meta.insert("version", VERSION)?;
            txn.open_table(STATE)?;
            txn.open_table(RUN)?;
            Ok(())
        };
        init().map_err(|e| open_error(e.to_string()))?;
    }
    txn.commit().map_err(|e| open_error(e.to_string()))?;
    drop(db);
    std::fs::rename(&fresh, path).map_err(|e| open_error(format!("cannot move the new store into place: {e}")))
}

fn corrupt(path: &Path, reason: &str) -> StateError {
    StateError::Corrupt { path: path.to_path_buf(), reason: reason.to_string() }
}

fn open_error(path: &Path, error: DatabaseError) -> StateError {
    match error {
        DatabaseError::DatabaseAlreadyOpen => StateError::Locked { path: path.to_path_buf() },
        DatabaseError::UpgradeRequired(version) => StateError::Incompatible {
            path: path.to_path_buf(),
            reason: format!("redb file format {version} is not the one this reflow reads"),
        },
        DatabaseError::Storage(redb::StorageError::Io(e))
            if !matches!(e.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
        {
            StateError::Open { path: path.to_path_buf(), reason: e.to_string() }
        }
        // A garbage or truncated file, a failed checksum, a repair that cannot complete.
        other => corrupt(path, &other.to_string()),
    }
}

impl StateStore for DbStore {
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError> {
        let k = (key.graph.as_str(), key.process.as_str());
        let read = |txn: &redb::ReadTransaction| -> Result<Option<Vec<u8>>, redb::Error> {
            Ok(txn.open_table(STATE)?.get(k)?.map(|v| v.value().to_vec()))
        };
        match self.read(read)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(|reason| self.bad_record(k, reason)),
        }
    }

    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError> {
        let encoded = encode_state(key, &record.state, self.options)?;
        let k = (key.graph.as_str(), key.process.as_str());
        self.write("committing state", |txn| {
            txn.open_table(STATE)?.insert(k, encoded.as_slice())?;
            Ok(())
        })
    }

    fn checkpoint(&self, graph: &str, states: &[(String, Map<String, Value>)], run: Option<&Value>) -> Result<(), StateError> {
        let encoded = encode_states(graph, states, self.options)?;
        let run = run.map(|run| serde_json::to_vec(run).expect("JSON values always serialise"));
        self.write("writing a checkpoint", |txn| {
            let mut state = txn.open_table(STATE)?;
            for (process, bytes) in &encoded {
                state.insert((graph, process.as_str()), bytes.as_slice())?;
            }
            let mut runs = txn.open_table(RUN)?;
            match &run {
                Some(bytes) => drop(runs.insert(graph, bytes.as_slice())?),
                None => drop(runs.remove(graph)?),
            }
            Ok(())
        })
    }

    fn unfinished_run(&self, graph: &str) -> Result<Option<Value>, StateError> {
        let bytes = self.read(|txn| Ok(txn.open_table(RUN)?.get(graph)?.map(|v| v.value().to_vec())))?;
        let Some(bytes) = bytes else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| StateError::BadRecord {
            path: self.path.clone(),
            graph: graph.to_string(),
            process: "(its unfinished run)".into(),
            reason: format!("the checkpoint is not JSON: {e}"),
        })
    }

    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError> {
        let read = |txn: &redb::ReadTransaction| -> Result<Vec<(String, Vec<u8>)>, redb::Error> {
            let state = txn.open_table(STATE)?;
            let mut found = Vec::new();
            for entry in state.iter()? {
                let (key, value) = entry?;
                let (g, process) = key.value();
                if g == graph {
                    found.push((process.to_string(), value.value().to_vec()));
                }
            }
            Ok(found)
        };
        let found = self.read(read)?;
        found
            .into_iter()
            .map(|(process, bytes)| {
                let record = decode(&bytes).map_err(|reason| self.bad_record((graph, &process), reason))?;
                Ok((process, record))
            })
            .collect()
    }

    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError> {
        let encoded = encode_states(graph, states, self.options)?;
        self.write("replacing the graph's state", |txn| {
            let mut state = txn.open_table(STATE)?;
            state.retain(|(g, _), _| g != graph)?;
            txn.open_table(RUN)?.remove(graph)?;
            for (process, bytes) in &encoded {
                state.insert((graph, process.as_str()), bytes.as_slice())?;
            }
            Ok(())
        })
    }

    fn clear(&self, graph: &str, process: Option<&str>) -> Result<usize, StateError> {
        let mut removed = 0;
        let doomed = |g: &str, p: &str| g == graph && process.is_none_or(|only| p == only);
        self.write("clearing state", |txn| {
            txn.open_table(STATE)?.retain(|(g, p), _| {
                let gone = doomed(g, p);
                removed += usize::from(gone);
                !gone
            })?;
            txn.open_table(RUN)?.remove(graph)?;
            Ok(())
        })?;
        Ok(removed)
    }

    fn options(&self) -> StoreOptions {
        self.options
    }
}
