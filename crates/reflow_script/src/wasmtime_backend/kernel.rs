//! The host's side of our kernel module (`kernel.wat`): the same memory layout, read and
//! written directly, so the per-call prologue and epilogue cost no wasm calls.

use wasmtime::{AsContext, AsContextMut, Memory};

/// The kernel's source; wasmtime compiles the text format itself.
pub(crate) const KERNEL_WAT: &str = include_str!("kernel.wat");

// Header addresses, as in kernel.wat.
const BUMP: usize = 0;
const INPUT_OFFSET: usize = 8;
const INPUT_LENGTH: usize = 16;
const OUTPUT_OFFSET: usize = 24;
const OUTPUT_LENGTH: usize = 32;
const ERROR: usize = 40;
const HEAP: usize = 64;
const FREED: u64 = 1 << 63;
const PAGE: usize = 65536;

fn read_u64(data: &[u8], at: usize) -> u64 {
    data.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
}

fn write_u64(data: &mut [u8], at: usize, value: u64) {
    data[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

/// The kernel instance's memory, with the layout's operations.
#[derive(Clone, Copy)]
pub(crate) struct Kernel(pub Memory);

impl Kernel {
    /// Sets up the header of a new kernel instance (BUMP at HEAP). The kernel has no data
    /// segment to do it: a memory without one needs no copy-on-write image, which saves a
    /// mapping per actor (`alloc.rs`).
    pub fn init(&self, mut store: impl AsContextMut) {
        write_u64(self.0.data_mut(&mut store), BUMP, HEAP as u64);
    }

    /// Makes room for `end` bytes, growing the memory (through the store's limiter).
    fn ensure(&self, mut store: impl AsContextMut, end: usize) -> Result<(), wasmtime::Error> {
        let size = self.0.data_size(&store);
        if end > size {
            let pages = (end - size).div_ceil(PAGE) as u64;
            self.0.grow(&mut store, pages)?;
        }
        Ok(())
    }

    /// Before a call: forget every block of the previous call (zeroing the used heap, so new
    /// blocks start zeroed), clear output and error, and store `input` as the first block.
    pub fn begin_call(&self, mut store: impl AsContextMut, input: &[u8]) -> Result<(), wasmtime::Error> {
        let handle = HEAP + 8;
        let end = align8(handle + input.len());
        self.ensure(&mut store, end)?;
        let data = self.0.data_mut(&mut store);
        let used = (read_u64(data, BUMP) as usize).clamp(HEAP, data.len());
        data[HEAP..used].fill(0);
        write_u64(data, HEAP, input.len() as u64);
        data[handle..handle + input.len()].copy_from_slice(input);
        write_u64(data, BUMP, end as u64);
        write_u64(data, INPUT_OFFSET, handle as u64);
        write_u64(data, INPUT_LENGTH, input.len() as u64);
        write_u64(data, OUTPUT_OFFSET, 0);
        write_u64(data, OUTPUT_LENGTH, 0);
        write_u64(data, ERROR, 0);
        Ok(())
    }

    /// What the plugin set with `output_set` (empty if nothing). An out-of-range output is
    /// the plugin's bug: reported as `None`.
    pub fn output<'a>(&self, store: &'a impl AsContext) -> Option<&'a [u8]> {
        let data = self.0.data(store);
        let (offset, length) = (read_u64(data, OUTPUT_OFFSET) as usize, read_u64(data, OUTPUT_LENGTH) as usize);
        data.get(offset..offset.checked_add(length)?)
    }

    /// The message the plugin set with `error_set`, if any.
    pub fn error(&self, store: &impl AsContext) -> Option<String> {
        let data = self.0.data(store);
        let handle = read_u64(data, ERROR);
        (handle != 0).then(|| {
            self.block(store, handle).map_or_else(
                || "the plugin reported an error at an invalid handle".to_string(),
                |b| String::from_utf8_lossy(b).into_owned(),
            )
        })
    }

    /// The bytes of the block at `handle`, if it is a live block (as the kernel's `length`).
    pub fn block<'a>(&self, store: &'a impl AsContext, handle: u64) -> Option<&'a [u8]> {
        let data = self.0.data(store);
        let h = usize::try_from(handle).ok()?;
        // The plugin can write the whole header with `store_u64`: the bump pointer and every
        // length are untrusted, so the block must also lie inside the memory as it is.
        let bump = usize::try_from(read_u64(data, BUMP)).ok()?;
        if h < HEAP + 8 || h > bump || h % 8 != 0 {
            return None;
        }
        let length = read_u64(data, h - 8);
        if length & FREED != 0 {
            return None;
        }
        let end = h.checked_add(usize::try_from(length).ok()?)?;
        if end > bump {
            return None;
        }
        data.get(h..end)
    }

    /// A new block holding `bytes` (as the kernel's `alloc` + stores); its handle.
    pub fn alloc(&self, mut store: impl AsContextMut, bytes: &[u8]) -> Result<u64, wasmtime::Error> {
        if bytes.is_empty() {
            return Ok(0);
        }
        // The bump pointer is the plugin's to corrupt (`store_u64(0, ..)`): a value past the
        // 4 GiB a wasm32 memory can hold is refused instead of wrapping.
        let bump = read_u64(self.0.data(&store), BUMP);
        let end = bump
            .checked_add(8 + bytes.len() as u64 + 7)
            .filter(|end| *end <= u64::from(u32::MAX) && bump >= HEAP as u64)
            .ok_or_else(|| wasmtime::Error::msg(format!("the plugin corrupted its memory header (heap pointer {bump})")))?;
        let (bump, end) = (bump as usize, (end as usize) & !7);
        let handle = bump + 8;
        self.ensure(&mut store, end)?;
        let data = self.0.data_mut(&mut store);
        write_u64(data, bump, bytes.len() as u64);
        data[handle..handle + bytes.len()].copy_from_slice(bytes);
        write_u64(data, BUMP, end as u64);
        Ok(handle as u64)
    }
}
