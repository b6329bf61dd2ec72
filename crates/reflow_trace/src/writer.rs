//! Appends records to a recording as a run goes (see the crate docs, "Streaming and crashes").

use crate::format::{CallRecord, EdgeRecord, Record, Start, FORMAT_VERSION, MAGIC};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often buffered records reach the file while a run goes on.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The buffer between the workers and the file.
const BUFFER_BYTES: usize = 256 << 10;

struct Out {
    file: BufWriter<File>,
    records: u64,
    bytes: u64,
    /// The first write error: recording stops there.
    error: Option<io::Error>,
}

struct Shared {
    out: Mutex<Out>,
    closing: AtomicBool,
    tick: Condvar,
}

fn lock(out: &Mutex<Out>) -> MutexGuard<'_, Out> {
    out.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a finished recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSummary {
    /// Records written, the start record included.
    pub records: u64,
    /// The file's size.
    pub bytes: u64,
}

/// A recording being written. Shared by every worker thread of a run (`&self` methods); each
/// record is encoded by the thread that makes it and appended under one short lock.
pub struct TraceWriter {
    path: PathBuf,
    shared: Arc<Shared>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    seq: AtomicU64,
    started: Instant,
}

impl TraceWriter {
    /// Creates (or truncates) `path` and writes the header and `start`.
    pub fn create(path: &Path, start: &Start) -> io::Result<TraceWriter> {
        let file = File::create(path).map_err(|e| io::Error::new(e.kind(), format!("cannot create recording {}: {e}", path.display())))?;
        let mut file = BufWriter::with_capacity(BUFFER_BYTES, file);
        file.write_all(MAGIC)?;
        file.write_all(&[FORMAT_VERSION])?;
        let shared = Arc::new(Shared {
            out: Mutex::new(Out { file, records: 0, bytes: MAGIC.len() as u64 + 1, error: None }),
            closing: AtomicBool::new(false),
            tick: Condvar::new(),
        });
        let writer = TraceWriter { path: path.to_path_buf(), shared, flusher: Mutex::new(None), seq: AtomicU64::new(0), started: Instant::now() };
        writer.append(&Record::Start(start.clone()));
        if let Some(e) = lock(&writer.shared.out).error.take() {
            return Err(e);
        }
        let flusher = {
            let shared = writer.shared.clone();
            std::thread::Builder::new().name("reflow recorder".into()).spawn(move || flush_periodically(&shared))?
        };
        *writer.flusher.lock().unwrap_or_else(|p| p.into_inner()) = Some(flusher);
        Ok(writer)
    }

    /// The file being written, for messages that name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next sequence number and the time since the recording started: what an
    /// [`EdgeRecord`] or a [`CallRecord`] is stamped with when its event happens.
    pub fn stamp(&self) -> (u64, u64) {
        (self.seq.fetch_add(1, Ordering::Relaxed), self.started.elapsed().as_micros() as u64)
    }

    /// Appends a message sent on a connection (stamped with [`TraceWriter::stamp`] when it was
    /// sent). Never fails: a write error stops the recording and is reported by `finish`.
    pub fn edge(&self, record: EdgeRecord) {
        self.append(&Record::Edge(record));
    }

    /// Appends a plugin call, as [`TraceWriter::edge`] appends an edge.
    pub fn call(&self, record: CallRecord) {
        self.append(&Record::Call(record));
    }

    fn append(&self, record: &Record) {
        let mut frame = vec![0u8; 8];
        if let Err(e) = rmp_serde::encode::write(&mut frame, record) {
            // Only a value serde cannot encode gets here (none of ours): skip that record.
            tracing::error!("recording {}: cannot encode a record: {e}", self.path.display());
            return;
        }
        let body = &frame[8..];
        let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
        let crc = crc32fast::hash(body);
        frame[..4].copy_from_slice(&length.to_le_bytes());
        frame[4..8].copy_from_slice(&crc.to_le_bytes());
        let mut out = lock(&self.shared.out);
        if out.error.is_some() {
            return;
        }
        match out.file.write_all(&frame) {
            Ok(()) => {
                out.records += 1;
                out.bytes += frame.len() as u64;
            }
            Err(e) => {
                tracing::error!("recording {}: {e}; the recording stops here, the run goes on", self.path.display());
                out.error = Some(e);
            }
        }
    }

    /// Flushes everything and closes the file: what it holds, or the error that stopped it.
    pub fn finish(&self) -> io::Result<WriteSummary> {
        {
            // Under the lock, so the flusher cannot miss the wake-up between its check and its wait.
            let _out = lock(&self.shared.out);
            self.shared.closing.store(true, Ordering::Release);
        }
        self.shared.tick.notify_all();
        if let Some(flusher) = self.flusher.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = flusher.join();
        }
        let mut out = lock(&self.shared.out);
        if let Some(e) = out.error.take() {
            return Err(io::Error::new(e.kind(), format!("recording {} stopped after {} records: {e}", self.path.display(), out.records)));
        }
        out.file.flush()?;
        Ok(WriteSummary { records: out.records, bytes: out.bytes })
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn flush_periodically(shared: &Shared) {
    let mut out = lock(&shared.out);
    while !shared.closing.load(Ordering::Acquire) {
        out = shared.tick.wait_timeout(out, FLUSH_EVERY).unwrap_or_else(|p| p.into_inner()).0;
        if out.error.is_none() {
            if let Err(e) = out.file.flush() {
                out.error = Some(e);
            }
        }
    }
}
