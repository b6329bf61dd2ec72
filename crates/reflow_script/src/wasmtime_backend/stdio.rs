//! A WASI plugin's stdout and stderr become `tracing` events (target `reflow_script::plugin`,
//! debug level), so `println!` in a plugin shows with `RUST_LOG=reflow_script=debug` and
//! never mixes into the host's own stdout (where `reflow call` prints its JSON).

use crate::call_state::plugin_log;
use std::any::Any;
use std::sync::Arc;
use wasi_common::file::FileType;
use wasi_common::{Error, WasiCtx, WasiFile};

struct LogPipe {
    actor: Arc<str>,
    stream: &'static str,
}

#[async_trait::async_trait]
impl WasiFile for LogPipe {
    fn as_any(&self) -> &dyn Any {
        self
    }

    async fn get_filetype(&self) -> Result<FileType, Error> {
        Ok(FileType::Pipe)
    }

    async fn write_vectored<'a>(&self, bufs: &[std::io::IoSlice<'a>]) -> Result<u64, Error> {
        let mut total = 0;
        let mut text = String::new();
        for buf in bufs {
            total += buf.len() as u64;
            text.push_str(&String::from_utf8_lossy(buf));
        }
        for line in text.lines().filter(|l| !l.is_empty()) {
            plugin_log(tracing::Level::DEBUG, &self.actor, &format!("{}: {line}", self.stream));
        }
        Ok(total)
    }
}

pub(super) fn route_to_tracing(wasi: &WasiCtx, actor: &Arc<str>) {
    wasi.set_stdout(Box::new(LogPipe { actor: actor.clone(), stream: "stdout" }));
    wasi.set_stderr(Box::new(LogPipe { actor: actor.clone(), stream: "stderr" }));
}
