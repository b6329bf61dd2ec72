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
//! - `reflow serve --inspect` keeps one [`Server`] for every run the editor starts
//!   ([`Server::watch`] per run, through [`reflow_protocol::RunWatcher`]); its pages follow
//!   from one run to the next.
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

use reflow_network::{Network, Observer, Probe, Reloader, RunReport};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The address `--inspect` listens on when given none: loopback, any free port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:0";

/// How long [`Inspector::finish`] waits for pages to be sent the end, at most (a page that
/// stopped reading must not keep the command from exiting).
const FINISH_GUARD: Duration = Duration::from_secs(5);

/// An inspector server: its listener, its token, and the run its pages watch.
pub struct Server {
    door: Arc<server::Door>,
    addr: SocketAddr,
}

impl Server {
    /// Listens on `addr`; `follow`: runs follow one another (`reflow serve`), and a page
    /// goes on to the next run when its run ends.
    pub fn start(addr: &str, allow: Allowlist, follow: bool) -> Result<Server, InspectError> {
        let listener = TcpListener::bind(addr).map_err(|source| InspectError::Bind { addr: addr.to_string(), source })?;
        let local = listener.local_addr().map_err(|source| InspectError::Bind { addr: addr.to_string(), source })?;
        let token = reflow_protocol::generate_secret().map_err(|e| InspectError::Token(e.to_string()))?;
        let door = Arc::new(server::Door::new(token, allow, follow));
        let accepting = door.clone();
        std::thread::Builder::new().name("reflow inspector".into()).spawn(move || server::accept(listener, accepting)).map_err(InspectError::Thread)?;
        Ok(Server { door, addr: local })
    }

    /// The page's address, token included (print it: whoever has it sees every message).
    pub fn url(&self) -> String {
        let host = match self.addr {
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            SocketAddr::V4(v4) => v4.ip().to_string(),
        };
        format!("http://{host}:{}/?token={}", self.addr.port(), self.door.token)
    }

    /// Shows `network`'s coming run to pages, from now on (a page watching an earlier run
    /// is sent its end first); `inner` is the observer the run would have without the
    /// inspector (it sees everything it would have seen).
    pub fn watch(&self, network: &Network, inner: Arc<dyn Observer>) -> Result<Watch, InspectError> {
        let graph = network.graph().clone();
        let tap = Arc::new(tap::Tap::new(graph.edges().count(), inner));
        let shared = Arc::new(server::Shared::new(self.door.run_id(), graph, network.state().cloned(), Probe::new(), tap));
        let sampling = shared.clone();
        let sampler = std::thread::Builder::new().name("reflow inspector sampler".into()).spawn(move || server::sample(&sampling)).map_err(InspectError::Thread)?;
        self.door.show(shared.clone());
        Ok(Watch { shared, sampler: Some(sampler) })
    }
}

/// One run as the inspector watches it: hand [`Watch::probe`] and [`Watch::observer`] to the
/// run, then [`Watch::finish`] when it ends.
pub struct Watch {
    shared: Arc<server::Shared>,
    sampler: Option<JoinHandle<()>>,
}

impl Watch {
    /// Where the run publishes its counters ([`reflow_network::RunOptions::probe`]).
    pub fn probe(&self) -> Arc<Probe> {
        self.shared.probe.clone()
    }

    /// The run's observer: the inner one, plus what the page shows.
    pub fn observer(&self) -> Arc<dyn Observer> {
        self.shared.tap.clone()
    }

    /// Shows the run's hot swaps ([`Network::hot_reload`]'s handle) on the swapped actors.
    pub fn show_swaps(&self, reloader: Reloader) {
        let _ = self.shared.swaps.set(reloader);
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

/// The inspector of one run of one network (`reflow run --inspect`): a [`Server`] that
/// watches that run only.
pub struct Inspector {
    server: Server,
    watch: Watch,
}

impl Inspector {
    /// Listens on `addr` for pages about `network`'s run; `inner` is the observer the run
    /// would have without the inspector (it sees everything it would have seen).
    pub fn start(addr: &str, allow: Allowlist, network: &Network, inner: Arc<dyn Observer>) -> Result<Inspector, InspectError> {
        let server = Server::start(addr, allow, false)?;
        let watch = server.watch(network, inner)?;
        Ok(Inspector { server, watch })
    }

    /// The page's address, token included (print it: whoever has it sees every message).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Where the run publishes its counters ([`reflow_network::RunOptions::probe`]).
    pub fn probe(&self) -> Arc<Probe> {
        self.watch.probe()
    }

    /// The run's observer: the inner one, plus what the page shows.
    pub fn observer(&self) -> Arc<dyn Observer> {
        self.watch.observer()
    }

    /// Shows the run's hot swaps on the swapped actors (see [`Watch::show_swaps`]).
    pub fn show_swaps(&self, reloader: Reloader) {
        self.watch.show_swaps(reloader);
    }

    /// Shows the run's end to every page (see [`Watch::finish`]).
    pub fn finish(&mut self, result: Result<&RunReport, &str>) {
        self.watch.finish(result);
    }
}

/// `reflow serve --inspect`: every network an editor starts is watched, one after another.
impl reflow_protocol::RunWatcher for Server {
    fn watch(&self, graph: &str, network: &Network, observer: Arc<dyn Observer>, swaps: Option<Reloader>) -> Option<Box<dyn reflow_protocol::WatchedRun>> {
        match Server::watch(self, network, observer) {
            Ok(watch) => {
                if let Some(reloader) = swaps {
                    watch.show_swaps(reloader);
                }
                Some(Box::new(watch))
            }
            Err(e) => {
                tracing::warn!("inspector: graph {graph} runs unwatched: {e}");
                None
            }
        }
    }
}

impl reflow_protocol::WatchedRun for Watch {
    fn probe(&self) -> Arc<Probe> {
        Watch::probe(self)
    }

    fn observer(&self) -> Arc<dyn Observer> {
        Watch::observer(self)
    }

    fn finish(mut self: Box<Self>, result: Result<&RunReport, &str>) {
        Watch::finish(&mut self, result);
    }
}
