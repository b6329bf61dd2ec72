//! Components that read or write outside the network: stdout and JSON-lines files.

use super::{meta, port};
use crate::component::{Component, ComponentError, Outputs, Payload, SourceStatus};
use crate::error::NetworkError;
use reflow_abi::{Message, PluginMetadata};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn print_line(line: &str) -> Result<(), ComponentError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").map_err(|e| ComponentError::new(format!("cannot write to stdout: {e}")))
}

/// `core/Output`: prints each message's data as one JSON line (as NoFlo's `core/Output` logs
/// its data) and forwards the message on `out`.
pub struct Output(PluginMetadata);

impl Output {
    pub fn new() -> Self {
        Output(Self::metadata_value())
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("core/Output", "Prints each message's data to stdout and forwards it", vec![port("in", "any message", "Any")], vec![port("out", "the same message", "Any")])
    }
}

impl Component for Output {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        for message in payload.values() {
            print_line(&message.data().to_string())?;
        }
        for (_, message) in payload.drain() {
            out.send("out", message);
        }
        Ok(())
    }
}

/// `reflow/Print`: prints each message as one tagged JSON line (`{"type":..,"data":..}`).
pub struct Print(PluginMetadata);

impl Print {
    pub fn new() -> Self {
        Print(Self::metadata_value())
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("reflow/Print", "Prints each message to stdout as a JSON line", vec![port("in", "any message", "Any")], vec![])
    }
}

impl Component for Print {
    fn metadata(&self) -> &PluginMetadata {
        &self.0
    }
    fn process(&mut self, payload: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        for message in payload.values() {
            print_line(&message.to_json().to_string())?;
        }
        Ok(())
    }
}

/// The `path` setting of a file component: `-` is stdin/stdout, relative paths are relative
/// to the graph file's folder.
fn configured_path(component: &str, config: &Map<String, Value>, base_dir: &Path) -> Result<Option<PathBuf>, NetworkError> {
    match config.get("path").and_then(Value::as_str) {
        None => Err(NetworkError::Config {
            component: component.to_string(),
            reason: "needs a string `path` in its config (`-` for standard input/output)".into(),
        }),
        Some("-") => Ok(None),
        Some(path) => Ok(Some(base_dir.join(path))),
    }
}

/// `reflow/ReadJsonLines`: a source sending each line of a file (or stdin) as a message: a
/// tagged message line as that message, any other JSON value mapped by its kind. Blank lines
/// are skipped; an invalid line is reported with its line number and skipped.
pub struct ReadJsonLines {
    metadata: PluginMetadata,
    path: Option<PathBuf>,
    /// Open once the source is first polled.
    reader: Option<(String, Box<dyn BufRead + Send>)>,
    /// The number of the last line read.
    line: usize,
    /// Bytes read so far: the source's position (where a restored source seeks to).
    offset: u64,
    bad: Vec<String>,
}

impl ReadJsonLines {
    pub fn new(config: &Map<String, Value>, base_dir: &Path) -> Result<Self, NetworkError> {
        let path = configured_path("reflow/ReadJsonLines", config, base_dir)?;
        Ok(ReadJsonLines { metadata: Self::metadata_value(), path, reader: None, line: 0, offset: 0, bad: Vec::new() })
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("reflow/ReadJsonLines", "Sends each JSON line of a file (config: path, `-` = stdin)", vec![], vec![port("out", "one message per line", "Any")])
    }

    /// Opens the input at the source's position: a file is seeked to it; stdin cannot seek, so
    /// that many bytes are read and skipped (the same input piped again resumes where it was).
    fn open(&self) -> Result<(String, Box<dyn BufRead + Send>), ComponentError> {
        let (name, mut reader): (String, Box<dyn BufRead + Send>) = match &self.path {
            None => ("stdin".into(), Box::new(BufReader::new(std::io::stdin()))),
            Some(path) => {
                let mut file = std::fs::File::open(path).map_err(|e| ComponentError::new(format!("cannot open {}: {e}", path.display())))?;
                if self.offset > 0 {
                    file.seek(SeekFrom::Start(self.offset)).map_err(|e| ComponentError::new(format!("cannot seek {} to byte {}: {e}", path.display(), self.offset)))?;
                }
                return Ok((path.display().to_string(), Box::new(BufReader::new(file))));
            }
        };
        let skipped = std::io::copy(&mut (&mut reader).take(self.offset), &mut std::io::sink()).map_err(|e| ComponentError::new(format!("cannot read stdin: {e}")))?;
        if skipped < self.offset {
            return Err(ComponentError::new(format!("stdin ended after {skipped} bytes, before the checkpointed position (byte {})", self.offset)));
        }
        Ok((name, reader))
    }

    /// The end of the file: the invalid lines skipped, if any, as the source's error.
    fn done(&mut self) -> Result<SourceStatus, ComponentError> {
        self.reader = None;
        match std::mem::take(&mut self.bad).as_slice() {
            [] => Ok(SourceStatus::Done),
            [only] => Err(ComponentError::new(format!("skipped an invalid line: {only}"))),
            [first, rest @ ..] => Err(ComponentError::new(format!("skipped {} invalid lines, the first: {first}", rest.len() + 1))),
        }
    }
}

impl Component for ReadJsonLines {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, _: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }
    fn poll_source(&mut self, out: &Outputs, budget: usize) -> Result<SourceStatus, ComponentError> {
        if self.reader.is_none() {
            self.reader = Some(self.open()?);
        }
        let mut sent = 0;
        while sent < budget {
            if out.stopping() {
                return self.done();
            }
            let (name, reader) = self.reader.as_mut().expect("opened above");
            let mut text = String::new();
            self.line += 1;
            let read = reader.read_line(&mut text).map_err(|e| ComponentError::new(format!("{name}:{}: cannot read: {e}", self.line)))?;
            if read == 0 {
                return self.done();
            }
            self.offset += read as u64;
            let line = text.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line).map_err(|e| e.to_string()).and_then(|v| Message::from_json(v).map_err(|e| e.to_string())) {
                Ok(message) => {
                    out.send("out", message);
                    sent += 1;
                }
                Err(e) => self.bad.push(format!("{name}:{}: {e}", self.line)),
            }
        }
        Ok(SourceStatus::More)
    }
    /// The position: bytes and lines read, and the invalid lines skipped so far (reported at
    /// the end).
    fn checkpoint(&mut self) -> Result<Option<Value>, ComponentError> {
        Ok(Some(serde_json::json!({"offset": self.offset, "line": self.line, "bad": self.bad})))
    }
    fn restore(&mut self, saved: Value) -> Result<(), ComponentError> {
        let bad_position = || ComponentError::new(format!("reflow/ReadJsonLines: a checkpointed position must be {{\"offset\", \"line\", \"bad\"}}, got {saved}"));
        self.offset = saved.get("offset").and_then(Value::as_u64).ok_or_else(bad_position)?;
        self.line = saved.get("line").and_then(Value::as_u64).ok_or_else(bad_position)? as usize;
        self.bad = serde_json::from_value(saved.get("bad").cloned().unwrap_or_default()).map_err(|_| bad_position())?;
        Ok(())
    }
}

/// `reflow/WriteJsonLines`: writes each message as a tagged JSON line to a file or to stdout.
/// A file is created (or emptied) when the first message or the end of the run comes; a run
/// resumed from a checkpoint instead cuts it back to the length that checkpoint recorded, so
/// the lines written after the checkpoint, which the resumed run writes again, are there once
/// (write-ahead, truncated on recovery: docs/state.md).
pub struct WriteJsonLines {
    metadata: PluginMetadata,
    path: Option<PathBuf>,
    file: Option<BufWriter<std::fs::File>>,
    /// The length the file starts from once opened: 0, or a restored checkpoint's.
    start: u64,
}

impl WriteJsonLines {
    pub fn new(config: &Map<String, Value>, base_dir: &Path) -> Result<Self, NetworkError> {
        let path = configured_path("reflow/WriteJsonLines", config, base_dir)?;
        // Checked now, so that a path that cannot be written fails the run before it starts;
        // nothing is truncated yet (a resumed run keeps what its checkpoint wrote).
        if let Some(p) = &path {
            std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(p).map_err(|e| NetworkError::CreateFile {
                component: "reflow/WriteJsonLines".into(),
                path: p.clone(),
                source: Arc::new(e),
            })?;
        }
        Ok(WriteJsonLines { metadata: Self::metadata_value(), path, file: None, start: 0 })
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("reflow/WriteJsonLines", "Writes each message as a JSON line to a file (config: path, `-` = stdout)", vec![port("in", "any message", "Any")], vec![])
    }

    fn error(path: &Path, e: std::io::Error) -> ComponentError {
        ComponentError::new(format!("cannot write {}: {e}", path.display()))
    }

    /// The open file and its path, cut to `start` when first opened; `None` for stdout.
    fn file(&mut self) -> Result<Option<(&mut BufWriter<std::fs::File>, &Path)>, ComponentError> {
        let Some(path) = &self.path else { return Ok(None) };
        if self.file.is_none() {
            let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(|e| Self::error(path, e))?;
            let length = file.metadata().map_err(|e| Self::error(path, e))?.len();
            if length < self.start {
                return Err(ComponentError::new(format!(
                    "{} is {length} bytes long, shorter than the {} bytes the checkpoint wrote: it was changed outside this run",
                    path.display(),
                    self.start
                )));
            }
            file.set_len(self.start).map_err(|e| Self::error(path, e))?;
            file.seek(SeekFrom::Start(self.start)).map_err(|e| Self::error(path, e))?;
            self.file = Some(BufWriter::new(file));
        }
        Ok(self.file.as_mut().map(|file| (file, path.as_path())))
    }
}

impl Component for WriteJsonLines {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, payload: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        for message in payload.values() {
            let line = message.to_json().to_string();
            match self.file()? {
                Some((file, path)) => writeln!(file, "{line}").map_err(|e| Self::error(path, e))?,
                None => print_line(&line)?,
            }
        }
        Ok(())
    }
    fn finish(&mut self, _: &Outputs) -> Result<(), ComponentError> {
        if let Some((file, path)) = self.file()? {
            file.flush().map_err(|e| Self::error(path, e))?;
        }
        Ok(())
    }
    /// Makes what was written durable (flushed and fsynced) and records its length: the
    /// checkpoint commits the file up to there.
    fn checkpoint(&mut self) -> Result<Option<Value>, ComponentError> {
        let Some((file, path)) = self.file()? else { return Ok(None) };
        file.flush().map_err(|e| Self::error(path, e))?;
        let file = file.get_mut();
        file.sync_data().map_err(|e| Self::error(path, e))?;
        let length = file.stream_position().map_err(|e| Self::error(path, e))?;
        Ok(Some(serde_json::json!({"length": length})))
    }
    fn restore(&mut self, saved: Value) -> Result<(), ComponentError> {
        self.start = saved.get("length").and_then(Value::as_u64).ok_or_else(|| ComponentError::new(format!("reflow/WriteJsonLines: a checkpointed position must be {{\"length\": BYTES}}, got {saved}")))?;
        self.file = None;
        Ok(())
    }
}
