//! Reads a recording back, checking every record: a cut or damaged file is an error naming
//! the byte offset where it goes wrong, never a panic and never garbage.

use crate::format::{Record, Start, FORMAT_VERSION, MAGIC};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Why a recording cannot be read (each names the file and, past the header, the offset).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file cannot be opened or read; the I/O error is the `source` (not repeated in the
    /// message, so a printed cause chain says it once).
    #[error("cannot read recording {file}")]
    Io {
        /// The recording.
        file: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The file does not start with [`MAGIC`](crate::MAGIC): the wrong file was given.
    #[error("{file} is not a Reflow recording (it does not start with RFLTRACE)")]
    NotARecording {
        /// The file given.
        file: PathBuf,
    },

    /// Written by another version of the format, which this reader does not guess at.
    #[error("{file}: recording format version {found}, this reflow reads version {FORMAT_VERSION}")]
    Version {
        /// The recording.
        file: PathBuf,
        /// The version byte it holds.
        found: u8,
    },

    /// The file ends inside a record (a run killed mid-write loses at most its last flush).
    #[error("{file}: truncated at byte offset {offset}: {what}")]
    Truncated {
        /// The recording.
        file: PathBuf,
        /// Where the cut record starts.
        offset: u64,
        /// What was being read there.
        what: String,
    },

    /// A record whose length, checksum or body is wrong: the file was damaged.
    #[error("{file}: corrupted record at byte offset {offset}: {what}")]
    Corrupt {
        /// The recording.
        file: PathBuf,
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong with it.
        what: String,
    },

    /// The first record is not a [`Start`](crate::Start), so nothing says what was run.
    #[error("{file}: the first record (at byte offset 9) is not the start of a run")]
    NoStart {
        /// The recording.
        file: PathBuf,
    },
}

/// Records are at most this long: a longer length is a damaged header, not a record to
/// allocate for.
const MAX_RECORD: u32 = 1 << 30;

/// A recording being read, record by record.
pub struct TraceReader {
    file: PathBuf,
    input: BufReader<File>,
    /// The offset of the next record.
    offset: u64,
    len: u64,
    failed: bool,
}

impl TraceReader {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path) -> Result<TraceReader, TraceError> {
        let io_error = |source| TraceError::Io { file: path.to_path_buf(), source };
        let file = File::open(path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        let mut input = BufReader::with_capacity(256 << 10, file);
        let mut header = [0u8; 9];
        let have = read_up_to(&mut input, &mut header).map_err(io_error)?;
        if have < MAGIC.len() || &header[..8] != MAGIC {
            return Err(TraceError::NotARecording { file: path.to_path_buf() });
        }
        if have < header.len() {
            return Err(TraceError::Truncated { file: path.to_path_buf(), offset: have as u64, what: "the header ends before its version byte".into() });
        }
        if header[8] != FORMAT_VERSION {
            return Err(TraceError::Version { file: path.to_path_buf(), found: header[8] });
        }
        Ok(TraceReader { file: path.to_path_buf(), input, offset: header.len() as u64, len, failed: false })
    }

    /// The offset the next record starts at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn truncated(&self, offset: u64, what: String) -> TraceError {
        TraceError::Truncated { file: self.file.clone(), offset, what }
    }

    fn corrupt(&self, what: String) -> TraceError {
        TraceError::Corrupt { file: self.file.clone(), offset: self.offset, what }
    }

    /// The next record and its offset; `None` at a clean end of file.
    fn next_record(&mut self) -> Result<Option<(u64, Record)>, TraceError> {
        let io_error = |file: &Path, source| TraceError::Io { file: file.to_path_buf(), source };
        let mut header = [0u8; 8];
        let have = read_up_to(&mut self.input, &mut header).map_err(|e| io_error(&self.file, e))?;
        if have == 0 {
            return Ok(None);
        }
        if have < header.len() {
            return Err(self.truncated(self.offset, format!("a record header needs 8 bytes, the file ends after {have}")));
        }
        let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        let left = self.len.saturating_sub(self.offset + 8);
        if length > MAX_RECORD {
            return Err(self.corrupt(format!("a record length of {length} bytes")));
        }
        if u64::from(length) > left {
            return Err(self.truncated(self.offset, format!("the record needs {length} bytes, the file holds {left} more")));
        }
        let mut body = vec![0u8; length as usize];
        let have = read_up_to(&mut self.input, &mut body).map_err(|e| io_error(&self.file, e))?;
        if have < body.len() {
            return Err(self.truncated(self.offset, format!("the record needs {length} bytes, the file holds {have} more")));
        }
        if crc32fast::hash(&body) != crc {
            return Err(self.corrupt("checksum mismatch".into()));
        }
        let record: Record = rmp_serde::from_slice(&body).map_err(|e| self.corrupt(format!("cannot decode it: {e}")))?;
        let at = self.offset;
        self.offset += 8 + u64::from(length);
        Ok(Some((at, record)))
    }
}

impl Iterator for TraceReader {
    /// A record with its byte offset; after an error, nothing more.
    type Item = Result<(u64, Record), TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_record().transpose();
        if matches!(next, Some(Err(_))) {
            self.failed = true;
        }
        next
    }
}

/// Reads the whole recording: its start and every later record (with its offset), or the
/// first error.
pub fn read_all(path: &Path) -> Result<(Start, Vec<(u64, Record)>), TraceError> {
    let mut reader = TraceReader::open(path)?;
    let start = match reader.next().transpose()? {
        Some((_, Record::Start(start))) => start,
        _ => return Err(TraceError::NoStart { file: path.to_path_buf() }),
    };
    let records = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((start, records))
}

/// Fills `buf` as far as the input goes; returns how much it read.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut have = 0;
    while have < buf.len() {
        match input.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(have)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{CallRecord, EdgeInfo, EdgeRecord, ProcessInfo};
    use crate::TraceWriter;
    use reflow_abi::Message;
    use reflow_script::EntropyRead;
    use serde_json::json;

    fn start() -> Start {
        Start {
            graph_file: "g.json".into(),
            graph: json!({"processes": {}}),
            started_ms: 1,
            processes: vec![ProcessInfo { name: "p".into(), component: "p.wasm".into(), plugin: Some("/p.wasm".into()), grants: vec![], config: Default::default(), limits: Some(reflow_script::Limits::default().into()) }],
            edges: vec![EdgeInfo { from: "a".into(), outport: "out".into(), from_index: None, to: "p".into(), inport: "in".into(), to_index: None }],
        }
    }

    /// A recording of one edge message and one call; returns its path and the records.
    fn recording(dir: &Path) -> (PathBuf, Vec<Record>) {
        let path = dir.join("run.trace");
        let writer = TraceWriter::create(&path, &start()).unwrap();
        let (seq, micros) = writer.stamp();
        let edge = EdgeRecord { seq, micros, edge: 0, message: Message::Integer(7) };
        let (seq, micros) = writer.stamp();
        let state = json!({"n": 1}).as_object().unwrap().clone();
        let call = CallRecord {
            seq,
            micros,
            process: 0,
            payload: vec![("in".into(), Message::Integer(7))],
            state_before: Default::default(),
            state_after: Some(state),
            sent: vec![("out".into(), Message::String("x".into()))],
            outputs: vec![("out".into(), Message::Object(json!({"a": [1, 2.5, null]})))],
            entropy: vec![EntropyRead::Wall(5), EntropyRead::Random(vec![1, 2])],
            error: Some("actor p: exceeded the 10 s call time limit".into()),
            limit: Some("time".into()),
        };
        writer.edge(edge.clone());
        writer.call(call.clone());
        let summary = writer.finish().unwrap();
        assert_eq!(summary.records, 3);
        assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
        (path, vec![Record::Edge(edge), Record::Call(call)])
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (path, written) = recording(dir.path());
        let (read_start, records) = read_all(&path).unwrap();
        assert_eq!(read_start, start());
        assert_eq!(records.into_iter().map(|(_, r)| r).collect::<Vec<_>>(), written);
    }

    #[test]
    fn a_cut_recording_names_the_offset_of_the_cut_record() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = recording(dir.path());
        let offsets: Vec<u64> = TraceReader::open(&path).unwrap().map(|r| r.unwrap().0).collect();
        let full = std::fs::read(&path).unwrap();
        let last = offsets[2];
        for cut in [last + 3, last + 8, full.len() as u64 - 1] {
            std::fs::write(&path, &full[..cut as usize]).unwrap();
            let error = read_all(&path).unwrap_err().to_string();
            assert!(error.contains(&format!("truncated at byte offset {last}")), "{error}");
        }
        std::fs::write(&path, &full[..5]).unwrap();
        assert!(read_all(&path).unwrap_err().to_string().contains("not a Reflow recording"));
    }

    #[test]
    fn a_damaged_recording_names_the_offset_of_the_damaged_record() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = recording(dir.path());
        let offsets: Vec<u64> = TraceReader::open(&path).unwrap().map(|r| r.unwrap().0).collect();
        let full = std::fs::read(&path).unwrap();
        // A flipped byte in the body of the second record, then in its length.
        let mut damaged = full.clone();
        damaged[offsets[1] as usize + 10] ^= 0x55;
        std::fs::write(&path, &damaged).unwrap();
        let error = read_all(&path).unwrap_err().to_string();
        assert!(error.contains(&format!("corrupted record at byte offset {}: checksum mismatch", offsets[1])), "{error}");
        let mut damaged = full.clone();
        damaged[offsets[1] as usize + 3] = 0xff;
        std::fs::write(&path, &damaged).unwrap();
        let error = read_all(&path).unwrap_err().to_string();
        assert!(error.contains(&format!("byte offset {}", offsets[1])), "{error}");
        // Random bytes never panic the reader.
        let mut noise = full[..9].to_vec();
        noise.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        std::fs::write(&path, &noise).unwrap();
        assert!(read_all(&path).is_err());
    }
}
