//! Reads what a replay must hand back exactly: for each message on `in` it sends on `out`
//! `{"wall": ns since the epoch, "since_start": monotonic ns since its first call, "random":
//! 8 random bytes as an integer}`, from WASI's wall clock, monotonic clock and `random_get`.
//! Built for wasm32-wasip1.

use reflow_wasm::*;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn random_get(buf: *mut u8, len: usize) -> u16;
}

static STARTED: OnceLock<Instant> = OnceLock::new();

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Entropy".to_string(),
        description: "reads the clocks and the random source".to_string(),
        inports: vec![port_def!("in", "any message", "Any")],
        outports: vec![port_def!("out", "{wall, since_start, random}", "Object")],
        config_schema: None,
    }
}

fn process(_context: ActorContext) -> Result<ActorResult, String> {
    let started = *STARTED.get_or_init(Instant::now);
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_nanos() as u64;
    let since_start = started.elapsed().as_nanos() as u64;
    let mut bytes = [0u8; 8];
    // SAFETY: random_get writes exactly `len` bytes into the buffer it is given.
    if unsafe { random_get(bytes.as_mut_ptr(), bytes.len()) } != 0 {
        return Err("random_get failed".into());
    }
    let mut outputs = HashMap::new();
    let value = serde_json::json!({ "wall": wall, "since_start": since_start, "random": u64::from_le_bytes(bytes) });
    outputs.insert("out".to_string(), Message::Object(value));
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
