//! The bulk input/output path (docs/abi.md, "Bulk input and output"), host side.
//!
//! A plugin that exports `__reflow_bulk_v1: (i32) -> i32` and its memory as `memory` (what
//! `reflow_wasm`'s `actor_plugin!` generates) gets its input written straight into a buffer of
//! its own memory, and its output read from there: one copy each way instead of the PDK's
//! 8-bytes-per-import-call loops. The input is still written into the kernel too (one host
//! copy), so an export of the same plugin that reads its input through the PDK directly still
//! sees it; an export that does not put its output in the mailbox has it read from the kernel.
//!
//! Everything read from the mailbox is the plugin's word, so every address is checked against
//! its memory before use; a bad one fails the call with an error naming the mailbox.

use wasmtime::{AsContext, Instance, Memory, Store, TypedFunc};

/// The export that opts in, and returns the mailbox's address.
pub(super) const EXPORT: &str = "__reflow_bulk_v1";
/// The export that runs several payloads in one call (docs/abi.md, "Batches"); only used
/// together with [`EXPORT`], whose mailbox it extends.
pub(super) const BATCH_EXPORT: &str = "__reflow_batch_v1";

// Field offsets of the mailbox (seven little-endian u32).
const INPUT_PTR: usize = 0;
const INPUT_CAP: usize = 4;
const INPUT_LEN: usize = 8;
const BULK_CALL: usize = 12;
const OUTPUT_PTR: usize = 16;
const OUTPUT_LEN: usize = 20;
const OUTPUT_SET: usize = 24;
const SIZE: usize = 28;
// The batch fields that follow them in the mailbox of a plugin with [`BATCH_EXPORT`].
const BATCH_DONE: usize = 28;
const RESULTS_PTR: usize = 32;
const RESULTS_LEN: usize = 36;
const BATCH_SIZE: usize = 40;

/// Where a running batch says how far it got: read by the epoch callback, which sees the
/// store but not the instance.
#[derive(Clone, Copy)]
pub(super) struct Progress {
    memory: Memory,
    at: usize,
}

impl Progress {
    /// The payloads the batch reports done (0 if the plugin moved the count out of its memory,
    /// which only delays the time limit's deadline, never extends it).
    pub fn done(&self, store: &impl AsContext) -> u32 {
        read_u32(self.memory.data(store), self.at).unwrap_or(0)
    }
}

/// A plugin instance's end of the bulk path.
pub(super) struct Bulk {
    memory: Memory,
    reserve: TypedFunc<i32, i32>,
    mailbox: usize,
}

fn bad_mailbox() -> String {
    format!("the plugin's bulk mailbox (`{EXPORT}`) points outside its memory")
}

fn read_u32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap())).ok_or_else(bad_mailbox)
}

fn write_u32(data: &mut [u8], at: usize, value: u32) -> Result<(), String> {
    data.get_mut(at..at + 4).ok_or_else(bad_mailbox)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

impl Bulk {
    /// The bulk end of `instance`, if the plugin opts in. `reserve` runs plugin code, so it runs
    /// under the caller's epoch deadline.
    pub fn find<T>(store: &mut Store<T>, instance: &Instance) -> Result<Option<Bulk>, String> {
        let (Some(memory), Ok(reserve)) =
            (instance.get_memory(&mut *store, "memory"), instance.get_typed_func::<i32, i32>(&mut *store, EXPORT))
        else {
            return Ok(None);
        };
        let mut bulk = Bulk { memory, reserve, mailbox: 0 };
        bulk.reserve(store, 0)?;
        Ok(Some(bulk))
    }

    /// Asks the plugin for an input buffer of at least `len` bytes.
    fn reserve<T>(&mut self, store: &mut Store<T>, len: usize) -> Result<(), String> {
        let len = i32::try_from(len).map_err(|_| format!("an input of {len} bytes is too large for a wasm32 plugin"))?;
        let address = self.reserve.call(&mut *store, len).map_err(|e| format!("{EXPORT} failed: {e:#}"))?;
        if address == 0 {
            return Err(format!("{EXPORT}: the plugin cannot make room for {len} bytes of input"));
        }
        self.mailbox = address as u32 as usize;
        let data = self.memory.data(&*store);
        if self.mailbox.checked_add(SIZE).is_none_or(|end| end > data.len()) {
            return Err(bad_mailbox());
        }
        Ok(())
    }

    /// Before a call: `input` into the plugin's buffer, and the mailbox set for a bulk call.
    pub fn begin_call<T>(&mut self, store: &mut Store<T>, input: &[u8]) -> Result<(), String> {
        let fits = |this: &Bulk, store: &Store<T>| -> Result<bool, String> {
            let data = this.memory.data(store);
            Ok(read_u32(data, this.mailbox + INPUT_CAP)? as usize >= input.len())
        };
        if !fits(self, store)? {
            self.reserve(store, input.len())?;
            if !fits(self, store)? {
                return Err(format!("{EXPORT}: the plugin's input buffer is smaller than it said"));
            }
        }
        let mailbox = self.mailbox;
        let data = self.memory.data_mut(&mut *store);
        let at = read_u32(data, mailbox + INPUT_PTR)? as usize;
        data.get_mut(at..at + input.len()).ok_or_else(bad_mailbox)?.copy_from_slice(input);
        write_u32(data, mailbox + INPUT_LEN, input.len() as u32)?;
        write_u32(data, mailbox + BULK_CALL, 1)?;
        write_u32(data, mailbox + OUTPUT_SET, 0)
    }

    /// After a successful call: the output the plugin left in its memory, or `None` if it set
    /// none there (then the kernel holds it).
    pub fn output<'a>(&self, store: &'a impl AsContext) -> Result<Option<&'a [u8]>, String> {
        let data = self.memory.data(store);
        if read_u32(data, self.mailbox + OUTPUT_SET)? != 1 {
            return Ok(None);
        }
        let (at, len) = (read_u32(data, self.mailbox + OUTPUT_PTR)? as usize, read_u32(data, self.mailbox + OUTPUT_LEN)? as usize);
        data.get(at..at + len).map(Some).ok_or_else(bad_mailbox)
    }
}

impl Bulk {
    /// Before a batch: `input` (an `ActorBatch`) in as for any bulk call, and no payload done
    /// yet, so a trap before the plugin's own reset reads as none done.
    pub fn begin_batch<T>(&mut self, store: &mut Store<T>, input: &[u8]) -> Result<Progress, String> {
        self.begin_call(store, input)?;
        let data = self.memory.data_mut(&mut *store);
        if self.mailbox + BATCH_SIZE > data.len() {
            return Err(bad_mailbox());
        }
        write_u32(data, self.mailbox + BATCH_DONE, 0)?;
        write_u32(data, self.mailbox + RESULTS_LEN, 0)?;
        Ok(Progress { memory: self.memory, at: self.mailbox + BATCH_DONE })
    }

    /// After a batch, whether it ended well or not: the results of the payloads it reports
    /// done, in order (at most `count`: more is the plugin lying, and fails the batch).
    pub fn batch_results(&self, store: &impl AsContext, count: usize) -> Result<Vec<Vec<u8>>, String> {
        let data = self.memory.data(store);
        let done = read_u32(data, self.mailbox + BATCH_DONE)? as usize;
        if done > count {
            return Err(format!("`{BATCH_EXPORT}` reports {done} payloads done of the {count} it was given"));
        }
        let (at, len) = (read_u32(data, self.mailbox + RESULTS_PTR)? as usize, read_u32(data, self.mailbox + RESULTS_LEN)? as usize);
        let mut records = data.get(at..at.saturating_add(len)).ok_or_else(bad_mailbox)?;
        let mut results = Vec::with_capacity(done);
        for _ in 0..done {
            let size = read_u32(records, 0)? as usize;
            let result = records.get(4..4usize.saturating_add(size)).ok_or_else(bad_mailbox)?;
            results.push(result.to_vec());
            records = &records[4 + size..];
        }
        Ok(results)
    }
}
