//! Where instances get their memory: wasmtime's pooling allocator first, an on-demand engine
//! when the pool is full.
//!
//! Why pooling: a new actor of a loaded plugin (a fan-out, a restart after a trap) should cost
//! microseconds. With the pooling allocator every memory, table and instance lives in a slot
//! reserved once at start; instantiating takes a free slot, and a slot that last held the same
//! module still has its copy-on-write memory image mapped, so only the pages the last instance
//! dirtied are reset. The on-demand allocator instead maps (and later unmaps) a fresh 4 GiB
//! reservation per memory, two per actor (the plugin's and our kernel's).
//!
//! Why a second engine: the pool's size is fixed when the engine starts and every slot is
//! 4 GiB of address space (the reservation that lets compiled code skip bounds checks; a
//! smaller one would make every memory access of every call pay a check). A pool for 10,000
//! actors would need ~80 TiB of one contiguous reservation, more than a 47-bit address space
//! has free in one piece. So the pool holds [`pool_actors`] actors (1,000 by default,
//! `REFLOW_WASM_POOL_ACTORS` to change it) and the actors beyond it, or a module the pool's
//! per-slot limits refuse (more than one memory or table, a table over 20,000 elements), run on
//! an on-demand engine made the first time one is needed. Both engines compile with the same
//! settings and the same memory reservation, so a call costs the same on either.
//!
//! How many actors fit in one process is bounded by the kernel's map count
//! (`vm.max_map_count`, 65,530 by default), not by this code: each live memory takes two or
//! three mappings (accessible, reserved, and the copy-on-write image if it has data), about five
//! per actor, so ~13,000 WASM actors. The kernel module has no data segment on purpose (the
//! host writes its header), which keeps its memory at two mappings.

use wasmtime::{Config, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The actors the pool holds unless `REFLOW_WASM_POOL_ACTORS` says otherwise.
const DEFAULT_POOL_ACTORS: u32 = 1000;
/// Slots for instances that are not actors: the one that reads a plugin's metadata at load.
const SPARE_INSTANCES: u32 = 16;
/// Slots that keep their module's image mapped while unused, so that re-instantiating that
/// module (a restart after a trap) only resets dirtied pages.
const WARM_SLOTS: u32 = 256;
/// Bytes of a freed memory's dirty pages reset with `memset` instead of `madvise` (see
/// [`pooled`]): a Rust plugin's working set (its stack top, data and first heap pages) fits,
/// and only pages an instance wrote are kept, so an unused warm slot holds at most this much.
const MEMORY_KEEP_RESIDENT: usize = 256 << 10;
/// The same for a freed table (faster for the few elements a call changes).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// How many actors the pooled engine holds: `REFLOW_WASM_POOL_ACTORS`, or 1,000. Zero turns
/// the pool off (every instance on the on-demand engine).
pub(super) fn pool_actors() -> u32 {
    match std::env::var("REFLOW_WASM_POOL_ACTORS") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            tracing::warn!("REFLOW_WASM_POOL_ACTORS={text:?} is not a number; using {DEFAULT_POOL_ACTORS}");
            DEFAULT_POOL_ACTORS
        }),
        Err(_) => DEFAULT_POOL_ACTORS,
    }
}

/// Puts `config` on the pooling allocator, sized for `actors` actors of two instances each
/// (the plugin and our kernel), each with at most one memory and one table.
///
/// Why `pagemap_scan`: without it, "keep resident" means the *first* bytes of a memory, but a
/// Rust plugin never touches its first pages (its stack grows down from 1 MiB, data and heap
/// lie above): every page it used was `madvise`d away when the instance was dropped, then
/// faulted in again (a page fault and, on drop, a TLB shootdown each) by the next instance.
/// With Linux's `PAGEMAP_SCAN` (6.7+; ignored where missing) the pool finds the pages an
/// instance actually wrote and resets those in place. Measured in one run (a loop of new
/// doubler instances, and of trapping `state_probe` calls, each against the same loop with the
/// scan off): a new instance ~1.8x cheaper, a restart after a trap ~1.7x.
pub(super) fn pooled(config: &mut Config, actors: u32) {
    let instances = actors.saturating_mul(2).saturating_add(SPARE_INSTANCES);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(instances)
        .total_memories(instances)
        .total_tables(instances)
        // Plugins allocate no GC objects; the default (1,000) would only reserve address space.
        .total_gc_heaps(SPARE_INSTANCES)
        .max_unused_warm_slots(WARM_SLOTS)
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
}

/// Whether a failed instantiation on the pooled engine should be retried on the on-demand
/// one: the pool is full (every slot holds a live instance).
pub(super) fn pool_is_full(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some())
}
