//! Our engine for Extism-ABI plugins, on wasmtime directly: the per-message hot path.
//!
//! Why not `extism::Plugin::call`: each call there pays ~11 string lookups in the linker,
//! 9 untyped function calls, a timer-thread round trip and, with `RUST_BACKTRACE=1`, a
//! captured backtrace (see `docs/performance.md`). Here one [`Engine`] compiles each plugin
//! once; each actor keeps one warm `Store` + instance with its entry point as a cached
//! `TypedFunc`; the memory functions of `extism:host/env` are our own tiny wasm kernel
//! (`kernel.wat`), so the PDK's many small loads and stores are wasm-to-wasm calls, and the
//! per-call prologue and epilogue are plain memory writes by the host; timeouts come from one
//! epoch ticker thread for the whole process, memory limits from a `ResourceLimiter`.
//!
//! Plugins are unchanged: anything built with an Extism PDK (Rust, Go, ...) runs here, and
//! the Extism-crate backend stays as the reference the differential tests compare against.
//!
//! The sandbox: WASI from wasi-common with nothing granted but the `fs:rw:` directories
//! (preopened); the `env:` values are Extism config (`config_get`); stdout/stderr go
//! to `tracing`. Modules granted HTTP hosts or a read-only directory, or limited in fuel, are
//! never loaded here but on the Extism backend (`module.rs`, `extism_only`). Each store has
//! its own epoch deadline, so one actor's timeout never interrupts another's call.

mod imports;
mod kernel;
mod stdio;

use crate::call_state::{one_line_failure, CallState};
use crate::module::CallFailure;
use crate::{Grants, Limit, Limits};
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

/// One engine, linker and kernel for the whole process: compiled code is shared only within
/// an engine, and the native imports are the same for every plugin.
struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    kernel: Module,
}

fn runtime() -> Result<&'static Runtime, String> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME.get_or_init(|| new_runtime().map_err(|e| format!("cannot start the wasmtime engine: {e:#}"))).as_ref().map_err(Clone::clone)
}

fn new_runtime() -> wasmtime::Result<Runtime> {
    let mut config = Config::new();
    // The same proposals Extism enables, so every plugin that loads there loads here.
    config.epoch_interruption(true).wasm_tail_call(true).wasm_function_references(true).wasm_gc(true);
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

/// A plugin compiled once for this process.
pub(crate) struct WasmtimeModule {
    module: Module,
}

impl WasmtimeModule {
    pub fn compile(bytes: &[u8]) -> Result<WasmtimeModule, String> {
        let runtime = runtime()?;
        let module = Module::new(&runtime.engine, bytes).map_err(|e| format!("{e:#}"))?;
        Ok(WasmtimeModule { module })
    }
}

/// One actor's live instance.
pub(crate) struct WasmtimeInstance {
    store: Store<HostState>,
    instance: Instance,
    kernel: Kernel,
    limits: Limits,
    /// Typed exports, looked up once.
    exports: Vec<(Arc<str>, TypedFunc<(), i32>)>,
}

impl WasmtimeInstance {
    pub fn new(module: &WasmtimeModule, actor: Arc<str>, limits: Limits, grants: &Grants) -> Result<WasmtimeInstance, String> {
        let runtime = runtime()?;
        let wasi = wasi_ctx(grants)?;
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

        let kernel_instance = Instance::new(&mut store, &runtime.kernel, &[]).map_err(|e| format!("{e:#}"))?;
        let memory = kernel_instance.get_memory(&mut store, "memory").ok_or("the kernel has no memory")?;
        let kernel = Kernel(memory);
        store.data_mut().kernel = Some(kernel);

        // Resolve imports: memory functions from this store's kernel, the rest from the linker.
        let mut externs = Vec::new();
        for import in module.module.imports() {
            let from_kernel = (import.module() == "extism:host/env")
                .then(|| kernel_instance.get_export(&mut store, import.name()))
                .flatten();
            let resolved = match from_kernel {
                Some(export) => Some(export),
                None => runtime.linker.get_by_import(&mut store, &import),
            };
            let resolved: Extern = resolved.ok_or_else(|| {
                format!("unknown import {}::{} (not an Extism or Reflow host function)", import.module(), import.name())
            })?;
            externs.push(resolved);
        }
        let instance = Instance::new(&mut store, &module.module, &externs).map_err(|e| format!("{e:#}"))?;
        let mut this = WasmtimeInstance { store, instance, kernel, limits, exports: Vec::new() };
        this.initialize()?;
        Ok(this)
    }

    /// Runs the guest's initializer once: `_initialize` (Go, wasip1 reactors), or else
    /// `__wasm_call_ctors`.
    fn initialize(&mut self) -> Result<(), String> {
        for name in ["_initialize", "__wasm_call_ctors"] {
            if let Ok(init) = self.instance.get_typed_func::<(), ()>(&mut self.store, name) {
                self.store.set_epoch_deadline(deadline_ticks(self.limits.call_timeout));
                return init.call(&mut self.store, ()).map_err(|e| format!("{name} failed: {}", self.describe(&e, None).reason));
            }
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
        self.store.data_mut().call = Some(call);
        self.store.data_mut().limiter.hit = false;
        self.store.set_epoch_deadline(deadline_ticks(self.limits.call_timeout));
        let result = func.call(&mut self.store, ());
        let call = self.store.data_mut().call.take().expect("set above");
        let status = result.map_err(|e| self.describe(&e, call.exceeded))?;
        if let Some(error) = self.kernel.error(&self.store) {
            return Err(CallFailure { limit: call.exceeded, reason: error });
        }
        if status != 0 {
            return Err(format!("the plugin returned status {status} without an error message").into());
        }
        let output = self.kernel.output(&self.store).ok_or_else(|| "the plugin set an output outside its memory".to_string())?;
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
