//! A real `nats-server` with JetStream for tests: started on a loopback port the server picks
//! itself (`-p -1`, so two tests never race for a port), with its store in a temporary folder,
//! and killed when the handle drops. No mock: the NATS backend and the cluster are tested
//! against the engine they run on in production.
//!
//! The binary is the one `cargo xtask nats` (and `cargo xtask test`) installs into
//! `target/tools/nats/`, or `$REFLOW_NATS_SERVER`. A missing binary fails the test with the
//! command that installs it: a test that needs the server never skips silently.
//!
//! Readiness is read from the server's own log ("Server is ready", after JetStream is up),
//! never guessed with a sleep.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to start before the helper gives up. A hang guard only: a
/// healthy server is ready in well under a second.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// A running server; dropping it kills the process (and its store folder, if it made one).
pub struct NatsServer {
    child: Child,
    port: u16,
    store: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// A fresh server with an empty JetStream store. Panics (this is a test helper) with the
    /// reason and the server's log when it cannot start.
    pub fn start() -> NatsServer {
        let dir = tempfile::tempdir().expect("cannot create a temporary folder for nats-server");
        let store = dir.path().to_path_buf();
        let mut server = Self::start_on(&store, None).unwrap_or_else(|e| panic!("{e}"));
        server._tempdir = Some(dir);
        server
    }

    /// A server on `store` (kept after it stops) and `port` (`None`: one the server picks).
    /// Starting a second server on the store and port of one that stopped brings "the same"
    /// server back, with its streams and buckets.
    pub fn start_on(store: &Path, port: Option<u16>) -> Result<NatsServer, String> {
        let binary = binary()?;
        let port_arg = port.map_or("-1".to_string(), |p| p.to_string());
        let mut child = Command::new(&binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
            .arg(store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines, received) = mpsc::channel();
        // Reads the log for ever (so the pipe never fills), handing each line to the waiter
        // until it hangs up.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("REFLOW_NATS_LOG").is_some() {
                    eprintln!("nats-server: {line}");
                }
                let _ = lines.send(line);
            }
        });
        let mut log = Vec::new();
        let mut listening = None;
        loop {
            match received.recv_timeout(READY_DEADLINE) {
                Ok(line) => {
                    if let Some(address) = line.split("Listening for client connections on ").nth(1) {
                        listening = address.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                    }
                    let ready = line.contains("Server is ready");
                    log.push(line);
                    if ready {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    return Err(format!(
                        "nats-server did not say it was ready within {READY_DEADLINE:?} (hang guard); its log:\n{}",
                        log.join("\n")
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(format!("nats-server exited before it was ready ({status}); its log:\n{}", log.join("\n")));
                }
            }
        }
        let Some(port) = listening else {
            let _ = child.kill();
            return Err(format!("nats-server is ready but its log names no client port:\n{}", log.join("\n")));
        };
        Ok(NatsServer { child, port, store: store.to_path_buf(), _tempdir: None })
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The loopback port the server listens on (chosen by the server at the first start, kept
    /// across [`NatsServer::restart`]), for tests that reach it without a URL.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store folder.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// Kills the server (SIGKILL) and waits for it; its store folder stays until the handle
    /// drops, so [`NatsServer::restart`] can bring it back.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts it again on the same port and store (clients that
    /// reconnect find their streams and buckets again).
    pub fn restart(&mut self) {
        self.kill();
        let next = Self::start_on(&self.store, Some(self.port)).unwrap_or_else(|e| panic!("{e}"));
        let old = std::mem::replace(self, next);
        self._tempdir = old.into_tempdir();
    }

    fn into_tempdir(mut self) -> Option<tempfile::TempDir> {
        self._tempdir.take()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `$REFLOW_NATS_SERVER`, else the server `cargo xtask nats` installs under the workspace's
/// `target/tools/nats/`.
pub fn binary() -> Result<PathBuf, String> {
    let binary = match std::env::var_os("REFLOW_NATS_SERVER") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/nats/nats-server"),
    };
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "{}: no nats-server here; `cargo xtask nats` installs the pinned one (`cargo xtask test` does too)",
            binary.display()
        ))
    }
}
