//! Recordings of runs (`reflow run --record FILE`): every message on every connection and
//! every plugin call with its input, state and results, in a compact file that is written as
//! the run goes, read back by `reflow trace` and `reflow replay`.
//!
//! # The file format (version 1)
//!
//! ```text
//! file   = magic record*
//! magic  = "RFLTRACE" 0x01            (8 bytes, then the version byte)
//! record = length:u32le crc32:u32le body
//! body   = one Record in MessagePack (rmp-serde's compact form: structs as arrays)
//! ```
//!
//! The first record is a [`Record::Start`]: the graph (FBP JSON), its processes (with the
//! plugin file, grants, configuration and limits each ran with, so a replay can start the
//! same actor under the same limits)
//! and its connections, numbered as [`EdgeRecord::edge`] refers to them. Then, in the order
//! they were written, [`Record::Edge`] (a message sent on a connection) and [`Record::Call`]
//! (one plugin call). Each record carries a sequence number taken when it happened; records of
//! different worker threads can reach the file slightly out of sequence, so readers that care
//! sort by it.
//!
//! Why this shape: the length and checksum in front of each record let a reader stop at the
//! exact offset where a file was cut or damaged, and report it, instead of decoding garbage;
//! MessagePack keeps messages and state as free-form as the JSON they are, at about half its
//! size. A record's state after the call is left out when the call did not change it.
//!
//! Fields added since version 1 come last in their record and are optional (a process's
//! limits, the limit a failed call went over): older recordings read as having none, so the
//! version stays 1.
//!
//! # Streaming and crashes
//!
//! [`TraceWriter`] writes through a buffer that a background thread flushes every
//! [`FLUSH_EVERY`] (and the writer flushes at [`TraceWriter::finish`]): a crash loses at most
//! what was recorded in the last interval, and a cut last record is reported by the reader as
//! truncated at its offset. A write error (a full disk) stops the recording, never the run; it
//! is reported by [`TraceWriter::finish`].

pub mod flowtrace;
mod format;
mod reader;
mod writer;

pub use format::{limit_name, CallRecord, EdgeInfo, EdgeRecord, ProcessInfo, RecordedLimits, Record, Start, FORMAT_VERSION, MAGIC};
pub use reader::{read_all, TraceError, TraceReader};
pub use writer::{TraceWriter, WriteSummary, FLUSH_EVERY};
