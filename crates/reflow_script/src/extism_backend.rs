//! The reference backend: plugins run by the `extism` crate itself. Slower per call than the
//! wasmtime backend (see `wasmtime_backend`), it is kept as the test oracle the differential
//! tests compare against, and for users who want Extism's own behaviour (`--engine extism`).

use crate::call_state::CallState;
use crate::host_functions::{host_functions, CallContext};
use crate::Limits;

/// The Extism setup every plugin gets: our host functions, the limits, and WASI with nothing
/// granted when the module imports it (no preopened dirs, no env, no args).
fn builder(bytes: &[u8], wasi: bool, limits: Limits) -> extism::PluginBuilder<'static> {
    let manifest = extism::Manifest::new([extism::Wasm::data(bytes.to_vec())])
        .with_timeout(limits.call_timeout)
        .with_memory_max(limits.max_memory_pages);
    extism::PluginBuilder::new(manifest).with_wasi(wasi).with_functions(host_functions())
}

pub(crate) fn compile(bytes: &[u8], wasi: bool, limits: Limits) -> Result<extism::CompiledPlugin, String> {
    extism::CompiledPlugin::new(builder(bytes, wasi, limits)).map_err(|e| format!("{e:#}"))
}

pub(crate) struct ExtismInstance {
    plugin: extism::Plugin,
}

impl ExtismInstance {
    pub fn new(compiled: &extism::CompiledPlugin) -> Result<ExtismInstance, String> {
        extism::Plugin::new_from_compiled(compiled).map(|plugin| ExtismInstance { plugin }).map_err(|e| format!("{e:#}"))
    }

    pub fn call(&mut self, function: &str, input: &[u8], call: CallState) -> Result<(Vec<u8>, CallState), String> {
        let context = CallContext::new(call);
        let output = self
            .plugin
            .call_with_host_context::<&[u8], &[u8], _>(function, input, context.clone())
            .map(<[u8]>::to_vec)
            .map_err(|e| describe_failure(&e))?;
        let mut guard = context.lock();
        let call = CallState { actor: guard.actor.clone(), state: std::mem::take(&mut guard.state), sink: guard.sink.take() };
        Ok((output, call))
    }
}

/// One line for a failed call: the plugin's own error message, or the trap without the wasm
/// backtrace Extism attaches (frame addresses help nobody reading a graph's error report).
fn describe_failure(error: &extism::Error) -> String {
    let parts: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| !text.starts_with("error while executing at wasm backtrace"))
        .filter_map(|text| text.lines().next().map(|line| line.trim().to_string()))
        .filter(|line| !line.is_empty())
        .collect();
    parts.join(": ")
}
