//! Logging to the host: each line becomes a `tracing` event of the host, shown with
//! `RUST_LOG=reflow_script=debug` (`println!` has no stdout on wasm32-unknown-unknown).

use extism_pdk::{LogLevel, Memory};

fn log(level: LogLevel, message: &str) {
    // The host answers i32::MAX when logging is off; skip the copy then.
    let threshold = unsafe { extism_pdk::extism::get_log_level() };
    if threshold != i32::MAX && level.to_int() >= threshold {
        if let Ok(memory) = Memory::from_bytes(message) {
            memory.log(level);
        }
    }
}

pub fn log_debug(message: &str) {
    log(LogLevel::Debug, message)
}

pub fn log_info(message: &str) {
    log(LogLevel::Info, message)
}

pub fn log_warn(message: &str) {
    log(LogLevel::Warn, message)
}

pub fn log_error(message: &str) {
    log(LogLevel::Error, message)
}
