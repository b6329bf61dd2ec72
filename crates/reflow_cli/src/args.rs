//! The command line, as flat values. `main.rs` turns them into library configs.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "reflow", version, about = "Run WebAssembly plugins as actors in flow-based programs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Print a plugin's metadata (ports, description) as JSON.
    Inspect(InspectArgs),
    /// Run one `process` call of a plugin and print what it returned and sent, as JSON.
    Call(CallArgs),
    /// Run a graph until every source is exhausted and every queue drained.
    ///
    /// Plugin actors' state persists between runs in `.reflow/state/` beside the graph file
    /// (`--state-dir` to move it, `--ephemeral` to keep none; `reflow state` inspects it).
    Run(RunArgs),
    /// Check a graph (components, ports, required inports, cycles) without running it.
    Validate(ValidateArgs),
    /// Inspect, back up, restore or reset the actor state a graph keeps between runs.
    #[command(subcommand)]
    State(StateCommand),
    /// Write a new plugin project (source, build file, README, a graph that uses it).
    New(NewArgs),
    /// Build the plugin project in DIR for WebAssembly and print the .wasm path.
    Build(BuildArgs),
    /// Convert a graph between FBP JSON and the .fbp text language.
    Convert(ConvertArgs),
    /// Serve the FBP network protocol over WebSocket, so visual editors (Flowhub, noflo-ui)
    /// can build and run graphs live.
    Serve(ServeArgs),
    /// Print or export a recording made by `reflow run --record`.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Run a recorded actor's calls again (its recorded payloads, state and clock and random
    /// reads) on its plugin or a new version, and report every call that answers differently.
    /// Exits 1 when any call differs.
    Replay(ReplayArgs),
    /// Join a cluster of workers on NATS JetStream and run the parts of the graphs submitted
    /// to it (`reflow run GRAPH --nats URL`), until Ctrl-C (docs/cluster.md).
    Worker(WorkerArgs),
    /// See a cluster: its workers, which actor runs where, how far behind each edge is.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The NATS server (with JetStream), `nats://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    pub nats: String,
    /// This worker's name, unique in the cluster (what `metadata.worker` pins to)
    /// [default: HOST-PID].
    #[arg(long)]
    pub name: Option<String>,
    /// How long this worker's key and its leases live without renewal (a number with `ms`
    /// or `s`): a killed worker's actors are taken over after about this long.
    #[arg(long, default_value = "6s", value_parser = parse_interval)]
    pub lease_ttl: std::time::Duration,
    /// How often each part this worker runs is checkpointed.
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub checkpoint_interval: std::time::Duration,
}

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// The live workers, which actor runs on which worker, and each cross-worker edge's lag.
    Status {
        /// The NATS server, `nats://HOST:PORT`.
        #[arg(long, value_name = "URL")]
        nats: String,
    },
}

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Print a recording, one line per record, in sequence order.
    Show(TraceShowArgs),
    /// Write a recording in another format.
    Export(TraceExportArgs),
}

#[derive(Args)]
pub struct TraceShowArgs {
    /// The recording.
    pub file: PathBuf,
    /// Only this process's calls and the messages into and out of it.
    #[arg(long)]
    pub process: Option<String>,
    /// Only messages on this connection: `FROM.OUTPORT->TO.INPORT`, or one end of it
    /// (`FROM.OUTPORT` or `TO.INPORT`). Repeatable.
    #[arg(long)]
    pub edge: Vec<String>,
}

#[derive(Args)]
pub struct TraceExportArgs {
    /// The recording.
    pub file: PathBuf,
    /// As the FBP flowtrace JSON that `reflow serve`'s trace:dump returns.
    #[arg(long, required = true)]
    pub flowtrace: bool,
    /// Write here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The recording (`reflow run --record`).
    pub file: PathBuf,
    /// The process to replay; without it, every recorded plugin process.
    #[arg(long)]
    pub process: Option<String>,
    /// Replay on this plugin instead of the recorded one (a new version); needs --process.
    #[arg(long, requires = "process")]
    pub plugin: Option<PathBuf>,
    #[command(flatten)]
    pub limits: ReplayLimitArgs,
}

/// A replay runs under the limits each actor was recorded with; these replace one of them.
#[derive(Args, Clone)]
pub struct ReplayLimitArgs {
    /// Wall-clock limit of one call, in milliseconds [default: as recorded].
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Linear memory limit, in 64 KiB pages [default: as recorded].
    #[arg(long)]
    pub max_memory_pages: Option<u32>,
    /// Bytes one call may return (and, separately, send and store) [default: as recorded].
    #[arg(long)]
    pub max_output_bytes: Option<u64>,
    /// CPU fuel one call may burn [default: as recorded].
    #[arg(long)]
    pub fuel: Option<u64>,
}

impl ReplayLimitArgs {
    /// `recorded` with the limits given here in place of theirs.
    pub fn over(&self, recorded: reflow_script::Limits) -> reflow_script::Limits {
        reflow_script::Limits {
            max_memory_pages: self.max_memory_pages.unwrap_or(recorded.max_memory_pages),
            call_timeout: self.timeout_ms.map_or(recorded.call_timeout, std::time::Duration::from_millis),
            max_output_bytes: self.max_output_bytes.unwrap_or(recorded.max_output_bytes),
            fuel: self.fuel.or(recorded.fuel),
        }
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; loopback by default, because a client can run any component.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the line printed says which).
    #[arg(long, default_value_t = 3569)]
    pub port: u16,
    /// The secret every message must carry (clients send it as `secret`). Without it and
    /// --secret-file, one is generated and printed. A command-line value is visible to other
    /// users in `ps`: prefer the environment variable or a file.
    #[arg(long, env = "REFLOW_SERVE_SECRET", hide_env_values = true, conflicts_with = "secret_file")]
    pub secret: Option<String>,
    /// Read the secret from this file (its first line).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Folder of `.wasm` plugins offered as components, named by their path relative to it;
    /// graphs built over the protocol resolve plugin paths against it. Without it: built-ins only.
    #[arg(long)]
    pub components: Option<PathBuf>,
    /// Also accept browser pages from this origin (loopback pages are always accepted), e.g.
    /// https://app.flowhub.io. Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Also accept this name in the Host header (IP addresses and localhost always are), for
    /// clients that reach a non-loopback --host by name. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// A grant a node's metadata.sandbox.grants may ask for (what it covers: a directory
    /// inside it, a host it matches). Default: none. Repeatable.
    #[arg(long, value_name = "GRANT")]
    pub allow_grant: Vec<String>,
    /// The highest value a node's metadata.sandbox may set for a limit (max_memory_pages,
    /// timeout_ms, max_output_bytes, fuel); otherwise a node may only tighten the limits
    /// below. Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub allow_limit: Vec<String>,
    /// Let graphs use reflow/ReadJsonLines and reflow/WriteJsonLines, on files inside this
    /// folder only. Default: they cannot be used.
    #[arg(long, value_name = "DIR")]
    pub allow_files: Option<PathBuf>,
    /// Let clients save graphs with network:persist: each graph is written as FBP JSON
    /// (`ID.json`) into the --components folder, where `reflow run` runs it. Default: graphs
    /// are kept in memory only.
    #[arg(long)]
    pub allow_persist: bool,
    /// Let clients send component code (component:source): it is built, as `reflow build`
    /// builds a project, in --components/.reflow/build/, into --components, and swapped into
    /// running actors of that component. This runs a compiler and the build scripts of the
    /// code's dependencies with this server's authority. Default: refused. Rust and Go.
    #[arg(long)]
    pub allow_build: bool,
    /// The longest one --allow-build build may run, in seconds; the compiler is then stopped.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub build_timeout_secs: u64,
    /// A checkout of this repository for --allow-build's projects to take the SDK from
    /// (reflow_wasm, sdk/go; as `reflow new --sdk-path`); default: crates.io, the Go proxy.
    #[arg(long, value_name = "DIR")]
    pub sdk_path: Option<PathBuf>,
    /// The largest message a client may send, in bytes.
    #[arg(long, default_value_t = reflow_protocol::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Also serve the live web inspector (the page of `reflow run --inspect`) over HTTP at
    /// ADDR [default: 127.0.0.1 on a free port], showing the network a client started last;
    /// its address, with the token that opens it, is printed on stdout. The same
    /// --allow-origin and --allow-host apply.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = reflow_inspect::DEFAULT_ADDR, value_parser = inspect_addr)]
    pub inspect: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args)]
pub struct RunArgs {
    /// The graph file (FBP JSON, or the .fbp text language).
    pub graph: PathBuf,
    /// Capacity of each actor's input queue (and of each inport queue of an actor with
    /// required inports), in messages: 1 to 1048576.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=reflow_network::scheduler::MAX_QUEUE_CAPACITY as u64))]
    pub queue_capacity: u64,
    /// Capacity of each queue in bytes of (estimated) JSON; a single larger message still
    /// passes through an empty queue. Default: 16 MiB.
    #[arg(long, default_value_t = reflow_network::scheduler::DEFAULT_QUEUE_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..=1 << 40))]
    pub queue_bytes: u64,
    /// Worker threads that run the actors [default: one per core].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: Option<u64>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep actor state in memory only: start from empty state, store nothing.
    #[arg(long, conflicts_with = "state_dir")]
    pub ephemeral: bool,
    /// How often the whole graph is checkpointed to its state store (a number with `ms` or
    /// `s`: 250ms, 2s); a killed run resumes from its last checkpoint.
    #[arg(long, default_value = "1s", value_parser = parse_interval, conflicts_with = "ephemeral")]
    pub checkpoint_interval: std::time::Duration,
    /// The engine every plugin runs on: `wasmtime` (ours, the default) or `extism` (the
    /// extism crate, the reference).
    #[arg(long, default_value = "wasmtime")]
    pub engine: reflow_script::Backend,
    /// Serve a live web page of the run at ADDR [default: 127.0.0.1 on a free port]; its
    /// address, with the token that opens it, is printed on stderr. After the run it stays
    /// until Ctrl-C.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = reflow_inspect::DEFAULT_ADDR, value_parser = inspect_addr)]
    pub inspect: Option<String>,
    /// Record every message on every connection and every plugin call into FILE (for
    /// `reflow trace` and `reflow replay`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Swap a plugin whose .wasm changes on disk into its running actors, state kept.
    #[arg(long)]
    pub watch: bool,
    /// Run the graph on the cluster of workers at this NATS server (`reflow worker`) instead
    /// of in this process; waits until it has ended there.
    #[arg(long, value_name = "URL", conflicts_with_all = ["ephemeral", "inspect", "record", "watch", "state_dir"])]
    pub nats: Option<String>,
}

/// `250ms`, `2s`, `1.5s`: a checkpoint interval, from 1 ms to a day.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 0.001),
        None => (text.strip_suffix('s').ok_or_else(|| format!("{text:?}: give a unit, `ms` or `s` (250ms, 2s)"))?, 1.0),
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("{text:?} is not a number of ms or s"))?;
    let seconds = value * unit;
    if !(0.001..=86_400.0).contains(&seconds) {
        return Err(format!("{text:?}: the interval must be between 1ms and 86400s"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// `HOST:PORT` (an IP address or a name, and a port), so that `--inspect graph.json` is an
/// error rather than an address.
fn inspect_addr(text: &str) -> Result<String, String> {
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(text.to_string()),
        _ => Err(format!("{text:?} is not HOST:PORT (such as 127.0.0.1:8080; port 0 picks a free one)")),
    }
}

/// Where actor state is stored (docs/state.md).
#[derive(Args, Clone)]
pub struct StateDirArgs {
    /// The state directory [default: .reflow/state in the graph file's folder].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The store of a command that commits state (`run`, `state import`).
#[derive(Args, Clone)]
pub struct StoreArgs {
    #[command(flatten)]
    pub dir: StateDirArgs,
    /// The largest state one actor may commit, in bytes of JSON.
    #[arg(long, default_value_t = reflow_state::DEFAULT_MAX_STATE_BYTES)]
    pub max_state_bytes: usize,
}

#[derive(Subcommand)]
pub enum StateCommand {
    /// Print each actor's stored state, one line per process.
    Show(StateArgs),
    /// Write the graph's state as JSON (to stdout, or --output FILE).
    Export {
        #[command(flatten)]
        state: StateArgs,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Replace the graph's whole state with an export (FILE, or - for stdin).
    Import {
        /// The graph file; its state is stored under its file name without extension.
        graph: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
        /// The export to read.
        file: PathBuf,
    },
    /// Forget the graph's state (or one process's, with --process).
    Clear {
        #[command(flatten)]
        state: StateArgs,
        /// Only this process.
        #[arg(long)]
        process: Option<String>,
    },
}

#[derive(Args)]
pub struct StateArgs {
    /// The graph file (FBP JSON); its state is stored under its file name without extension.
    pub graph: PathBuf,
    #[command(flatten)]
    pub dir: StateDirArgs,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The graph file (FBP JSON, or the .fbp text language).
    pub graph: PathBuf,
}

#[derive(Args)]
pub struct NewArgs {
    /// The project's name, also its folder (created in the current one).
    pub name: String,
    /// The plugin's language.
    #[arg(long, default_value = "rust", value_parser = language_names())]
    pub lang: String,
    /// Take the SDK from this checkout of the Reflow repository instead of its registry
    /// (crates.io, the Go module proxy). AssemblyScript, C and Zig projects get a copy of
    /// their SDK (the one this reflow was built with) in reflow/ instead.
    #[arg(long, value_name = "DIR")]
    pub sdk_path: Option<PathBuf>,
}

fn language_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(reflow_build::LANGUAGES.iter().map(|l| l.name))
}

#[derive(Args)]
pub struct BuildArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// A debug build (faster to compile, slower to run) instead of the default release build.
    #[arg(long)]
    pub debug: bool,
    /// Do not run wasm-opt, even when it is installed.
    #[arg(long)]
    pub no_wasm_opt: bool,
}

#[derive(Args)]
pub struct ConvertArgs {
    /// The graph to read (`.json` or `.fbp`).
    pub graph: PathBuf,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The format to write [default: from the --output extension, else json].
    #[arg(long, value_enum)]
    pub to: Option<GraphFormat>,
    /// Read a .fbp file as the reference parser does with `caseSensitive: true` (port names
    /// keep their case); by default they are lowercased.
    #[arg(long)]
    pub case_sensitive: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Json,
    Fbp,
}

#[derive(Args)]
pub struct InspectArgs {
    /// The plugin's .wasm file.
    pub plugin: PathBuf,
}

#[derive(Args)]
pub struct CallArgs {
    /// The plugin's .wasm file.
    pub plugin: PathBuf,
    /// The messages by inport, e.g. '{"input":{"type":"Integer","data":21}}' (plain JSON values
    /// are mapped to messages: 21 -> Integer).
    #[arg(long, default_value = "{}")]
    pub payload: String,
    /// The per-process configuration (`ActorContext.config.config`), a JSON object.
    #[arg(long, default_value = "{}")]
    pub config: String,
    /// The actor's state before the call, a JSON object.
    #[arg(long, default_value = "{}")]
    pub state: String,
    /// The export to call.
    #[arg(long, default_value = "process")]
    pub entry_point: String,
    /// A capability to grant (repeatable; nothing is granted by default):
    /// `fs:ro:/host/dir=/guest`, `fs:rw:/host/dir=/guest`, `http:HOST`, `env:NAME=value`.
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,
    /// The engine: `wasmtime` (ours, the default) or `extism` (the extism crate, the
    /// reference). Plugins granted HTTP or read-only files, or given fuel, run on extism.
    #[arg(long, default_value = "wasmtime")]
    pub engine: reflow_script::Backend,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Resource limits; the defaults protect a user trying an unknown plugin. In `reflow run` they
/// are the defaults of every plugin process, which a process's `metadata.sandbox` overrides.
#[derive(Args, Clone)]
pub struct LimitArgs {
    /// Wall-clock limit of one call, in milliseconds.
    #[arg(long, default_value_t = reflow_script::Limits::default().call_timeout.as_millis() as u64)]
    pub timeout_ms: u64,
    /// Linear memory limit, in 64 KiB pages.
    #[arg(long, default_value_t = reflow_script::Limits::default().max_memory_pages)]
    pub max_memory_pages: u32,
    /// Bytes one call may return (and, separately, send and store).
    #[arg(long, default_value_t = reflow_script::Limits::default().max_output_bytes)]
    pub max_output_bytes: u64,
    /// CPU fuel one call may burn (about one unit per wasm instruction); unmetered if absent.
    #[arg(long)]
    pub fuel: Option<u64>,
}

impl LimitArgs {
    pub fn to_limits(&self) -> reflow_script::Limits {
        reflow_script::Limits {
            max_memory_pages: self.max_memory_pages,
            call_timeout: std::time::Duration::from_millis(self.timeout_ms),
            max_output_bytes: self.max_output_bytes,
            fuel: self.fuel,
        }
    }
}
