//! Our engine for Extism-ABI plugins, on wasmtime directly: the per-message hot path.
//!
//! Why not `extism::Plugin::call`: each call there pays ~11 string lookups in the linker,
//! 9 untyped function calls, a timer-thread round trip and, with `RUST_BACKTRACE=1`, a
//! captured backtrace (see `docs/performance.md`). Here one [`Engine`] compiles each plugin
//! once (instances come from a pool, then on demand, `alloc.rs`), with its import resolution
//! planned once per module; each actor keeps one warm `Store` + instance with its entry point
//! as a cached
//! `TypedFunc`; the memory functions of `extism:host/env` are our own tiny wasm kernel
//! (`kernel.wat`), so the PDK's many small loads and stores are wasm-to-wasm calls, and the
//! per-call prologue and epilogue are plain memory writes by the host; timeouts come from one
//! epoch ticker thread for the whole process, memory limits from a `ResourceLimiter`. A plugin
//! that opts in (`__reflow_bulk_v1`, `bulk.rs`) gets its input and output in one copy each.
//!
//! Plugins are unchanged: anything built with an Extism PDK (Rust, Go, ...) runs here, and
//! the Extism-crate backend stays as the reference the differential tests compare against.
//!
//! The sandbox: WASI from wasi-common with nothing granted but the granted directories
//! (`wasi.rs`: read-only ones behind a wrapper that refuses every change, blocking calls cut
//! at the call's deadline); the `env:` values are Extism config (`config_get`); stdout/stderr
//! go to `tracing` within the call's log budget; HTTP to granted hosts (`crate::http`); fuel
//! on a second engine for the modules that are limited in fuel ([`FUEL`]). Each store has its
//! own epoch deadline, so one actor's timeout never interrupts another's call.

mod alloc;
mod bulk;
mod imports;
mod kernel;
mod stdio;
mod wasi;

use crate::call_state::{one_line_failure, CallState, LogBudget};
use crate::module::CallFailure;
use crate::{Grants, Limit, Limits};
use bulk::Bulk;
use kernel::{Kernel, KERNEL_WAT};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::{Config, Engine, Extern, Instance, Linker, Module, ResourceLimiter, Store, StoreContextMut, TypedFunc, UpdateDeadline};

/// How often the shared epoch advances: the resolution of call time limits.
const EPOCH_TICK: Duration = Duration::from_millis(5);


/// Everything the host functions of one actor's store can reach.
pub(crate) struct HostState {
    wasi: wasi_common::WasiCtx,
    kernel: Option<Kernel>,
    limiter: MemoryLimiter,
    /// Set for the duration of a call.
    call: Option<CallState>,
    actor: Arc<str>,
    /// Extism's per-plugin vars, kept across calls.
    vars: BTreeMap<String, Vec<u8>>,
    /// Extism's manifest config: the granted env values.
    config: BTreeMap<String, String>,
    /// When the running call must end (epoch deadlines cannot stop a blocking host call);
    /// armed only for a plugin that `blocks` (`Compiled::blocks`).
    deadline: Arc<wasi::Deadline>,
    blocks: bool,
    /// How the call's clock and random reads are served (`crate::entropy`).
    tape: wasi::Tape,
    /// The call's log budget, shared with the WASI stdio pipes.
    log: Arc<Mutex<LogBudget>>,
    /// Granted HTTP hosts, and the status of the call's last response.
    http_hosts: Vec<String>,
    http_status: u16,
    max_output_bytes: u64,
}

/// Caps the bytes of all memories of one store together (the plugin's and the kernel's).
struct MemoryLimiter {
    max_bytes: usize,
    used: usize,
    /// Set when a growth was refused, so a following trap is reported as the memory limit.
    hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let extra = desired.saturating_sub(current);
        if self.used + extra > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.used += extra;
        Ok(true)
    }

    // Table elements take host memory too: they count against the same budget.
    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let extra = desired.saturating_sub(current).saturating_mul(crate::config::TABLE_ELEMENT_BYTES as usize);
        if self.used.saturating_add(extra) > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.used += extra;
        Ok(true)
    }

    // A pooled table cannot grow past its slot (`alloc.rs`) even when the limiter allowed it:
    // that refusal is the sandbox's too, and the trap that follows is reported as the limit.
    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.hit = true;
        Ok(())
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.hit = true;
        Ok(())
    }
}

/// An engine with its linker and kernel: compiled code is shared only within an engine, and
/// the native imports are the same for every plugin. At most three per process: the pooled
/// one and the on-demand one (`alloc.rs`), and the metered one for fuel.
struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    kernel: Module,
}

/// Which engine a module is compiled on: fuel metering is an engine setting, and it costs
/// every call on that engine (measured in `cargo xtask bench`, `fuel` rows), so modules
/// limited in fuel get an engine of their own and every other module runs unmetered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metering {
    Off,
    /// [`FUEL`]: the engine for modules with a [`Limits::fuel`].
    Fuel,
}

/// Shorthand for [`Metering::Fuel`].
pub(crate) const FUEL: Metering = Metering::Fuel;

/// The pooled engine for unmetered modules (`None` when the pool is off or could not be
/// reserved).
fn pooled_runtime() -> Option<&'static Runtime> {
    static POOLED: OnceLock<Option<Runtime>> = OnceLock::new();
    POOLED
        .get_or_init(|| {
            let actors = alloc::pool_actors();
            (actors > 0).then(|| new_runtime(Metering::Off, Some(actors))).and_then(|made| {
                made.map_err(|e| tracing::warn!("no instance pool ({e:#}); every instance is allocated on demand")).ok()
            })
        })
        .as_ref()
}

/// The on-demand engine for `metering`.
fn runtime(metering: Metering) -> Result<&'static Runtime, String> {
    static PLAIN: OnceLock<Result<Runtime, String>> = OnceLock::new();
    static METERED: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let cell = if metering == FUEL { &METERED } else { &PLAIN };
    cell.get_or_init(|| new_runtime(metering, None).map_err(|e| format!("cannot start the wasmtime engine: {e:#}"))).as_ref().map_err(Clone::clone)
}

/// An engine for `metering`, on the pooling allocator sized for `pool` actors, or on demand.
fn new_runtime(metering: Metering, pool: Option<u32>) -> wasmtime::Result<Runtime> {
    // With RUST_BACKTRACE=1 every `wasmtime::Error` (every trap) would capture a native
    // backtrace, which nobody reads: our errors are one line. Its cargo feature cannot be
    // turned off (the `extism` crate enables it), so it is turned off here; wasmtime is
    // pinned (=43.0.2, through extism), which keeps this hidden switch where it is.
    wasmtime::error::disable_backtrace();
    let mut config = Config::new();
    config.consume_fuel(metering == FUEL);
    // A trap's error becomes one line (`one_line_failure` drops the wasm backtrace), so
    // capturing the wasm frames on every trap is work thrown away, on the restart path.
    config.wasm_backtrace_max_frames(None);
    // The same proposals Extism enables, so every plugin that loads there loads here.
    config.epoch_interruption(true).wasm_tail_call(true).wasm_function_references(true).wasm_gc(true);
    if let Some(actors) = pool {
        alloc::pooled(&mut config, actors);
    }
    // Compiled code is cached on disk (wasmtime's default cache, as Extism does), so a
    // second run skips compilation. REFLOW_CODE_CACHE=off disables it (cold-start benches).
    if std::env::var("REFLOW_CODE_CACHE").as_deref() != Ok("off") {
        match wasmtime::Cache::from_file(None) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => tracing::debug!("compiled-code cache unavailable: {e:#}"),
        }
    }
    let engine = Engine::new(&config)?;
    let mut linker = Linker::new(&engine);
    wasi_common::sync::add_to_linker(&mut linker, |state: &mut HostState| &mut state.wasi)?;
    imports::define(&mut linker)?;
    let kernel = Module::new(&engine, KERNEL_WAT)?;
    let ticker = engine.clone();
    std::thread::Builder::new()
        .name("reflow epoch".into())
        .spawn(move || {
            // The epoch counts wall-clock ticks, not wake-ups: on a loaded machine this thread
            // wakes late (a 5 ms sleep took ~17 ms at a load of 27 on 2 cores), and one tick
            // per wake-up stretched a 10 s limit to 35 s.
            let start = std::time::Instant::now();
            let mut ticks = 0u128;
            loop {
                std::thread::sleep(EPOCH_TICK);
                let due = start.elapsed().as_nanos() / EPOCH_TICK.as_nanos();
                while ticks < due {
                    ticker.increment_epoch();
                    ticks += 1;
                }
            }
        })
        .map_err(|e| wasmtime::Error::msg(format!("cannot start the epoch thread: {e}")))?;
    Ok(Runtime { engine, linker, kernel })
}

/// A plugin compiled for one engine, with what instantiating it needs worked out once (our
/// pre-instantiation: wasmtime's `InstancePre` cannot bind imports to the kernel instance of
/// each store, so we keep the resolution plan instead).
struct Compiled {
    module: Module,
    /// Per import, in order: the kernel export that provides it, or `None` for the linker's.
    imports: Vec<Option<wasmtime::ModuleExport>>,
    /// The guest initializer to run once per instance (`_initialize`, `__wasm_call_ctors`).
    init: Option<(&'static str, wasmtime::ModuleExport)>,
    /// Whether the plugin imports none of our host functions (`extism:host/user`): only then
    /// can several payloads share one call, since `__get_state`, `__set_state` and
    /// `__send_output` would see one call where the ABI promises one per message.
    batchable: bool,
    /// Whether the plugin can block in a host call (it imports WASI or `http_request`): only
    /// then do its calls arm the [`wasi::Deadline`] those calls end at (a clock read each).
    blocks: bool,
}

impl Compiled {
    fn new(runtime: &Runtime, bytes: &[u8]) -> Result<Compiled, String> {
        let module = Module::new(&runtime.engine, bytes).map_err(|e| format!("{e:#}"))?;
        let imports = module
            .imports()
            .map(|import| (import.module() == "extism:host/env").then(|| runtime.kernel.get_export_index(import.name())).flatten())
            .collect();
        let init = ["_initialize", "__wasm_call_ctors"].into_iter().find_map(|name| Some((name, module.get_export_index(name)?)));
        let batchable = !module.imports().any(|import| import.module() == "extism:host/user");
        let blocks = module
            .imports()
            .any(|import| import.module().starts_with("wasi_snapshot_preview1") || import.name() == "http_request");
        Ok(Compiled { module, imports, init, batchable, blocks })
    }
}

/// A plugin compiled once for this process: on the pooled engine (unmetered modules), and on
/// the on-demand engine of its metering when an instance does not fit the pool (compiled
/// then, from the kept source).
pub(crate) struct WasmtimeModule {
    pooled: Option<(&'static Runtime, Compiled)>,
    on_demand: OnceLock<Result<Compiled, String>>,
    metering: Metering,
    source: Arc<[u8]>,
}

impl WasmtimeModule {
    /// Compiles `bytes` on the engines for `limits` (metered when they limit fuel).
    pub fn compile(bytes: &[u8], limits: Limits) -> Result<WasmtimeModule, String> {
        let metering = if limits.fuel.is_some() { FUEL } else { Metering::Off };
        let pooled = match metering {
            Metering::Off => pooled_runtime().and_then(|runtime| Some((runtime, Compiled::new(runtime, bytes).ok()?))),
            Metering::Fuel => None,
        };
        let module = WasmtimeModule { pooled, on_demand: OnceLock::new(), metering, source: bytes.into() };
        if module.pooled.is_none() {
            // Not on the pool (metered, off, or a module its slots refuse): the on-demand
            // engine's error is the one to report.
            module.on_demand()?;
        }
        Ok(module)
    }

    fn on_demand(&self) -> Result<(&'static Runtime, &Compiled), String> {
        let runtime = runtime(self.metering)?;
        let compiled = self.on_demand.get_or_init(|| Compiled::new(runtime, &self.source)).as_ref().map_err(Clone::clone)?;
        Ok((runtime, compiled))
    }
}

/// One actor's live instance.
pub(crate) struct WasmtimeInstance {
    store: Store<HostState>,
    instance: Instance,
    kernel: Kernel,
    /// The plugin's end of the bulk input/output path, if it opts in (`bulk.rs`).
    bulk: Option<Bulk>,
    /// `__reflow_batch_v1`, if the plugin has it, opts in to the bulk path, calls none of our
    /// host functions and is not limited in fuel (fuel is per call; see [`Self::call_batch`]).
    batch: Option<TypedFunc<(), i32>>,
    limits: Limits,
    /// Typed exports, looked up once.
    exports: Vec<(Arc<str>, TypedFunc<(), i32>)>,
}

/// Which function [`WasmtimeInstance::run`] calls.
#[derive(Clone, Copy)]
enum Entry {
    /// The export at this index of [`WasmtimeInstance::exports`].
    Export(usize),
    /// `__reflow_batch_v1`.
    Batch,
}

/// Why [`WasmtimeInstance::on`] made no instance.
enum NoInstance {
    /// The runtime's pool has no free slot: try the on-demand engine.
    PoolFull,
    /// Anything else; its `limit` is set when the start function or initializer ran over one.
    Failed(CallFailure),
}

impl From<String> for NoInstance {
    fn from(reason: String) -> Self {
        NoInstance::Failed(reason.into())
    }
}

impl From<CallFailure> for NoInstance {
    fn from(failure: CallFailure) -> Self {
        NoInstance::Failed(failure)
    }
}

impl From<NoInstance> for CallFailure {
    fn from(error: NoInstance) -> Self {
        match error {
            NoInstance::PoolFull => "the instance pool is full".to_string().into(),
            NoInstance::Failed(failure) => failure,
        }
    }
}

impl WasmtimeInstance {
    /// A new instance for `actor`: in a pool slot if one is free, else on the on-demand engine.
    /// The error's `limit` says whether the module's start function or initializer ran over
    /// one of `limits` (a plugin that loops there), which the loader reports at load.
    pub fn new(module: &WasmtimeModule, actor: Arc<str>, limits: Limits, grants: &Grants) -> Result<WasmtimeInstance, CallFailure> {
        if let Some((runtime, compiled)) = &module.pooled {
            match WasmtimeInstance::on(runtime, compiled, actor.clone(), limits, grants) {
                Err(NoInstance::PoolFull) => tracing::debug!(%actor, "instance pool full; allocating on demand"),
                made => return made.map_err(CallFailure::from),
            }
        }
        let (runtime, compiled) = module.on_demand()?;
        WasmtimeInstance::on(runtime, compiled, actor, limits, grants).map_err(CallFailure::from)
    }

    /// An instance on `runtime`.
    fn on(runtime: &Runtime, compiled: &Compiled, actor: Arc<str>, limits: Limits, grants: &Grants) -> Result<WasmtimeInstance, NoInstance> {
        let deadline = Arc::new(wasi::Deadline::default());
        let tape = wasi::Tape::default();
        let wasi = wasi::wasi_ctx(grants, deadline.clone(), &tape)?;
        let log = Arc::new(Mutex::new(LogBudget { left: limits.max_output_bytes, capped: false }));
        stdio::route_to_tracing(&wasi, &actor, &log);
        let state = HostState {
            wasi,
            kernel: None,
            limiter: MemoryLimiter { max_bytes: limits.memory_bytes() as usize, used: 0, hit: false },
            call: None,
            actor,
            vars: BTreeMap::new(),
            config: grants.env.clone(),
            deadline,
            blocks: compiled.blocks,
            tape,
            log,
            http_hosts: grants.http_hosts.clone(),
            http_status: 0,
            max_output_bytes: limits.max_output_bytes,
        };
        let mut store = Store::new(&runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        // The start function runs inside `Instance::new`: under the call limits too.
        arm(&mut store, limits).map_err(|e| format!("{e:#}"))?;

        let kernel_instance = Instance::new(&mut store, &runtime.kernel, &[]).map_err(pool_full_or)?;
        let memory = kernel_instance.get_memory(&mut store, "memory").ok_or("the kernel has no memory".to_string())?;
        let kernel = Kernel(memory);
        kernel.init(&mut store);
        store.data_mut().kernel = Some(kernel);

        // Resolve imports by the module's plan: memory functions from this store's kernel, the
        // rest from the linker.
        let mut externs = Vec::with_capacity(compiled.imports.len());
        for (import, from_kernel) in compiled.module.imports().zip(&compiled.imports) {
            let resolved = match from_kernel {
                Some(export) => kernel_instance.get_module_export(&mut store, export),
                None => runtime.linker.get_by_import(&mut store, &import),
            };
            externs.push(resolved.ok_or_else(|| {
                format!("unknown import {}::{} (not an Extism or Reflow host function)", import.module(), import.name())
            })?);
        }
        let instance = Instance::new(&mut store, &compiled.module, &externs).map_err(|e| match limit_hit(&store, &e) {
            Some(limit) => {
                NoInstance::Failed(CallFailure { limit: Some(limit), reason: format!("instantiating the module exceeded {}", limits.describe(limit)) })
            }
            None => pool_full_or(e),
        })?;
        let mut this = WasmtimeInstance { store, instance, kernel, bulk: None, batch: None, limits, exports: Vec::new() };
        this.initialize(compiled)?;
        arm(&mut this.store, limits).map_err(|e| format!("{e:#}"))?;
        this.bulk = Bulk::find(&mut this.store, &this.instance)?;
        if this.bulk.is_some() && compiled.batchable && limits.fuel.is_none() {
            this.batch = this.instance.get_typed_func::<(), i32>(&mut this.store, bulk::BATCH_EXPORT).ok();
        }
        Ok(this)
    }

    /// Runs the guest's initializer once: `_initialize` (Go, wasip1 reactors), or else
    /// `__wasm_call_ctors`.
    fn initialize(&mut self, compiled: &Compiled) -> Result<(), CallFailure> {
        let Some((name, export)) = &compiled.init else { return Ok(()) };
        let init = self
            .instance
            .get_module_export(&mut self.store, export)
            .and_then(Extern::into_func)
            .and_then(|f| f.typed::<(), ()>(&self.store).ok());
        if let Some(init) = init {
            arm(&mut self.store, self.limits).map_err(|e| format!("{e:#}"))?;
            return init.call(&mut self.store, ()).map_err(|e| {
                let failure = self.describe(&e, None);
                CallFailure { limit: failure.limit, reason: format!("{name} failed: {}", failure.reason) }
            });
        }
        Ok(())
    }

    /// The index in [`Self::exports`] of the export `name`, looked up on its first call. Calls
    /// go through the index, not a clone of the `TypedFunc`: cloning one clones its type,
    /// which takes a reference in the engine's type registry (measured ~2% of a doubler call).
    fn export(&mut self, name: &str) -> Result<usize, String> {
        if let Some(at) = self.exports.iter().position(|(n, _)| &**n == name) {
            return Ok(at);
        }
        let f = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, name)
            .map_err(|e| format!("export `{name}`: {e:#} (expected a function () -> i32)"))?;
        self.exports.push((name.into(), f));
        Ok(self.exports.len() - 1)
    }

    /// Where this instance's WASI clock and random reads are served from.
    pub fn tape(&self) -> &wasi::Tape {
        &self.store.data().tape
    }

    /// Calls `function` with `input`; returns its output bytes and the call state as the
    /// plugin left it. On failure, the reason in one line.
    pub fn call(&mut self, function: &str, input: &[u8], call: CallState) -> Result<(Vec<u8>, CallState), CallFailure> {
        let func = self.export(function)?;
        let (ended, call) = self.run(Entry::Export(func), input, call);
        ended?;
        let in_plugin = match &self.bulk {
            Some(bulk) => bulk.output(&self.store)?,
            None => None,
        };
        let output = match in_plugin {
            Some(output) => output,
            None => self.kernel.output(&self.store).ok_or_else(|| "the plugin set an output outside its memory".to_string())?,
        };
        Ok((output.to_vec(), call))
    }

    /// Whether [`Self::call_batch`] can pass several payloads in one call.
    pub fn batches(&self) -> bool {
        self.batch.is_some()
    }

    /// Runs `__reflow_batch_v1` on `input`, an `ActorBatch` of `count` payloads (docs/abi.md,
    /// "Batches"): the `ActorResult` text of each payload done, in order, and why the next one
    /// failed if the batch ended early. Each payload runs under the call time limit as if it
    /// were a call of its own; the results of the payloads before a trap are kept.
    pub fn call_batch(&mut self, input: &[u8], count: usize, call: CallState) -> (Vec<Vec<u8>>, Option<CallFailure>) {
        if self.batch.is_none() {
            return (Vec::new(), Some("this plugin does not take batches".to_string().into()));
        }
        let (ended, _) = self.run(Entry::Batch, input, call);
        let bulk = self.bulk.as_ref().expect("a batching instance has the bulk path");
        let results = match bulk.batch_results(&self.store, count) {
            Ok(results) => results,
            Err(reason) => return (Vec::new(), Some(reason.into())),
        };
        let failure = match ended {
            Err(failure) => Some(failure),
            Ok(()) if results.len() < count => {
                Some(format!("`{}` returned after {} of its {count} payloads", bulk::BATCH_EXPORT, results.len()).into())
            }
            Ok(()) => None,
        };
        (results, failure)
    }

    /// What every call does around the export: the input in (into the kernel, and into the
    /// plugin's buffer if it opts in to the bulk path), the limits armed, the export run, and
    /// its failure if it failed; the call state comes back either way.
    fn run(&mut self, entry: Entry, input: &[u8], call: CallState) -> (Result<(), CallFailure>, CallState) {
        let batch = matches!(entry, Entry::Batch);
        self.store.data_mut().limiter.hit = false;
        if let Err(e) = self.kernel.begin_call(&mut self.store, input) {
            return (Err(self.describe(&e, None)), call);
        }
        *self.store.data().log.lock().unwrap_or_else(|p| p.into_inner()) = call.log;
        self.store.data_mut().call = Some(call);
        let result = self.start(input, batch).map(|()| {
            let func = match entry {
                Entry::Export(at) => &self.exports[at].1,
                Entry::Batch => self.batch.as_ref().expect("checked by call_batch"),
            };
            func.call(&mut self.store, ())
        });
        if batch {
            self.store.epoch_deadline_trap();
        }
        let mut call = self.store.data_mut().call.take().expect("set above");
        call.log = *self.store.data().log.lock().unwrap_or_else(|p| p.into_inner());
        let ended = match result {
            Err(failure) => Err(failure),
            Ok(Err(trap)) => Err(self.describe(&trap, call.exceeded)),
            Ok(Ok(status)) => match self.kernel.error(&self.store) {
                Some(error) => Err(CallFailure { limit: call.exceeded, reason: error }),
                None if status != 0 => Err(format!("the plugin returned status {status} without an error message").into()),
                None => Ok(()),
            },
        };
        (ended, call)
    }

    /// Arms the call's limits and hands the plugin its bulk input. A batch's time limit is
    /// each payload's: one epoch tick at a time, the deadline starts again whenever the
    /// plugin reports a payload done.
    fn start(&mut self, input: &[u8], batch: bool) -> Result<(), CallFailure> {
        arm(&mut self.store, self.limits).map_err(|e| CallFailure::from(format!("{e:#}")))?;
        let Some(bulk) = self.bulk.as_mut() else { return Ok(()) };
        if !batch {
            return Ok(bulk.begin_call(&mut self.store, input)?);
        }
        let progress = bulk.begin_batch(&mut self.store, input)?;
        let (timeout, allowed) = (self.limits.call_timeout, deadline_ticks(self.limits.call_timeout));
        let (mut seen, mut ticks) = (0, 0);
        self.store.epoch_deadline_callback(move |store: StoreContextMut<'_, HostState>| {
            let done = progress.done(&store);
            if done != seen {
                (seen, ticks) = (done, 0);
                store.data().deadline.arm(timeout);
            }
            ticks += 1;
            Ok(if ticks >= allowed { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(1) })
        });
        self.store.set_epoch_deadline(1);
        Ok(())
    }

    /// One line for a trap, and the limit it hit ([`Limits::describe`] names it, as on the
    /// Extism backend): the time limit (the epoch deadline), the memory limit (a growth the
    /// limiter refused), an output budget a host function refused (`exceeded`), or none.
    fn describe(&self, error: &wasmtime::Error, exceeded: Option<Limit>) -> CallFailure {
        if let Some(limit) = limit_hit(&self.store, error).or(exceeded) {
            return CallFailure { limit: Some(limit), reason: format!("exceeded {}", self.limits.describe(limit)) };
        }
        if let Some(exit) = error.downcast_ref::<wasi_common::I32Exit>() {
            return format!("the plugin exited with status {}", exit.0).into();
        }
        one_line_failure(error.chain().map(|cause| cause.to_string())).into()
    }
}

/// [`NoInstance::PoolFull`] when `error` says the instance pool has no free slot, else the
/// error in one line.
fn pool_full_or(error: wasmtime::Error) -> NoInstance {
    if alloc::pool_is_full(&error) {
        NoInstance::PoolFull
    } else {
        format!("{error:#}").into()
    }
}

/// The limit a trap means: the time limit (the epoch deadline, or a blocking WASI call cut at
/// the deadline), fuel, or the memory limit (a growth the limiter refused).
fn limit_hit(store: &Store<HostState>, error: &wasmtime::Error) -> Option<Limit> {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => Some(Limit::Time),
        Some(wasmtime::Trap::OutOfFuel) => Some(Limit::Fuel),
        _ if store.data().deadline.hit() => Some(Limit::Time),
        _ if store.data().limiter.hit => Some(Limit::Memory),
        _ => None,
    }
}

/// Starts a call (or the instance's start function or initializer) under `limits`: its
/// epoch deadline, the deadline of its blocking WASI calls, and its fuel.
fn arm(store: &mut Store<HostState>, limits: Limits) -> wasmtime::Result<()> {
    store.set_epoch_deadline(deadline_ticks(limits.call_timeout));
    if store.data().blocks {
        store.data().deadline.arm(limits.call_timeout);
    }
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel)?;
    }
    Ok(())
}

fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_nanos() / EPOCH_TICK.as_nanos()) as u64 + 1
}
