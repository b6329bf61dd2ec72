//! The reference backend: plugins run by the `extism` crate itself. Slower per call than the
//! wasmtime backend (see `wasmtime_backend`), it is kept as the test oracle the differential
//! tests compare against and for users who want Extism's own behaviour (`--engine extism`).
//! Nothing is routed here unless asked for. Where Extism's own sandbox falls short, ours
//! replaces it: HTTP is `crate::http`'s (shadowing Extism's `http_request`, which follows
//! redirects to hosts not granted), host-function arguments are read without trusting the
//! kernel's block headers (`host_functions.rs`), a start function or `_initialize` that loops
//! fails at load (`module.rs`), read-only directories and table growth past the memory limit
//! are refused (Extism cannot keep them read-only or count it), and a WASI call blocking past
//! the deadline is given up ([`ExtismInstance::call`]). docs/security.md lists what remains
//! Extism's own.
//!
//! Each actor gets its own compilation, in its own wasmtime engine: Extism stops a call that
//! runs past its time limit by bumping its *engine's* epoch, which interrupts every call
//! running on that engine, so actors sharing one would kill each other's calls. Wasmtime's
//! module cache makes each extra compilation a lookup.

use crate::call_state::{one_line_failure, CallState};
use crate::extism_kernel::{KernelSlots, Slots};
use crate::host_functions::{host_functions, CallContext};
use crate::module::CallFailure;
use crate::{Grants, Limit, Limits};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The Extism setup every plugin gets: our host functions, the limits, and only what `grants`
/// allows: WASI (when the module imports it) with the granted directories preopened and no
/// env or args, HTTP to the granted hosts only, the granted env values as Extism config.
fn builder(bytes: &[u8], wasi: bool, limits: Limits, grants: &Grants, slots: &Slots) -> extism::PluginBuilder<'static> {
    let mut manifest = extism::Manifest::new([extism::Wasm::data(bytes.to_vec())])
        .with_timeout(limits.call_timeout)
        .with_memory_max(limits.max_memory_pages)
        .with_config(grants.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    manifest.memory.max_http_response_bytes = Some(limits.max_output_bytes);
    if !grants.http_hosts.is_empty() {
        manifest = manifest.with_allowed_hosts(grants.http_hosts.iter().cloned());
    }
    // Only read-write directories get here: `PluginModule::load_on` refuses read-only ones
    // on this backend (Extism's `ro:` preopens let a plugin truncate and create files).
    for path in grants.paths.iter().filter(|p| p.writable) {
        manifest = manifest.with_allowed_path(path.host.display().to_string(), &path.guest);
    }
    let mut builder = extism::PluginBuilder::new(manifest).with_wasi(wasi).with_functions(host_functions(slots));
    if let Some(fuel) = limits.fuel {
        builder = builder.with_fuel_limit(fuel);
    }
    builder
}

/// A plugin compiled for the Extism crate, and what it takes to compile it again per actor.
pub(crate) struct ExtismModule {
    /// The compilation made at load (it read the metadata), handed to the first actor.
    first: Compiled,
    claimed: AtomicBool,
    source: Arc<[u8]>,
    wasi: bool,
    limits: Limits,
    grants: Grants,
}

impl ExtismModule {
    pub fn compile(bytes: &[u8], wasi: bool, limits: Limits, grants: &Grants) -> Result<ExtismModule, String> {
        Ok(ExtismModule {
            first: Compiled::new(bytes, wasi, limits, grants)?,
            claimed: AtomicBool::new(false),
            source: bytes.into(),
            wasi,
            limits,
            grants: grants.clone(),
        })
    }

    /// The module compiled into an engine of the actor's own (see the module documentation).
    fn compile_for_actor(&self) -> Result<Compiled, String> {
        if !self.claimed.swap(true, Ordering::AcqRel) {
            return Ok(self.first.clone());
        }
        Compiled::new(&self.source, self.wasi, self.limits, &self.grants)
    }
}

/// One compilation, and the slots its shadowed kernel functions share (`extism_kernel`).
#[derive(Clone)]
struct Compiled {
    plugin: Arc<extism::CompiledPlugin>,
    slots: Slots,
}

impl Compiled {
    fn new(bytes: &[u8], wasi: bool, limits: Limits, grants: &Grants) -> Result<Compiled, String> {
        let slots = Slots::new(KernelSlots::default());
        let plugin = extism::CompiledPlugin::new(builder(bytes, wasi, limits, grants, &slots)).map_err(|e| format!("{e:#}"))?;
        Ok(Compiled { plugin: Arc::new(plugin), slots })
    }
}

pub(crate) struct ExtismInstance {
    compiled: Compiled,
    /// `None` once a call was abandoned (see [`ExtismInstance::call`]), until the instance is
    /// replaced.
    plugin: Option<extism::Plugin>,
    /// WASI modules can block in a WASI call, out of the time limit's reach: their calls run
    /// on a thread of their own that is given up at the deadline.
    wasi: bool,
    call_timeout: Duration,
}

/// How long past its deadline a call may take to end by Extism's own timeout (which traps
/// running wasm, not a blocking WASI call) before it is abandoned.
const ABANDON_GRACE: Duration = Duration::from_millis(100);

impl ExtismInstance {
    /// An instance for a new actor, on an engine of its own.
    pub fn new(module: &ExtismModule) -> Result<ExtismInstance, String> {
        ExtismInstance::on(module.compile_for_actor()?, module)
    }

    /// An instance on the load-time compilation, to read the metadata (no actor runs yet).
    pub fn for_metadata(module: &ExtismModule) -> Result<ExtismInstance, String> {
        ExtismInstance::on(module.first.clone(), module)
    }

    fn on(compiled: Compiled, module: &ExtismModule) -> Result<ExtismInstance, String> {
        let plugin = extism::Plugin::new_from_compiled(&compiled.plugin).map_err(|e| format!("{e:#}"))?;
        Ok(ExtismInstance { compiled, plugin: Some(plugin), wasi: module.wasi, call_timeout: module.limits.call_timeout })
    }

    /// True once a call was abandoned: the old instance may still be running on its thread
    /// and shares this compilation's kernel slots and engine, so the replacement needs a
    /// compilation of its own ([`ExtismInstance::new`]), not [`ExtismInstance::restart`].
    pub fn abandoned(&self) -> bool {
        self.plugin.is_none()
    }

    /// A fresh instance on the same engine, after a failed call.
    pub fn restart(&mut self) -> Result<(), String> {
        self.plugin = Some(extism::Plugin::new_from_compiled(&self.compiled.plugin).map_err(|e| format!("{e:#}"))?);
        Ok(())
    }

    /// One call. A WASI module's call runs on a thread of its own: Extism's timeout traps
    /// running wasm but not a blocking WASI call (`poll_oneoff` on a long clock; the crate's
    /// WASI is out of our reach), so past the deadline the call is given up, its context
    /// closed (its host functions fail from then on), and the instance is replaced by a new
    /// compilation. The abandoned thread ends when the WASI call returns (the wasm then traps
    /// on Extism's expired deadline). Modules without WASI cannot block outside wasm and run
    /// here, without the thread's cost.
    pub fn call(&mut self, function: &str, input: &[u8], call: CallState) -> Result<(Vec<u8>, CallState), CallFailure> {
        let mut plugin = self.plugin.take().ok_or_else(|| CallFailure::from("the instance was abandoned".to_string()))?;
        let context = CallContext::new(call);
        let slots = self.compiled.slots.clone();
        if !self.wasi {
            let output = run(&mut plugin, &slots, function, input, &context);
            self.plugin = Some(plugin);
            return finish(output, &context);
        }
        let (done, finished) = std::sync::mpsc::channel();
        let (function, input, ctx) = (function.to_string(), input.to_vec(), context.clone());
        std::thread::Builder::new()
            .name("reflow-extism-call".into())
            .spawn(move || {
                let output = run(&mut plugin, &slots, &function, &input, &ctx);
                let _ = done.send((plugin, output));
            })
            .map_err(|e| CallFailure::from(format!("cannot start the call's thread: {e}")))?;
        match finished.recv_timeout(self.call_timeout + ABANDON_GRACE) {
            Ok((plugin, output)) => {
                self.plugin = Some(plugin);
                finish(output, &context)
            }
            Err(_) => {
                context.close();
                Err(CallFailure { limit: Some(Limit::Time), reason: "blocked in a WASI call past the time limit".into() })
            }
        }
    }
}

/// What a call returned, and the error the plugin set (kept by our `error_set`).
type RawOutput = (Result<Vec<u8>, extism::Error>, Option<String>);

fn run(plugin: &mut extism::Plugin, slots: &Slots, function: &str, input: &[u8], context: &CallContext) -> RawOutput {
    let slots = slots.get().expect("a Rust UserData");
    *slots.lock().unwrap_or_else(|p| p.into_inner()) = KernelSlots::default();
    let output = plugin.call_with_host_context::<&[u8], &[u8], _>(function, input, context.clone()).map(<[u8]>::to_vec);
    let error = slots.lock().unwrap_or_else(|p| p.into_inner()).error.take();
    (output, error)
}

fn finish((output, error): RawOutput, context: &CallContext) -> Result<(Vec<u8>, CallState), CallFailure> {
    let mut guard = context.lock();
    match (output, error) {
        // The plugin's error message, kept by our `error_set` (the crate sees none).
        (Ok(_), Some(error)) => Err(CallFailure { limit: guard.exceeded, reason: error }),
        (Err(e), Some(error)) if e.to_string().starts_with("Returned non-zero exit code") => {
            Err(CallFailure { limit: guard.exceeded, reason: error })
        }
        (Err(e), Some(error)) => Err(CallFailure {
            limit: guard.exceeded.or_else(|| exceeded_limit(&e)),
            reason: one_line_failure(e.chain().map(|cause| cause.to_string()).chain([error])),
        }),
        (Ok(output), None) => Ok((output, guard.take())),
        (Err(e), None) => Err(CallFailure { limit: guard.exceeded.or_else(|| exceeded_limit(&e)), reason: describe_failure(&e) }),
    }
}

/// Which limit stopped a call, from the error Extism reports: its epoch timeout says
/// `timeout`, its memory limiter `oom`, fuel exhaustion `plugin ran out of fuel`.
fn exceeded_limit(error: &extism::Error) -> Option<Limit> {
    error.chain().find_map(|cause| match cause.to_string().as_str() {
        "timeout" => Some(Limit::Time),
        "oom" => Some(Limit::Memory),
        "plugin ran out of fuel" => Some(Limit::Fuel),
        _ => None,
    })
}

/// One line for a failed call: the plugin's own error message, or the trap.
fn describe_failure(error: &extism::Error) -> String {
    one_line_failure(error.chain().map(|cause| cause.to_string()))
}
