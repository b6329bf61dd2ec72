//! The inspector's server: an accept loop, one thread per request (a page makes few), the
//! access checks before anything else ([`Door`]), and each run's event streams fed by one
//! sampler thread of that run ([`Shared`]).
//!
//! A page watches the server's current run: the only one under `reflow run`, the one the
//! editor started last under `reflow serve` ([`Door::follow`]: there a page whose run ended
//! asks for the next one, `/events?after=RUN`, and waits for it).
//!
//! The sampler runs only while a page watches: it waits without a timeout while none does,
//! so an unwatched run pays nothing here. While one does, it reads the probe every [`TICK`]
//! and pushes the counters to every page, with the details of what each page selected.

use crate::http::{self, Request};
use crate::tap::Tap;
use crate::view;
use reflow_network::scheduler::LiveRun;
use reflow_network::{Graph, Probe, Reloader, StateBinding};
use reflow_protocol::access::{secret_matches, Allowlist};
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often a watching page gets the counters.
pub const TICK: Duration = Duration::from_millis(250);
/// Events queued for a page before it misses ticks (a page that stopped reading).
const PAGE_QUEUE: usize = 64;

const PAGE: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/inspector.js");
const STYLE: &str = include_str!("../assets/inspector.css");

/// What a page selected: its details come with every tick.
#[derive(Clone, Debug, PartialEq)]
enum Selection {
    None,
    Edge(usize),
    Actor(String),
}

struct Viewer {
    id: u64,
    tx: SyncSender<(&'static str, String)>,
    selection: Selection,
    /// What the last details sent were made from; equal: nothing new to send.
    sent_key: Option<(Selection, u64)>,
}

#[derive(Default)]
struct Phase {
    live: Option<Arc<LiveRun>>,
    /// The `end` event, once the run ended.
    end: Option<String>,
    last_tick: Option<String>,
    viewers: Vec<Viewer>,
    /// Event streams still writing (the end waits for them).
    streams: usize,
}

/// Who gets in, and which run a page watches.
pub struct Door {
    /// The secret every request must carry (the URL's `token`).
    pub token: String,
    /// The origins and hosts a page may come from.
    pub allow: Allowlist,
    /// Whether runs follow one another on this server (`reflow serve`): pages are told, and
    /// ask for the next run when theirs ends.
    pub follow: bool,
    current: Mutex<Option<Arc<Shared>>>,
    changed: Condvar,
    /// Viewer ids, unique across runs (a page's `select` names its viewer).
    next_viewer: AtomicU64,
    next_run: AtomicU64,
}

impl Door {
    /// A door with no run to show yet.
    pub fn new(token: String, allow: Allowlist, follow: bool) -> Door {
        Door { token, allow, follow, current: Mutex::default(), changed: Condvar::new(), next_viewer: AtomicU64::new(1), next_run: AtomicU64::new(1) }
    }

    /// A number for the next run (runs are numbered in the order they start).
    pub fn run_id(&self) -> u64 {
        self.next_run.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes `run` the one new pages watch.
    pub fn show(&self, run: Arc<Shared>) {
        *lock(&self.current) = Some(run);
        self.changed.notify_all();
    }

    fn current(&self) -> Option<Arc<Shared>> {
        lock(&self.current).clone()
    }

    /// The current run, once there is one numbered above `after`.
    fn run_after(&self, after: u64) -> Arc<Shared> {
        let mut current = lock(&self.current);
        loop {
            match &*current {
                Some(run) if run.id > after => return run.clone(),
                _ => current = self.changed.wait(current).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

/// One run as its pages see it.
pub struct Shared {
    /// The run's number ([`Door::run_id`]).
    pub id: u64,
    /// The graph being run, which pages draw.
    pub graph: Graph,
    /// Where its actors' state is kept, when it has a store.
    pub state: Option<StateBinding>,
    /// The scheduler's live counters for this run.
    pub probe: Arc<Probe>,
    /// The last messages of each connection and each actor's recent errors, for the page.
    pub tap: Arc<Tap>,
    /// The run's hot swaps, when it has them (`reflow run --watch`).
    pub swaps: OnceLock<Reloader>,
    phase: Mutex<Phase>,
    changed: Condvar,
    since: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// A run that has started, with no page watching yet.
    pub fn new(id: u64, graph: Graph, state: Option<StateBinding>, probe: Arc<Probe>, tap: Arc<Tap>) -> Shared {
        Shared { id, graph, state, probe, tap, swaps: OnceLock::new(), phase: Mutex::default(), changed: Condvar::new(), since: Instant::now() }
    }

    /// Records the run's end and tells every page; waits (at most `guard`) until each has
    /// been written its last events.
    pub fn finish(&self, end: Value, guard: Duration) {
        let mut phase = lock(&self.phase);
        phase.end = Some(end.to_string());
        self.changed.notify_all();
        let _ = self.changed.wait_timeout_while(phase, guard, |p| !p.viewers.is_empty() || p.streams > 0);
    }
}

/// Serves every connection of `listener`, each on a thread of its own, for as long as the
/// process runs (a failed accept is logged and the next one awaited).
pub fn accept(listener: TcpListener, door: Arc<Door>) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let door = door.clone();
                let spawned = std::thread::Builder::new().name("reflow inspector request".into()).spawn(move || request(stream, &door));
                if let Err(e) = spawned {
                    tracing::warn!("inspector: cannot start a thread for a request: {e}");
                }
            }
            Err(e) => tracing::debug!("inspector: accepting a connection: {e}"),
        }
    }
}

fn request(mut stream: TcpStream, door: &Door) {
    let request = match http::read_request(&mut stream) {
        Ok(request) => request,
        Err(reason) => {
            http::respond(&mut stream, "400 Bad Request", "text/plain", format!("{reason}\n").as_bytes());
            return;
        }
    };
    // Host and Origin first (DNS rebinding, another site's page), then the token.
    if let Err(reason) = door.allow.check(request.origin.as_deref(), request.host.as_deref()) {
        tracing::warn!("inspector: refused a request: {reason}");
        http::respond(&mut stream, "403 Forbidden", "text/plain", format!("{reason}\n").as_bytes());
        return;
    }
    match (request.method.as_str(), request.path.as_str()) {
        // The page's code is not secret: served without the token (the page has it).
        ("GET", "/inspector.js") => return http::respond(&mut stream, "200 OK", "text/javascript; charset=utf-8", SCRIPT.as_bytes()),
        ("GET", "/inspector.css") => return http::respond(&mut stream, "200 OK", "text/css; charset=utf-8", STYLE.as_bytes()),
        // Browsers ask for one on their own, without the token.
        ("GET", "/favicon.ico") => return http::respond(&mut stream, "404 Not Found", "text/plain", b""),
        _ => {}
    }
    if !secret_matches(&door.token, request.param("token")) {
        http::respond(&mut stream, "403 Forbidden", "text/plain", b"this inspector needs the token printed when it started (?token=...)\n");
        return;
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/") => http::respond(&mut stream, "200 OK", "text/html; charset=utf-8", PAGE.as_bytes()),
        ("GET", "/events") => match request.param("after").map(str::parse::<u64>) {
            None => events(stream, door, 0),
            Some(Ok(after)) => events(stream, door, after),
            Some(Err(_)) => http::respond(&mut stream, "400 Bad Request", "text/plain", b"`after` must be a run's number\n"),
        },
        ("POST", "/select") => match door.current().ok_or_else(|| "no run yet".to_string()).and_then(|run| select(&run, &request)) {
            Ok(()) => http::respond(&mut stream, "204 No Content", "text/plain", b""),
            Err(reason) => http::respond(&mut stream, "400 Bad Request", "text/plain", format!("{reason}\n").as_bytes()),
        },
        _ => http::respond(&mut stream, "404 Not Found", "text/plain", b"no such page\n"),
    }
}

fn select(shared: &Shared, request: &Request) -> Result<(), String> {
    let viewer: u64 = request.param("viewer").and_then(|v| v.parse().ok()).ok_or("`viewer` must be the id the event stream gave")?;
    let selection = match (request.param("edge"), request.param("actor")) {
        (Some(edge), None) => Selection::Edge(edge.parse().map_err(|_| format!("edge {edge:?} is not a number"))?),
        (None, Some(actor)) => {
            shared.graph.process(actor).ok_or_else(|| format!("no process {actor:?} in the graph"))?;
            Selection::Actor(actor.to_string())
        }
        (None, None) => Selection::None,
        (Some(_), Some(_)) => return Err("select an edge or an actor, not both".into()),
    };
    if let Selection::Edge(edge) = selection {
        if edge >= shared.graph.edges().count() {
            return Err(format!("no edge {edge}"));
        }
    }
    let mut phase = lock(&shared.phase);
    let found = phase.viewers.iter_mut().find(|v| v.id == viewer).ok_or("no such viewer (its event stream ended)")?;
    found.selection = selection;
    found.sent_key = None;
    shared.changed.notify_all();
    Ok(())
}

/// One page's event stream: `hello` (the graph, the viewer's id, the run's number), then
/// `tick`s, `detail`s and `swap`s, then `end`. Under a server that follows runs, a stream
/// waits for a run numbered above `after` (none yet: it waits for the first).
fn events(mut stream: TcpStream, door: &Door, after: u64) {
    if http::start_events(&mut stream).is_err() {
        return;
    }
    let shared = &*door.run_after(after);
    let (tx, rx) = sync_channel(PAGE_QUEUE);
    let id = door.next_viewer.fetch_add(1, Ordering::Relaxed);
    let (live, ended) = {
        let mut phase = lock(&shared.phase);
        phase.streams += 1;
        while phase.live.is_none() && phase.end.is_none() {
            phase = shared.changed.wait(phase).unwrap_or_else(|p| p.into_inner());
        }
        let ended = phase.end.clone().map(|end| (phase.last_tick.clone(), end));
        if ended.is_none() {
            phase.viewers.push(Viewer { id, tx, selection: Selection::None, sent_key: None });
            shared.tap.watch();
            shared.changed.notify_all();
        }
        (phase.live.clone(), ended)
    };
    let hello = serde_json::json!({"viewer": id, "run": shared.id, "follow": door.follow, "graph": view::graph(&shared.graph, live.as_deref(), shared.state.is_some())});
    let mut ok = http::event(&mut stream, "hello", &hello.to_string()).is_ok();
    if let Some((tick, end)) = ended {
        if let Some(tick) = tick.filter(|_| ok) {
            ok = http::event(&mut stream, "tick", &tick).is_ok();
        }
        if ok {
            let _ = http::event(&mut stream, "end", &end);
        }
    } else {
        write_events(&mut stream, rx);
        let mut phase = lock(&shared.phase);
        if phase.viewers.iter().any(|v| v.id == id) {
            phase.viewers.retain(|v| v.id != id);
            shared.tap.unwatch();
        }
    }
    let mut phase = lock(&shared.phase);
    phase.streams -= 1;
    shared.changed.notify_all();
}

fn write_events(stream: &mut TcpStream, rx: Receiver<(&'static str, String)>) {
    // Ends when the sampler drops the sender (the run's end) or the page goes.
    while let Ok((kind, json)) = rx.recv() {
        if http::event(stream, kind, &json).is_err() {
            return;
        }
    }
}

/// The sampler (see the module docs). Returns once the run has ended and every page has been
/// sent the end.
pub fn sample(shared: &Shared) {
    // The run attaches its counters once its actors exist (plugins compiled and started).
    loop {
        if let Some(live) = shared.probe.wait_live(TICK) {
            lock(&shared.phase).live = Some(live);
            shared.changed.notify_all();
            break;
        }
        if lock(&shared.phase).end.is_some() {
            shared.changed.notify_all();
            return;
        }
    }
    let live = lock(&shared.phase).live.clone().expect("set above");
    let mut swaps = Swaps { seen: 0, versions: vec![1; live.actors.len()] };
    let mut phase = lock(&shared.phase);
    loop {
        while phase.viewers.is_empty() && phase.end.is_none() {
            phase = shared.changed.wait(phase).unwrap_or_else(|p| p.into_inner());
        }
        let end = phase.end.clone();
        drop(phase);
        let swapped = swaps.new_ones(shared.swaps.get(), &live);
        let tick = view::tick(&live, &live.sample(), &swaps.versions, shared.since.elapsed().as_secs_f64()).to_string();
        phase = lock(&shared.phase);
        phase.last_tick = Some(tick.clone());
        let errors = shared.tap.error_count();
        let mut gone = Vec::new();
        for viewer in &mut phase.viewers {
            let mut events: Vec<(&'static str, String)> = swapped.iter().map(|s| ("swap", s.clone())).collect();
            events.push(("tick", tick.clone()));
            if let Some(detail) = detail(shared, &live, viewer, errors) {
                events.push(("detail", detail));
            }
            if let Some(end) = &end {
                events.push(("end", end.clone()));
            }
            for event in events {
                match viewer.tx.try_send(event) {
                    // A page that does not read misses this tick; the next one has it all.
                    Ok(()) | Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => gone.push(viewer.id),
                }
            }
        }
        if end.is_some() {
            // Dropping the senders ends every stream once it has written what it holds.
            for _ in phase.viewers.drain(..) {
                shared.tap.unwatch();
            }
            shared.changed.notify_all();
            return;
        }
        for id in gone {
            phase.viewers.retain(|v| v.id != id);
            shared.tap.unwatch();
        }
        phase = shared.changed.wait_timeout(phase, TICK).unwrap_or_else(|p| p.into_inner()).0;
    }
}

/// The swaps the sampler has told pages about, and each actor's plugin version.
struct Swaps {
    seen: usize,
    /// Per actor (as [`LiveRun::actors`]): 1 until its first swap.
    versions: Vec<u64>,
}

impl Swaps {
    /// The `swap` events since the last tick (one atomic load when there are none).
    fn new_ones(&mut self, reloader: Option<&Reloader>, live: &LiveRun) -> Vec<String> {
        let Some(reloader) = reloader.filter(|r| r.swap_count() as usize != self.seen) else { return Vec::new() };
        let all = reloader.swaps();
        let fresh = all.get(self.seen..).unwrap_or_default();
        self.seen = all.len();
        fresh
            .iter()
            .map(|swap| {
                if let Some(i) = live.actors.iter().position(|a| a.name == swap.process) {
                    self.versions[i] = swap.version;
                }
                view::swap(swap).to_string()
            })
            .collect()
    }
}

/// The details of what `viewer` selected, if anything changed since it was last sent them.
fn detail(shared: &Shared, live: &LiveRun, viewer: &mut Viewer, errors: u64) -> Option<String> {
    let (key, detail) = match &viewer.selection {
        Selection::None => return None,
        Selection::Edge(route) => {
            let (pushed, messages) = shared.tap.messages(*route);
            let sent = live.sent(*route);
            ((viewer.selection.clone(), pushed), view::edge_detail(*route, &messages, sent))
        }
        Selection::Actor(name) => {
            let calls = live.actors.iter().position(|a| &a.name == name).map_or(0, |i| live.calls(i));
            // New calls may have changed its state; new errors may be its.
            let version = calls.wrapping_mul(1 << 20).wrapping_add(errors);
            let swaps: Vec<_> = shared.swaps.get().map(|r| r.swaps().into_iter().filter(|s| &s.process == name).collect()).unwrap_or_default();
            let version = version.wrapping_add(swaps.len() as u64);
            ((viewer.selection.clone(), version), view::actor_detail(&shared.graph, shared.state.as_ref(), &shared.tap, name, &swaps))
        }
    };
    if viewer.sent_key.as_ref() == Some(&key) {
        return None;
    }
    viewer.sent_key = Some(key);
    Some(detail.to_string())
}
