//! The Extism backend's guard over the extism crate's kernel memory, which the plugin owns.
//!
//! A plugin can write anywhere in the kernel's memory with `store_u64`, block headers and the
//! allocator's root included. The extism crate trusts that memory: it reads a handle's bytes,
//! the call's output and its error message as unchecked slices built from offsets and lengths
//! found there, so a forged length of 0xFFFFFFF0 (issue 16, finding 4) read past the memory
//! and crashed the process. The crate shows host functions neither the memory nor its size.
//!
//! So on this backend: every read and write of kernel memory by our host functions goes
//! through [`copy_block`] and [`new_block`], which copy with `process_vm_readv` /
//! `process_vm_writev` on our own process (the kernel reports an address outside the memory's
//! mapped pages as a short copy, never a fault: wasmtime keeps the rest of a memory's
//! reservation inaccessible); and the kernel functions whose results the crate trusts are
//! shadowed by ours ([`functions`]): `output_set` checks the range it is given, `error_set`
//! copies the message at once, and the crate reads both from [`Slots`] instead of the kernel.

use extism::convert::MemoryHandle;
use extism::{CurrentPlugin, Function, UserData, Val, ValType, EXTISM_ENV_MODULE, PTR};

/// What the shadowed kernel functions keep for one call (reset by `ExtismInstance::call`).
#[derive(Default)]
pub(crate) struct KernelSlots {
    /// The output range the plugin set, checked.
    pub output: (u64, u64),
    /// The error message the plugin set, copied when it was set.
    pub error: Option<String>,
}

pub(crate) type Slots = UserData<KernelSlots>;

/// The kernel memory's base address: a zero-length block at offset 0 is always a valid slice.
fn base(plugin: &mut CurrentPlugin) -> Option<usize> {
    plugin.memory_bytes(MemoryHandle::null()).ok().map(|b| b.as_ptr() as usize)
}

/// The memory limit in bytes: no block reaches past it (checked before any copy, so an
/// address always stays inside the memory's reservation).
fn limit(plugin: &CurrentPlugin) -> u64 {
    u64::from(plugin.manifest().memory.max_pages.unwrap_or(65536)) * 65536
}

fn in_limit(plugin: &CurrentPlugin, offset: u64, length: u64) -> Option<usize> {
    let end = offset.checked_add(length)?;
    (end <= limit(plugin)).then_some(usize::try_from(length).ok()?)
}

/// The bytes of `handle`, or `None` if they are not all inside the kernel's memory.
pub(crate) fn copy_block(plugin: &mut CurrentPlugin, handle: MemoryHandle) -> Option<Vec<u8>> {
    let len = in_limit(plugin, handle.offset, handle.length)?;
    let mut bytes = vec![0u8; len];
    if len == 0 {
        return Some(bytes);
    }
    let remote = base(plugin)? + handle.offset as usize;
    let local = libc::iovec { iov_base: bytes.as_mut_ptr().cast(), iov_len: len };
    let remote = libc::iovec { iov_base: remote as *mut libc::c_void, iov_len: len };
    // SAFETY: `local` is our own buffer of `len` bytes. `remote` is never dereferenced by us:
    // the kernel checks it against this process's mappings and copies, or stops short.
    let copied = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    (copied == len as isize).then_some(bytes)
}

/// Whether `length` bytes at `offset` are all inside the kernel's memory.
fn accessible(plugin: &mut CurrentPlugin, offset: u64, length: u64) -> bool {
    // The accessible part of a memory is a prefix: its last byte decides.
    in_limit(plugin, offset, length).is_some()
        && (length == 0 || copy_block(plugin, MemoryHandle { offset: offset + length - 1, length: 1 }).is_some())
}

/// A new block holding `bytes` (handle 0 for none), written only if it lies in the memory.
pub(crate) fn new_block(plugin: &mut CurrentPlugin, bytes: &[u8]) -> Result<MemoryHandle, extism::Error> {
    if bytes.is_empty() {
        return Ok(MemoryHandle::null());
    }
    // The allocator runs in wasm (bounds-checked), but with a forged root it may hand out a
    // block past the memory's end.
    let handle = plugin.memory_alloc(bytes.len() as u64)?;
    let corrupted = || extism::Error::msg(format!("the plugin corrupted its memory (a new block at {} is outside it)", handle.offset));
    in_limit(plugin, handle.offset, handle.length).ok_or_else(corrupted)?;
    let remote = base(plugin).ok_or_else(corrupted)? + handle.offset as usize;
    let local = libc::iovec { iov_base: bytes.as_ptr() as *mut libc::c_void, iov_len: bytes.len() };
    let remote = libc::iovec { iov_base: remote as *mut libc::c_void, iov_len: bytes.len() };
    // SAFETY: as in `copy_block`; the target lies inside the kernel memory's reservation
    // (checked against the limit) and the kernel refuses pages that are not writable.
    let written = unsafe { libc::process_vm_writev(libc::getpid(), &local, 1, &remote, 1, 0) };
    if written != bytes.len() as isize {
        return Err(corrupted());
    }
    Ok(handle)
}

fn slots(data: &Slots) -> std::sync::Arc<std::sync::Mutex<KernelSlots>> {
    data.get().expect("a Rust UserData")
}

type HostResult = Result<(), extism::Error>;

fn output_set(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], data: Slots) -> HostResult {
    let (offset, length) = (inputs[0].unwrap_i64() as u64, inputs[1].unwrap_i64() as u64);
    if !accessible(plugin, offset, length) {
        return Err(extism::Error::msg(format!("output_set: the output ({length} bytes at {offset}) is outside the plugin's memory")));
    }
    slots(&data).lock().unwrap_or_else(|p| p.into_inner()).output = (offset, length);
    Ok(())
}

fn output_offset(_: &mut CurrentPlugin, _: &[Val], outputs: &mut [Val], data: Slots) -> HostResult {
    outputs[0] = Val::I64(slots(&data).lock().unwrap_or_else(|p| p.into_inner()).output.0 as i64);
    Ok(())
}

fn output_length(_: &mut CurrentPlugin, _: &[Val], outputs: &mut [Val], data: Slots) -> HostResult {
    outputs[0] = Val::I64(slots(&data).lock().unwrap_or_else(|p| p.into_inner()).output.1 as i64);
    Ok(())
}

fn error_set(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], data: Slots) -> HostResult {
    let message = match inputs[0].unwrap_i64() {
        0 => None,
        _ => Some(
            plugin
                .memory_from_val(&inputs[0])
                .and_then(|handle| copy_block(plugin, handle))
                .map_or_else(|| "the plugin reported an error at an invalid handle".to_string(), |b| String::from_utf8_lossy(&b).into_owned()),
        ),
    };
    slots(&data).lock().unwrap_or_else(|p| p.into_inner()).error = message;
    Ok(())
}

/// The crate reads the error from the kernel after each call: it finds none, and
/// `ExtismInstance::call` reports the one kept in [`Slots`].
fn error_get(_: &mut CurrentPlugin, _: &[Val], outputs: &mut [Val], _: Slots) -> HostResult {
    outputs[0] = Val::I64(0);
    Ok(())
}

type SlotFn = fn(&mut CurrentPlugin, &[Val], &mut [Val], Slots) -> HostResult;

/// The kernel functions we shadow, sharing `slots` (one set per compiled module).
pub(crate) fn functions(slots: &Slots) -> Vec<Function> {
    let f = |name: &str, params: Vec<ValType>, results: Vec<ValType>, f: SlotFn| {
        Function::new(name, params, results, slots.clone(), f).with_namespace(EXTISM_ENV_MODULE)
    };
    vec![
        f("output_set", vec![PTR, PTR], vec![], output_set),
        f("output_offset", vec![], vec![PTR], output_offset),
        f("output_length", vec![], vec![PTR], output_length),
        f("error_set", vec![PTR], vec![], error_set),
        f("error_get", vec![], vec![PTR], error_get),
    ]
}
