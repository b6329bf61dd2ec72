//! Write Reflow actors in Rust as WebAssembly plugins: metadata (ports with `port_type`) and
//! one function from [`ActorContext`] to [`ActorResult`] (no `state` = unchanged).
//!
//! ```no_run
//! use reflow_wasm::*;
//! use std::collections::HashMap;
//!
//! fn metadata() -> PluginMetadata {
//!     PluginMetadata {
//!         component: "MyActor".to_string(),
//!         description: "Example WASM actor".to_string(),
//!         inports: vec![port_def!("input", "Input port", "Integer", required)],
//!         outports: vec![port_def!("output", "Output port", "Integer")],
//!         config_schema: None,
//!     }
//! }
//!
//! fn process_actor(context: ActorContext) -> Result<ActorResult, Box<dyn std::error::Error>> {
//!     let mut outputs = HashMap::new();
//!     if let Some(Message::Integer(value)) = context.payload.get("input") {
//!         outputs.insert("output".to_string(), Message::Integer(value * 2));
//!     }
//!     Ok(ActorResult { outputs, state: None })
//! }
//!
//! actor_plugin!(metadata: metadata(), process: process_actor);
//! ```
//!
//! Code written for the original Reflow Rust SDK compiles unchanged: its [`host`] module
//! (`host::send_output(map)?`, `host::set_state("k", value)?`, `host::get_state("k")`), its
//! [`helpers`] (also at the top level, as there) and the re-exports `plugin_fn`, `FnResult`
//! and `Json` are here (`tests/plugins/original_sdk` is such a plugin). This crate's own
//! [`get_state`], [`set_state`] and [`send_output`] stay as they were.
//!
//! This crate is the ABI (`docs/abi.md`) seen from inside the sandbox and never links host
//! code. Its macros use `$crate::` paths and everything they need is re-exported here, so it
//! is a plugin's only dependency (add `serde_json` only where your own code names it).

mod bulk;
pub mod helpers;
pub mod host;
mod imports;
mod log;

pub use helpers::*;
pub use log::{log_debug, log_error, log_info, log_warn};
pub use reflow_abi::{ActorConfig, ActorContext, ActorResult, Message, PluginMetadata, PortDefinition};
/// Re-exported as the original SDK did, for plugins that write their own Extism exports
/// with `#[plugin_fn]` (which also needs `extism-pdk` as a dependency of the plugin).
pub use extism_pdk::{plugin_fn, FnResult, Json};

use reflow_abi::serde_json::Value;
use std::collections::HashMap;

/// The value under `key` in this actor's state, as the host holds it now (`None` if absent).
pub fn get_state(key: &str) -> Option<Value> {
    imports::get_state(key)
}

/// Sets `key` to `value` in this actor's state at once (before `process` returns).
///
/// Panics (failing the call, with the message logged) only if the plugin's memory cannot
/// hold the arguments; [`host::set_state`] returns that as an `Err` instead.
pub fn set_state(key: &str, value: &Value) {
    if let Err(e) = imports::set_state(key, value) {
        panic!("set_state({key:?}): {e}");
    }
}

/// Sends messages on outports now, while `process` is still running; they arrive downstream
/// before the outputs `process` returns.
///
/// Panics like [`set_state`] when memory is exhausted; [`host::send_output`] returns an `Err`.
pub fn send_output(outputs: HashMap<String, Message>) {
    if let Err(e) = imports::send_output(outputs) {
        panic!("send_output: {e}");
    }
}

/// [`send_output`] for JSON values as they are: each value a tagged message or a plain JSON
/// value the host maps by its kind (`docs/abi.md`, "Plain values"), as the original Go SDK's
/// plugins send `{"status": "done", "count": 3}`. Panics like [`send_output`].
pub fn send_output_json(outputs: &reflow_abi::serde_json::Map<String, Value>) {
    if let Err(e) = imports::send_output_json(outputs) {
        panic!("send_output_json: {e}");
    }
}

/// The input and output of an export of your own (besides `process`), through the bulk path
/// when the host offers it and the Extism PDK otherwise (docs/abi.md, "Bulk input and
/// output"). `actor_plugin!` exports what the bulk path needs.
pub mod raw {
    pub use crate::bulk::{set_output, with_input};
}

/// Declares a port: `port_def!(name, description, type)` or, for an inport that must hold a
/// message before `process` is called, `port_def!(name, description, type, required)`.
#[macro_export]
macro_rules! port_def {
    ($name:expr, $description:expr, $port_type:expr) => {
        $crate::PortDefinition::new($name, $description, $port_type, false)
    };
    ($name:expr, $description:expr, $port_type:expr, required) => {
        $crate::PortDefinition::new($name, $description, $port_type, true)
    };
}

/// Generates the plugin's exports: `get_metadata` (returns `metadata` as JSON), `process`
/// (decodes the `ActorContext`, calls `process`, encodes its `ActorResult`; an `Err` becomes
/// an Extism error carrying its message), `__reflow_bulk_v1`, which lets a Reflow host
/// pass input and output in one copy each, and `__reflow_batch_v1`, which runs `process` for
/// several waiting messages in one call, the state each returns handed to the next (Extism
/// never calls either; docs/abi.md). `process` is called once per message either way.
#[macro_export]
macro_rules! actor_plugin {
    (metadata: $metadata:expr, process: $process:expr $(,)?) => {
        // Exported under the ABI's names but named apart in Rust, so that a plugin may call
        // its own function `process` or `metadata`.
        #[export_name = "get_metadata"]
        pub extern "C" fn __reflow_get_metadata() -> i32 {
            $crate::__private::export_metadata(|| $metadata)
        }

        #[export_name = "process"]
        pub extern "C" fn __reflow_process() -> i32 {
            $crate::__private::export_process($process)
        }

        #[export_name = "__reflow_bulk_v1"]
        pub extern "C" fn __reflow_bulk_v1(reserve: i32) -> i32 {
            $crate::__private::export_bulk(reserve)
        }

        #[export_name = "__reflow_batch_v1"]
        pub extern "C" fn __reflow_batch_v1() -> i32 {
            $crate::__private::export_batch($process)
        }
    };
}

/// Used by the macros' expansions only; not part of the API.
#[doc(hidden)]
pub mod __private {
    use crate::bulk::{begin_batch, push_result, set_output, with_input};
    use crate::{ActorContext, ActorResult, PluginMetadata};
    use reflow_abi::serde_json::Value;
    use reflow_abi::ActorBatch;
    use std::fmt::Display;

    pub use crate::bulk::export_bulk;

    pub fn export_metadata(metadata: impl FnOnce() -> PluginMetadata) -> i32 {
        match reflow_abi::serde_json::to_vec(&metadata()) {
            Ok(bytes) => set_output(bytes),
            Err(e) => fail(&format!("cannot encode metadata: {e}")),
        }
    }

    pub fn export_process<E: Display>(process: impl FnOnce(ActorContext) -> Result<ActorResult, E>) -> i32 {
        install_panic_hook();
        // Messages are read straight from the text into their types (no `Value` tree first).
        let context = match with_input(|input| reflow_abi::serde_json::from_slice::<ActorContext>(input)) {
            Ok(context) => context,
            Err(e) => return fail(&format!("invalid ActorContext from the host: {e}")),
        };
        match process(context) {
            Ok(result) => match reflow_abi::serde_json::to_vec(&result) {
                Ok(bytes) => set_output(bytes),
                Err(e) => fail(&format!("cannot encode ActorResult: {e}")),
            },
            Err(e) => fail(&e.to_string()),
        }
    }

    /// `__reflow_batch_v1` (docs/abi.md, "Batches"): `process` for each payload in order, each
    /// context holding the state the previous one returned (or the batch's, until one does).
    /// A failed payload ends the batch with its error, as a failed `process` call would: the
    /// host keeps the results before it and runs the rest again on a fresh instance.
    pub fn export_batch<E: Display>(mut process: impl FnMut(ActorContext) -> Result<ActorResult, E>) -> i32 {
        install_panic_hook();
        begin_batch();
        let ActorBatch { payloads, config, mut state } =
            match with_input(|input| reflow_abi::serde_json::from_slice::<ActorBatch>(input)) {
                Ok(batch) => batch,
                Err(e) => return fail(&format!("invalid batch from the host: {e}")),
            };
        for payload in payloads {
            let context = ActorContext { payload, config: config.clone(), state: state.clone() };
            let result = match process(context) {
                Ok(result) => result,
                Err(e) => return fail(&e.to_string()),
            };
            match reflow_abi::serde_json::to_vec(&result) {
                Ok(bytes) => push_result(&bytes),
                Err(e) => return fail(&format!("cannot encode ActorResult: {e}")),
            }
            if let Some(Value::Object(new_state)) = result.state {
                state = new_state;
            }
        }
        0
    }

    /// A panic aborts the wasm instance (a trap) before the host can read anything but the
    /// trap itself: log the panic message first, so `RUST_LOG=reflow_script=error` shows it.
    fn install_panic_hook() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| crate::log_error(&format!("plugin panicked: {info}"))))
        });
    }

    /// Reports `message` through Extism's `error_set`; the host turns it into a call error.
    fn fail(message: &str) -> i32 {
        if let Ok(memory) = extism_pdk::Memory::from_bytes(message) {
            unsafe { extism_pdk::extism::error_set(memory.offset()) };
        }
        1
    }
}
