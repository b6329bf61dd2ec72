//! The live web inspector behind `reflow run --inspect`: a page, served by the binary itself,
//! that draws the running graph and shows what moves through it (messages, rates and queue
//! fill per connection; calls, errors, dead letters, call times and restarts per actor; the
//! last messages of a connection; an actor's state, config and errors; the run's end).
//!
//! # Brief overview
//!
//! - [`Inspector::start`] listens (loopback unless told otherwise), makes an unguessable
//!   token and returns; [`Inspector::url`] is the address to open, token included.
//! - The run is given [`Inspector::probe`] ([`RunOptions::probe`]: the scheduler's live
//!   counters) and [`Inspector::observer`] (which keeps the last messages of each connection
//!   while a page watches, and each actor's recent errors, beside the caller's own observer),
//!   with [`RunOptions::observe_edges`] on.
//! - [`Inspector::finish`] shows the run's end, with its final table, to every page.
//!
//! Pages get updates pushed as server-sent events ([`server`] says when, `view` says what);
//! nothing is sampled while no page watches. Every asset is compiled into the binary
//! (`assets/`: plain JavaScript and SVG, no framework, no CDN).
//!
//! # Who gets in
//!
//! The page shows every message a graph sends, so it is guarded like `reflow serve`'s
//! protocol, by the same rules ([`reflow_protocol::access`]): the `Host` header must be a
//! loopback name, an IP address or an allowed host (DNS rebinding), an `Origin`, when sent,
//! must be a loopback page or an allowed origin (another site's page in the same browser),
//! and every request for data must carry the token (compared in constant time). Responses
//! forbid framing, caching and referrers (the token is in the URL).
//!
//! [`RunOptions::probe`]: reflow_network::RunOptions::probe
//! [`RunOptions::observe_edges`]: reflow_network::RunOptions::observe_edges

pub mod error;
mod http;
pub mod server;
mod tap;
mod view;

pub use error::InspectError;
pub use reflow_protocol::access::Allowlist;

use reflow_network::{Network, Observer, Probe, RunReport};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The address `--inspect` listens on when given none: loopback, any free port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:0";

/// How long [`Inspector::finish`] waits for pages to be sent the end, at most (a page that
/// stopped reading must not keep the command from exiting).
const FINISH_GUARD: Duration = Duration::from_secs(5);

/// A running inspector for one run of one network.
pub struct Inspector {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    sampler: Option<JoinHandle<()>>,
}

impl Inspector {
    /// Listens on `addr` for pages about `network`'s run; `inner` is the observer the run
    /// would have without the inspector (it sees everything it would have seen).
    pub fn start(addr: &str, allow: Allowlist, network: &Network, inner: Arc<dyn Observer>) -> Result<Inspector, InspectError> {
        let listener = TcpListener::bind(addr).map_err(|source| InspectError::Bind { addr: addr.to_string(), source })?;
        let local = listener.local_addr().map_err(|source| InspectError::Bind { addr: addr.to_string(), source })?;
        let token = reflow_protocol::generate_secret().map_err(|e| InspectError::Token(e.to_string()))?;
        let graph = network.graph().clone();
        let tap = Arc::new(tap::Tap::new(graph.edges().count(), inner));
        let shared = Arc::new(server::Shared::new(token, allow, graph, network.state().cloned(), Probe::new(), tap));
        let accepting = shared.clone();
        std::thread::Builder::new().name("reflow inspector".into()).spawn(move || server::accept(listener, accepting)).map_err(InspectError::Thread)?;
        let sampling = shared.clone();
        let sampler = std::thread::Builder::new().name("reflow inspector sampler".into()).spawn(move || server::sample(&sampling)).map_err(InspectError::Thread)?;
        Ok(Inspector { shared, addr: local, sampler: Some(sampler) })
    }

    /// The page's address, token included (print it: whoever has it sees every message).
    pub fn url(&self) -> String {
        let host = match self.addr {
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            SocketAddr::V4(v4) => v4.ip().to_string(),
        };
        format!("http://{host}:{}/?token={}", self.addr.port(), self.shared.token)
    }

    /// Where the run publishes its counters ([`reflow_network::RunOptions::probe`]).
    pub fn probe(&self) -> Arc<Probe> {
        self.shared.probe.clone()
    }

    /// The run's observer: the inner one, plus what the page shows.
    pub fn observer(&self) -> Arc<dyn Observer> {
        self.shared.tap.clone()
    }

    /// Shows the run's end (its report, or why it could not run) to every page, and to pages
    /// opened later; returns once open pages have been sent it.
    pub fn finish(&mut self, result: Result<&RunReport, &str>) {
        self.shared.finish(view::end(result), FINISH_GUARD);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}
