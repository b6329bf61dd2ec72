//! Components that read or write outside the network: stdout and JSON-lines files.

use super::{meta, port};
use crate::component::{Component, ComponentError, Outputs, Payload, SourceStatus};
use crate::error::NetworkError;
use reflow_abi::{Message, PluginMetadata};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, BufWriter, Write};
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
    /// The number of the last line read (the source's position).
    line: usize,
    bad: Vec<String>,
}

impl ReadJsonLines {
    pub fn new(config: &Map<String, Value>, base_dir: &Path) -> Result<Self, NetworkError> {
        let path = configured_path("reflow/ReadJsonLines", config, base_dir)?;
        Ok(ReadJsonLines { metadata: Self::metadata_value(), path, reader: None, line: 0, bad: Vec::new() })
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("reflow/ReadJsonLines", "Sends each JSON line of a file (config: path, `-` = stdin)", vec![], vec![port("out", "one message per line", "Any")])
    }

    fn open(&self) -> Result<(String, Box<dyn BufRead + Send>), ComponentError> {
        Ok(match &self.path {
            None => ("stdin".into(), Box::new(BufReader::new(std::io::stdin()))),
            Some(path) => {
                let file = std::fs::File::open(path).map_err(|e| ComponentError::new(format!("cannot open {}: {e}", path.display())))?;
                (path.display().to_string(), Box::new(BufReader::new(file)))
            }
        })
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
}

/// `reflow/WriteJsonLines`: writes each message as a tagged JSON line to a file (created or
/// truncated when the network starts) or to stdout.
pub struct WriteJsonLines {
    metadata: PluginMetadata,
    path: Option<PathBuf>,
    file: Option<BufWriter<std::fs::File>>,
}

impl WriteJsonLines {
    pub fn new(config: &Map<String, Value>, base_dir: &Path) -> Result<Self, NetworkError> {
        let path = configured_path("reflow/WriteJsonLines", config, base_dir)?;
        let file = match &path {
            None => None,
            Some(p) => Some(BufWriter::new(std::fs::File::create(p).map_err(|e| NetworkError::CreateFile {
                component: "reflow/WriteJsonLines".into(),
                path: p.clone(),
                source: Arc::new(e),
            })?)),
        };
        Ok(WriteJsonLines { metadata: Self::metadata_value(), path, file })
    }
    pub fn metadata_value() -> PluginMetadata {
        meta("reflow/WriteJsonLines", "Writes each message as a JSON line to a file (config: path, `-` = stdout)", vec![port("in", "any message", "Any")], vec![])
    }
}

impl Component for WriteJsonLines {
    fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }
    fn process(&mut self, payload: &mut Payload, _: &Outputs) -> Result<(), ComponentError> {
        for message in payload.values() {
            let line = message.to_json().to_string();
            match (&mut self.file, &self.path) {
                (Some(file), Some(path)) => writeln!(file, "{line}").map_err(|e| ComponentError::new(format!("cannot write {}: {e}", path.display())))?,
                _ => print_line(&line)?,
            }
        }
        Ok(())
    }
    fn finish(&mut self, _: &Outputs) -> Result<(), ComponentError> {
        if let (Some(file), Some(path)) = (&mut self.file, &self.path) {
            file.flush().map_err(|e| ComponentError::new(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(())
    }
}
