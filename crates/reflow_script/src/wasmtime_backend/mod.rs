//! Our engine for Extism-ABI plugins, on wasmtime directly: the per-message hot path.
//!
//! Why not `extism::Plugin::call`: each call there pays ~11 string lookups in the linker,
//! 9 untyped function calls, a timer-thread round trip and, with `RUST_BACKTRACE=1`, a
//! captured backtrace (see `docs/performance.md`). Here one [`Engine`] compiles each plugin
//! once (two engines at most: instances come from a pool, then on demand, `alloc.rs`), with
//! its import resolution planned once per module; each actor keeps one warm `Store` + instance
//! with its entry point as a cached
//! `TypedFunc`; the memory functions of `extism:host/env` are our own tiny wasm kernel
//! (`kernel.wat`), so the PDK's many small loads and stores are wasm-to-wasm calls, and the
//! per-call prologue and epilogue are plain memory writes by the host; timeouts come from one
//! epoch ticker thread for the whole process, memory limits from a `ResourceLimiter`. A plugin
//! that opts in (`__reflow_bulk_v1`, `bulk.rs`) gets its input and output in one copy each.
//!
//! Plugins are unchanged: anything built with an Extism PDK (Rust, Go, ...) runs here, and
//! the Extism-crate backend stays as the reference the differential tests compare against.
//!
//! The sandbox: WASI from wasi-common with nothing granted but the `fs:rw:` directories
//! (preopened); the `env:` values are Extism config (`config_get`); stdout/stderr go
//! to `tracing`. Modules granted HTTP hosts or a read-only directory, or limited in fuel, are
//! never loaded here but on the Extism backend (`module.rs`, `extism_only`). Each store has
//! its own epoch deadline, so one actor's timeout never interrupts another's call.

mod alloc;
mod bulk;
mod imports;
mod kernel;
mod stdio;

use crate::call_state::{one_line_failure, CallState};
use crate::module::CallFailure;
use crate::{Grants, Limit, Limits};
use bulk::Bulk;
use kernel::{Kernel, KERNEL_WAT};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wasmtime::{Config, Engine, Extern, Instance, Linker, Module, ResourceLimiter, Store, TypedFunc};

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

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// An engine with its linker and kernel: compiled code is shared only within an engine, and
/// the native imports are the same for every plugin. There are at most two per process, the
/// pooled one and the on-demand one (see `alloc.rs`).
struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    kernel: Module,
}

/// The pooled engine (`None` when the pool is off or could not be reserved), and the on-demand
/// engine, started the first time an instance does not fit the pool.
struct Runtimes {
    pooled: Option<Runtime>,
    on_demand: OnceLock<Result<Runtime, String>>,
}

fn runtimes() -> &'static Runtimes {
    static RUNTIMES: OnceLock<Runtimes> = OnceLock::new();
    RUNTIMES.get_or_init(|| {
        let actors = alloc::pool_actors();
        let pooled = (actors > 0)
            .then(|| new_runtime(Some(actors)))
            .and_then(|made| made.map_err(|e| tracing::warn!("no instance pool ({e:#}); every instance is allocated on demand")).ok());
        Runtimes { pooled, on_demand: OnceLock::new() }
    })
}

impl Runtimes {
    fn on_demand(&self) -> Result<&Runtime, String> {
        self.on_demand
            .get_or_init(|| new_runtime(None).map_err(|e| format!("cannot start the wasmtime engine: {e:#}")))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// An engine on the pooling allocator sized for `pool` actors, or on the on-demand allocator.
fn new_runtime(pool: Option<u32>) -> wasmtime::Result<Runtime> {
    let mut config = Config::new();
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
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            ticker.increment_epoch();
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
}

impl Compiled {
    fn new(runtime: &Runtime, bytes: &[u8]) -> Result<Compiled, String> {
        let module = Module::new(&runtime.engine, bytes).map_err(|e| format!("{e:#}"))?;
        let imports = module
            .imports()
            .map(|import| (import.module() == "extism:host/env").then(|| runtime.kernel.get_export_index(import.name())).flatten())
            .collect();
        let init = ["_initialize", "__wasm_call_ctors"].into_iter().find_map(|name| Some((name, module.get_export_index(name)?)));
        Ok(Compiled { module, imports, init })
    }
}

/// A plugin compiled once for this process: on the pooled engine, and on the on-demand one
/// when an instance does not fit the pool (compiled then, from the kept source).
pub(crate) struct WasmtimeModule {
    pooled: Option<Compiled>,
    on_demand: OnceLock<Result<Compiled, String>>,
    source: Arc<[u8]>,
}

impl WasmtimeModule {
    pub fn compile(bytes: &[u8]) -> Result<WasmtimeModule, String> {
        let runtimes = runtimes();
        let module = WasmtimeModule {
            pooled: runtimes.pooled.as_ref().and_then(|runtime| Compiled::new(runtime, bytes).ok()),
            on_demand: OnceLock::new(),
            source: bytes.into(),
        };
        if module.pooled.is_none() {
            // Not on the pool (off, or a module its slots refuse): the on-demand engine's
            // error is the one to report.
            module.on_demand()?;
        }
        Ok(module)
    }

    fn on_demand(&self) -> Result<(&'static Runtime, &Compiled), String> {
        let runtime = runtimes().on_demand()?;
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
    limits: Limits,
    /// Typed exports, looked up once.
    exports: Vec<(Arc<str>, TypedFunc<(), i32>)>,
}

impl WasmtimeInstance {
    /// A new instance for `actor`: in a pool slot if one is free, else on the on-demand engine.
    pub fn new(module: &WasmtimeModule, actor: Arc<str>, limits: Limits, grants: &Grants) -> Result<WasmtimeInstance, String> {
        if let (Some(runtime), Some(compiled)) = (runtimes().pooled.as_ref(), module.pooled.as_ref()) {
            match WasmtimeInstance::on(runtime, compiled, actor.clone(), limits, grants) {
                Err(e) if alloc::pool_is_full(&e) => tracing::debug!(%actor, "instance pool full; allocating on demand"),
                made => return made.map_err(|e| format!("{e:#}")),
            }
        }
        let (runtime, compiled) = module.on_demand()?;
        WasmtimeInstance::on(runtime, compiled, actor, limits, grants).map_err(|e| format!("{e:#}"))
    }

    fn on(runtime: &Runtime, compiled: &Compiled, actor: Arc<str>, limits: Limits, grants: &Grants) -> wasmtime::Result<WasmtimeInstance> {
        let wasi = wasi_ctx(grants).map_err(wasmtime::Error::msg)?;
        stdio::route_to_tracing(&wasi, &actor);
        let state = HostState {
            wasi,
            kernel: None,
            limiter: MemoryLimiter { max_bytes: limits.max_memory_pages as usize * 65536, used: 0, hit: false },
            call: None,
            actor,
            vars: BTreeMap::new(),
            config: grants.env.clone(),
        };
        let mut store = Store::new(&runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks(limits.call_timeout));

        let kernel_instance = Instance::new(&mut store, &runtime.kernel, &[])?;
        let memory = kernel_instance.get_memory(&mut store, "memory").ok_or_else(|| wasmtime::Error::msg("the kernel has no memory"))?;
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
                wasmtime::Error::msg(format!(
                    "unknown import {}::{} (not an Extism or Reflow host function)",
                    import.module(),
                    import.name()
                ))
            })?);
        }
        let instance = Instance::new(&mut store, &compiled.module, &externs)?;
        let mut this = WasmtimeInstance { store, instance, kernel, bulk: None, limits, exports: Vec::new() };
        this.initialize(compiled).map_err(wasmtime::Error::msg)?;
        this.store.set_epoch_deadline(deadline_ticks(limits.call_timeout));
        this.bulk = Bulk::find(&mut this.store, &this.instance).map_err(wasmtime::Error::msg)?;
        Ok(this)
    }

    /// Runs the guest's initializer once: `_initialize` (Go, wasip1 reactors), or else
    /// `__wasm_call_ctors`.
    fn initialize(&mut self, compiled: &Compiled) -> Result<(), String> {
        let Some((name, export)) = &compiled.init else { return Ok(()) };
        let init = self
            .instance
            .get_module_export(&mut self.store, export)
            .and_then(Extern::into_func)
            .and_then(|f| f.typed::<(), ()>(&self.store).ok());
        if let Some(init) = init {
            self.store.set_epoch_deadline(deadline_ticks(self.limits.call_timeout));
            return init.call(&mut self.store, ()).map_err(|e| format!("{name} failed: {}", self.describe(&e, None).reason));
        }
        Ok(())
    }

    fn export(&mut self, name: &str) -> Result<TypedFunc<(), i32>, String> {
        if let Some((_, f)) = self.exports.iter().find(|(n, _)| &**n == name) {
            return Ok(f.clone());
        }
        let f = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, name)
            .map_err(|e| format!("export `{name}`: {e:#} (expected a function () -> i32)"))?;
        self.exports.push((name.into(), f.clone()));
        Ok(f)
    }

    /// Calls `function` with `input`; returns its output bytes and the call state as the
    /// plugin left it. On failure, the reason in one line.
    pub fn call(&mut self, function: &str, input: &[u8], call: CallState) -> Result<(Vec<u8>, CallState), CallFailure> {
        let func = self.export(function)?;
        self.store.data_mut().limiter.hit = false;
        self.kernel.begin_call(&mut self.store, input).map_err(|e| self.describe(&e, None))?;
        self.store.set_epoch_deadline(deadline_ticks(self.limits.call_timeout));
        if let Some(bulk) = self.bulk.as_mut() {
            bulk.begin_call(&mut self.store, input)?;
        }
        self.store.data_mut().call = Some(call);
        self.store.data_mut().limiter.hit = false;
        let result = func.call(&mut self.store, ());
        let call = self.store.data_mut().call.take().expect("set above");
        let status = result.map_err(|e| self.describe(&e, call.exceeded))?;
        if let Some(error) = self.kernel.error(&self.store) {
            return Err(CallFailure { limit: call.exceeded, reason: error });
        }
        if status != 0 {
            return Err(format!("the plugin returned status {status} without an error message").into());
        }
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

    /// One line for a trap, and the limit it hit ([`Limits::describe`] names it, as on the
    /// Extism backend): the time limit (the epoch deadline), the memory limit (a growth the
    /// limiter refused), an output budget a host function refused (`exceeded`), or none.
    fn describe(&self, error: &wasmtime::Error, exceeded: Option<Limit>) -> CallFailure {
        let limit = if let Some(wasmtime::Trap::Interrupt) = error.downcast_ref::<wasmtime::Trap>() {
            Some(Limit::Time)
        } else if self.store.data().limiter.hit {
            Some(Limit::Memory)
        } else {
            exceeded
        };
        if let Some(limit) = limit {
            return CallFailure { limit: Some(limit), reason: format!("exceeded {}", self.limits.describe(limit)) };
        }
        if let Some(exit) = error.downcast_ref::<wasi_common::I32Exit>() {
            return format!("the plugin exited with status {}", exit.0).into();
        }
        one_line_failure(error.chain().map(|cause| cause.to_string())).into()
    }
}

/// WASI with nothing granted but `grants`: the `fs:rw:` directories preopened at their guest
/// paths. The `env:` values are deliberately not WASI env vars: as on the Extism backend
/// (which cannot set them), they reach the plugin as `resolved_env` and Extism config only,
/// so both backends behave the same. Read-only directories never get here (wasi-common
/// has no read-only preopen; such modules run on the Extism backend).
fn wasi_ctx(grants: &Grants) -> Result<wasi_common::WasiCtx, String> {
    use wasi_common::sync::{ambient_authority, Dir, WasiCtxBuilder};
    let mut builder = WasiCtxBuilder::new();
    for path in &grants.paths {
        if !path.writable {
            return Err(format!("{}: read-only directories are granted on the Extism backend only", path.host.display()));
        }
        let dir = Dir::open_ambient_dir(&path.host, ambient_authority())
            .map_err(|e| format!("cannot open granted directory {}: {e}", path.host.display()))?;
        builder.preopened_dir(dir, &path.guest).map_err(|e| format!("cannot grant {}: {e:#}", path.host.display()))?;
    }
    Ok(builder.build())
}

fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_nanos() / EPOCH_TICK.as_nanos()) as u64 + 1
}
