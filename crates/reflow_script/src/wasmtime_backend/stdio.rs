//! A WASI plugin's stdout and stderr become `tracing` events (target `reflow_script::plugin`,
//! debug level), so `println!` in a plugin shows with `RUST_LOG=reflow_script=debug` and
//! never mixes into the host's own stdout (where `reflow call` prints its JSON). Each line
//! counts against the call's log budget, shared with the Extism log functions: a plugin
//! printing without end is cut at the output limit as one logging without end is.

use crate::call_state::LogBudget;
use std::any::Any;
use std::sync::{Arc, Mutex};
use wasi_common::file::FileType;
use wasi_common::{Error, WasiCtx, WasiFile};

struct LogPipe {
    actor: Arc<str>,
    stream: &'static str,
    budget: Arc<Mutex<LogBudget>>,
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
        let mut budget = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        for line in text.lines().filter(|l| !l.is_empty()) {
            budget.log(&self.actor, tracing::Level::DEBUG, &format!("{}: {line}", self.stream));
        }
        Ok(total)
    }
}

pub(super) fn route_to_tracing(wasi: &WasiCtx, actor: &Arc<str>, budget: &Arc<Mutex<LogBudget>>) {
    wasi.set_stdout(Box::new(LogPipe { actor: actor.clone(), stream: "stdout", budget: budget.clone() }));
    wasi.set_stderr(Box::new(LogPipe { actor: actor.clone(), stream: "stderr", budget: budget.clone() }));
}
