//! The persistent backend: one [redb](https://www.redb.org) file, `state.redb`, in a state
//! directory. redb commits are atomic and durable (copy-on-write B-trees, checksummed, fsync on
//! commit), so a `SIGKILL` or a power cut leaves either the old record or the new one. The
//! file holds a format marker; a file without it, a damaged file or one of another version is
//! reported and left untouched, never reset. redb locks the file, so two processes cannot
//! share one state directory by accident.

use crate::store::{decode, encode, encode_state, Encoded};
use crate::{ActorKey, ActorRecord, StateError, StateStore, StoreOptions};
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The store's file name inside a state directory.
pub const FILE_NAME: &str = "state.redb";
/// What the marker table says: this file is ours, in this layout.
const FORMAT: &str = "reflow-state";
const VERSION: &str = "1";

const META: TableDefinition<&str, &str> = TableDefinition::new("reflow_meta");
/// (graph, process) -> the state, compact JSON.
const STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("actor_state");
/// (graph, process) -> the pending messages of the last commit, JSON; absent once settled.
const PENDING: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("actor_pending");

/// A [`StateStore`] in a redb file.
pub struct DbStore {
    db: Database,
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
        let opened = catch_unwind(AssertUnwindSafe(|| {
            Database::builder().set_check_integrity_on_open(true).set_cache_size(16 << 20).open(path)
        }));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(open_error(path, e)),
            Err(_) => return Err(corrupt(path, "the database engine could not read it")),
        };
        let store = DbStore { db, path: path.to_path_buf(), options };
        store.check_marker()?;
        Ok(store)
    }

    fn check_marker(&self) -> Result<(), StateError> {
        let txn = self.db.begin_read().map_err(|e| self.failed("reading", e))?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Err(corrupt(&self.path, "a redb database without the Reflow format marker"))
            }
            Err(e) => return Err(self.failed("reading the format marker", e)),
        };
        let get = |name: &str| -> Result<Option<String>, StateError> {
            Ok(meta.get(name).map_err(|e| self.failed("reading the format marker", e))?.map(|v| v.value().to_string()))
        };
        let (format, version) = (get("format")?, get("version")?);
        if format.as_deref() != Some(FORMAT) {
            return Err(corrupt(&self.path, &format!("format marker is {format:?}, expected {FORMAT:?}")));
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
        let txn = self.db.begin_write().map_err(|e| self.failed(operation, e))?;
        f(&txn).map_err(|e| self.failed(operation, e))?;
        txn.commit().map_err(|e| self.failed(operation, e))
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
            txn.open_table(PENDING)?;
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

fn read_pending(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    key: (&str, &str),
) -> Result<Option<Vec<u8>>, redb::StorageError> {
    Ok(table.get(key)?.map(|v| v.value().to_vec()))
}

impl StateStore for DbStore {
    fn load(&self, key: &ActorKey) -> Result<Option<ActorRecord>, StateError> {
        let k = (key.graph.as_str(), key.process.as_str());
        let txn = self.db.begin_read().map_err(|e| self.failed("reading", e))?;
        let read = || -> Result<Option<Encoded>, redb::Error> {
            let state = txn.open_table(STATE)?;
            let Some(bytes) = state.get(k)? else { return Ok(None) };
            let pending = read_pending(&txn.open_table(PENDING)?, k)?;
            Ok(Some(Encoded { state: bytes.value().to_vec(), pending }))
        };
        match read().map_err(|e| self.failed("reading", e))? {
            None => Ok(None),
            Some(e) => decode(&e.state, e.pending.as_deref()).map(Some).map_err(|reason| self.bad_record(k, reason)),
        }
    }

    fn commit(&self, key: &ActorKey, record: &ActorRecord) -> Result<(), StateError> {
        let encoded = encode(key, record, self.options)?;
        let k = (key.graph.as_str(), key.process.as_str());
        self.write("committing state", |txn| {
            txn.open_table(STATE)?.insert(k, encoded.state.as_slice())?;
            let mut pending = txn.open_table(PENDING)?;
            match &encoded.pending {
                Some(bytes) => drop(pending.insert(k, bytes.as_slice())?),
                None => drop(pending.remove(k)?),
            }
            Ok(())
        })
    }

    fn settle(&self, key: &ActorKey) -> Result<(), StateError> {
        let k = (key.graph.as_str(), key.process.as_str());
        self.write("settling pending messages", |txn| {
            txn.open_table(PENDING)?.remove(k)?;
            Ok(())
        })
    }

    fn actors(&self, graph: &str) -> Result<Vec<(String, ActorRecord)>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.failed("reading", e))?;
        let read = || -> Result<Vec<(String, Encoded)>, redb::Error> {
            let state = txn.open_table(STATE)?;
            let pending = txn.open_table(PENDING)?;
            let mut found = Vec::new();
            for entry in state.iter()? {
                let (key, value) = entry?;
                let (g, process) = key.value();
                if g == graph {
                    let pending = read_pending(&pending, (g, process))?;
                    found.push((process.to_string(), Encoded { state: value.value().to_vec(), pending }));
                }
            }
            Ok(found)
        };
        let found = read().map_err(|e| self.failed("reading", e))?;
        found
            .into_iter()
            .map(|(process, e)| {
                let record = decode(&e.state, e.pending.as_deref()).map_err(|reason| self.bad_record((graph, &process), reason))?;
                Ok((process, record))
            })
            .collect()
    }

    fn replace_graph(&self, graph: &str, states: &[(String, Map<String, Value>)]) -> Result<(), StateError> {
        let mut encoded = Vec::with_capacity(states.len());
        for (process, state) in states {
            encoded.push((process.as_str(), encode_state(&ActorKey::new(graph, process.as_str()), state, self.options)?));
        }
        self.write("replacing the graph's state", |txn| {
            let mut state = txn.open_table(STATE)?;
            state.retain(|(g, _), _| g != graph)?;
            txn.open_table(PENDING)?.retain(|(g, _), _| g != graph)?;
            for (process, bytes) in &encoded {
                state.insert((graph, *process), bytes.as_slice())?;
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
            txn.open_table(PENDING)?.retain(|(g, p), _| !doomed(g, p))?;
            Ok(())
        })?;
        Ok(removed)
    }

    fn options(&self) -> StoreOptions {
        self.options
    }
}
