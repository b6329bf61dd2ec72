//! The bulk input/output path of `docs/abi.md` ("Bulk input and output"), seen from the plugin.
//!
//! An Extism PDK pulls its input through `input_load_u64`, 8 bytes per import call, and pushes
//! its output through `store_u64` the same way: ~260 calls for 1 KiB. A Reflow host that finds
//! the `__reflow_bulk_v1` export instead writes the input straight into a buffer in the
//! plugin's own memory and reads the output from there, one copy each way. The export only
//! hands out the address of [`Mailbox`]; nothing changes for a host that never calls it (Extism
//! itself): `bulk_call` stays 0 and every call takes the PDK's path.
//!
//! A plugin is single-threaded and a call never re-enters the plugin, so the statics below
//! are only ever touched by one call at a time.

use std::cell::UnsafeCell;

/// The input length that means "no bulk input this call".
const NONE: u32 = u32::MAX;

/// The record the host and the plugin share, at the address `__reflow_bulk_v1` returns.
/// Little-endian `u32` fields, in this order (docs/abi.md).
#[repr(C)]
struct Mailbox {
    /// Where the host may write the input (plugin-owned), and how many bytes fit.
    input_ptr: u32,
    input_cap: u32,
    /// Written by the host before each bulk call: the input's length.
    input_len: u32,
    /// 1 while the host runs a bulk call (written by the host before each call).
    bulk_call: u32,
    /// Written by the plugin: where its output is, and that it put one there.
    output_ptr: u32,
    output_len: u32,
    output_set: u32,
    /// The batch fields (docs/abi.md, "Batches"), written by the plugin during a
    /// `__reflow_batch_v1` call: how many of its payloads are done, and where their results
    /// are (one record per done payload: its length as a little-endian `u32`, then its
    /// `ActorResult` JSON). Kept current after every payload, so the host can read the done
    /// ones even after a trap in the next.
    batch_done: u32,
    results_ptr: u32,
    results_len: u32,
}

struct Shared {
    mailbox: UnsafeCell<Mailbox>,
    input: UnsafeCell<Vec<u8>>,
    output: UnsafeCell<Vec<u8>>,
    results: UnsafeCell<Vec<u8>>,
}

// SAFETY: wasm32 plugins run one call at a time on one thread (see the module docs).
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    mailbox: UnsafeCell::new(Mailbox {
        input_ptr: 0,
        input_cap: 0,
        input_len: NONE,
        bulk_call: 0,
        output_ptr: 0,
        output_len: 0,
        output_set: 0,
        batch_done: 0,
        results_ptr: 0,
        results_len: 0,
    }),
    input: UnsafeCell::new(Vec::new()),
    output: UnsafeCell::new(Vec::new()),
    results: UnsafeCell::new(Vec::new()),
};

/// The `__reflow_bulk_v1(reserve)` export: makes the input buffer hold at least `reserve`
/// bytes and returns the mailbox's address (0 if the buffer cannot grow).
pub fn export_bulk(reserve: i32) -> i32 {
    // SAFETY: no call is running while the host calls this export (see the module docs).
    unsafe {
        let input = &mut *SHARED.input.get();
        let mailbox = &mut *SHARED.mailbox.get();
        let wanted = reserve.max(0) as usize;
        if wanted > input.capacity() && input.try_reserve_exact(wanted - input.len()).is_err() {
            return 0;
        }
        mailbox.input_ptr = input.as_mut_ptr() as u32;
        mailbox.input_cap = input.capacity() as u32;
        SHARED.mailbox.get() as i32
    }
}

/// Whether the running call is a bulk call (its input and output go through the mailbox).
fn bulk_call() -> bool {
    // SAFETY: read-only access within the running call.
    unsafe { (*SHARED.mailbox.get()).bulk_call == 1 }
}

/// Runs `f` on this call's input: the bytes the host wrote into the buffer (a bulk call), or
/// else the bytes read through the PDK's input functions.
pub fn with_input<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    // SAFETY: the host wrote `input_len` bytes at `input_ptr`, within the buffer's capacity,
    // before the call; nothing else touches the buffer during it.
    unsafe {
        let mailbox = &mut *SHARED.mailbox.get();
        if mailbox.bulk_call == 1 && mailbox.input_len != NONE && mailbox.input_len <= mailbox.input_cap {
            let len = mailbox.input_len as usize;
            mailbox.input_len = NONE;
            let input = &mut *SHARED.input.get();
            input.set_len(len);
            let result = f(input);
            input.set_len(0);
            return result;
        }
    }
    f(&extism_pdk::input_bytes())
}

/// Hands `bytes` to the host as this call's output: kept in the plugin's memory for the host to
/// read (a bulk call), or else copied out through the PDK. Returns the export's status.
pub fn set_output(bytes: Vec<u8>) -> i32 {
    if bulk_call() {
        // SAFETY: the host reads the output only after the call returned; the buffer lives
        // until the next call replaces it.
        unsafe {
            let output = &mut *SHARED.output.get();
            *output = bytes;
            let mailbox = &mut *SHARED.mailbox.get();
            mailbox.output_ptr = output.as_ptr() as u32;
            mailbox.output_len = output.len() as u32;
            mailbox.output_set = 1;
        }
        return 0;
    }
    if bytes.is_empty() {
        return 0;
    }
    match extism_pdk::Memory::from_bytes(&bytes) {
        Ok(memory) => {
            memory.set_output();
            0
        }
        Err(_) => 1,
    }
}

/// Starts a batch: no payload done, no results yet.
pub fn begin_batch() {
    // SAFETY: within the running call only (see the module docs).
    unsafe {
        (*SHARED.results.get()).clear();
        let mailbox = &mut *SHARED.mailbox.get();
        mailbox.batch_done = 0;
        mailbox.results_len = 0;
    }
}

/// Records the result of the batch's next payload. The count goes up last, once the record and
/// the fields that locate it are complete, so a trap at any point leaves the host a consistent
/// view of the payloads done before it.
pub fn push_result(result: &[u8]) {
    // SAFETY: within the running call only (see the module docs).
    unsafe {
        let results = &mut *SHARED.results.get();
        results.extend_from_slice(&(result.len() as u32).to_le_bytes());
        results.extend_from_slice(result);
        let mailbox = &mut *SHARED.mailbox.get();
        mailbox.results_ptr = results.as_ptr() as u32;
        mailbox.results_len = results.len() as u32;
        mailbox.batch_done += 1;
    }
}
