//! The worker pool: the ready queue, the workers, the monitor that compensates for long
//! activations, the quiescence counter, and a run from start to report.

use super::cell::{lock, Body, Cell, Inbox, IDLE, NOTIFIED, RUNNING, SCHEDULED};
use super::checkpoint::{self, Schedule};
use super::probe::{ActorShape, Counters, LiveRun, QueueFill, RouteShape};
use super::supervise::{guarded, Reports, Supervisor};
use super::wiring::{self, Item, Outbox};
use super::{ActorFailure, ActorSpec, ActorStats, Export, Observer, Route, RunOptions, RunReport, BUDGET, MAX_COMPENSATING, MAX_QUEUE_CAPACITY, STUCK_AFTER};
use crate::component::Outputs;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A worker as the monitor sees it.
struct WorkerSlot {
    /// Odd while in an activation: incremented when one starts and when it ends.
    activations: AtomicU64,
    /// What the monitor saw at its previous look.
    seen: AtomicU64,
    /// A compensating worker was started for this one's current activation: retire after it.
    compensated: AtomicBool,
}

struct Ready {
    queue: VecDeque<usize>,
    slots: Vec<Arc<WorkerSlot>>,
    sleeping: usize,
    compensating: usize,
    monitor_parked: bool,
    shutdown: bool,
    /// A checkpoint is being taken: workers take no new activation.
    paused: bool,
    /// Workers inside an activation.
    active: usize,
}

pub(crate) struct Shared {
    pub cells: Vec<Cell>,
    /// Messages in inboxes + scheduled or running activations + live sources (the module
    /// docs' "How a run ends"); zero: the network is quiescent.
    pending: AtomicUsize,
    ready: Mutex<Ready>,
    work: Condvar,
    monitor: Condvar,
    /// A pause waits here for the running activations to end.
    settled: Condvar,
    /// The coordinator waits here for quiescence or a halt.
    done: Mutex<()>,
    done_signal: Condvar,
    halted: AtomicBool,
    capacity: usize,
    bytes: usize,
    pub reports: Reports,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// Messages a source may send in one step: one activation's worth, and never more than
    /// a queue holds, so a parked source holds at most one queue's worth.
    pub fn source_budget(&self) -> usize {
        BUDGET.min(self.capacity)
    }

    /// The byte bound of a queue.
    pub fn queue_bytes(&self) -> usize {
        self.bytes
    }

    /// The message bound of a queue.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn cell(&self, id: usize) -> &Cell {
        &self.cells[id]
    }

    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    pub fn count(&self, n: usize) {
        self.pending.fetch_add(n, Ordering::AcqRel);
    }

    pub fn uncount(&self, n: usize) {
        if n > 0 && self.pending.fetch_sub(n, Ordering::AcqRel) == n {
            self.signal_done();
        }
    }

    fn signal_done(&self) {
        let _guard = lock(&self.done);
        self.done_signal.notify_all();
    }

    /// Makes sure `id` will be activated: enqueues it if idle (at most once), or tells its
    /// running activation to go again.
    pub fn wake(&self, id: usize) {
        self.wake_or_hand_off(id, None);
    }

    /// [`Shared::wake`], except that an idle `id` goes into `handoff` if that is empty, instead
    /// of the ready queue: see [`Shared::flush`].
    fn wake_or_hand_off(&self, id: usize, handoff: Option<&mut Option<usize>>) {
        let state = &self.cells[id].state;
        let mut now = state.load(Ordering::Acquire);
        loop {
            let next = match now {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return,
            };
            match state.compare_exchange_weak(now, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if next == SCHEDULED {
                        self.count(1);
                        match handoff {
                            Some(slot) if slot.is_none() => *slot = Some(id),
                            _ => self.enqueue(id),
                        }
                    }
                    return;
                }
                Err(actual) => now = actual,
            }
        }
    }

    fn enqueue(&self, id: usize) {
        self.push_ready(&mut lock(&self.ready), id);
    }

    /// Appends `id` to the ready queue (whose lock the caller holds) and wakes a sleeping
    /// worker, and the monitor, for it.
    fn push_ready(&self, ready: &mut Ready, id: usize) {
        ready.queue.push_back(id);
        if ready.sleeping > 0 {
            self.work.notify_one();
        }
        if ready.monitor_parked {
            self.monitor.notify_one();
        }
    }

    /// Moves what `me` holds into its targets' inboxes, as far as they have room: one lock and
    /// at most one wake-up per target. What does not fit stays, and `me` is registered as a
    /// waiter of that target. Returns whether everything was delivered.
    ///
    /// With `handoff` (the flush that ends an activation), the first target this makes ready
    /// is not enqueued but handed to the calling worker, which runs it next unless other
    /// actors are waiting ([`work`]). A chain then runs down one worker without a queue
    /// operation or a wake-up per hop: with few messages in a long chain, waking a sleeping
    /// worker for every hop (and its finding nothing to do) cost more than the hop itself.
    pub fn flush(&self, me: usize, outbox: &Mutex<Outbox>, mut handoff: Option<&mut Option<usize>>) -> bool {
        let mut guard = lock(outbox);
        let outbox = &mut *guard;
        if outbox.held == 0 {
            return true;
        }
        let dirty = std::mem::take(&mut outbox.dirty);
        for slot in dirty {
            let target = outbox.slots[slot];
            let queue = &mut outbox.queues[slot];
            let mut inbox = lock(&self.cells[target.to].inbox);
            let mut moved = 0;
            while let Some(item) = queue.front_mut() {
                if target.bounded && !inbox.has_room(item, self.capacity, self.bytes) {
                    break;
                }
                let item = queue.pop_front().expect("front exists");
                outbox.bytes -= item.size;
                // Counted before the target can see it (it uncounts under this lock).
                self.count(1);
                inbox.push(item);
                moved += 1;
            }
            let left = !queue.is_empty();
            if left {
                inbox.wait(me);
            } else {
                inbox.unwait(me);
            }
            drop(inbox);
            outbox.held -= moved;
            if left {
                outbox.dirty.push(slot);
            }
            if moved > 0 {
                self.wake_or_hand_off(target.to, handoff.as_deref_mut());
            }
        }
        outbox.held == 0
    }

    /// How full every actor's queues are (for a probe): one inbox lock, then one outbox lock,
    /// per actor, never both at once (a flush takes them in the other order).
    fn queue_fill(&self) -> Vec<QueueFill> {
        self.cells
            .iter()
            .map(|cell| {
                let queued = lock(&cell.inbox).lengths();
                let outbox = lock(&cell.outbox);
                let held = outbox.slots.iter().zip(&outbox.queues).filter(|(_, q)| !q.is_empty()).map(|(slot, q)| (slot.to, q.len())).collect();
                QueueFill { queued, held }
            })
            .collect()
    }

    /// Runs one activation of `id`, which the caller took from the ready queue (or was handed).
    /// Returns the actor it hands on (scheduled and counted, in no queue), if any.
    fn activate(&self, id: usize) -> Option<usize> {
        let cell = &self.cells[id];
        cell.state.store(RUNNING, Ordering::Release);
        let mut handoff = None;
        let again = !self.halted.load(Ordering::Acquire) && cell.activate(id, self, &mut handoff);
        if again {
            cell.state.store(SCHEDULED, Ordering::Release);
            self.enqueue(id);
            return handoff;
        }
        match cell.state.compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => self.uncount(1),
            Err(_) if self.halted.load(Ordering::Acquire) => {
                cell.state.store(IDLE, Ordering::Release);
                self.uncount(1);
            }
            Err(_) => {
                // Woken while running: go again (still counted).
                cell.state.store(SCHEDULED, Ordering::Release);
                self.enqueue(id);
            }
        }
        handoff
    }

    /// Waits until the network is quiescent (true) or halted (false).
    fn wait_quiet(&self) -> bool {
        match self.wait_until(None) {
            Waited::Quiet => true,
            Waited::Halted => false,
            Waited::Due => unreachable!("no deadline was given"),
        }
    }

    /// Waits until the network is quiescent, halted, or `deadline` has come.
    fn wait_until(&self, deadline: Option<Instant>) -> Waited {
        let mut guard = lock(&self.done);
        loop {
            if self.halted.load(Ordering::Acquire) {
                return Waited::Halted;
            }
            if self.pending.load(Ordering::Acquire) == 0 {
                return Waited::Quiet;
            }
            guard = match deadline {
                None => self.done_signal.wait(guard).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Waited::Due;
                    }
                    self.done_signal.wait_timeout(guard, deadline - now).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }

    /// Stops workers from starting activations and waits, at most `patience`, until none is
    /// running. False: one still runs, and the pool is resumed.
    pub fn pause(&self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let mut ready = lock(&self.ready);
        ready.paused = true;
        while ready.active > 0 {
            let now = Instant::now();
            if now >= deadline {
                ready.paused = false;
                self.work.notify_all();
                return false;
            }
            ready = self.settled.wait_timeout(ready, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }

    pub fn resume(&self) {
        let mut ready = lock(&self.ready);
        ready.paused = false;
        if !ready.queue.is_empty() {
            self.work.notify_all();
        }
    }

    fn halt(&self) {
        self.halted.store(true, Ordering::Release);
        self.signal_done();
    }

    /// Ends every worker once its current activation returns, and waits for them.
    fn shut_down(&self) {
        {
            let mut ready = lock(&self.ready);
            ready.shutdown = true;
            self.work.notify_all();
            self.monitor.notify_all();
        }
        loop {
            let handles = std::mem::take(&mut *lock(&self.handles));
            if handles.is_empty() {
                break;
            }
            for handle in handles {
                let _ = handle.join();
            }
        }
    }
}

fn spawn_worker(shared: &Arc<Shared>, ready: &mut Ready) -> bool {
    let slot = Arc::new(WorkerSlot { activations: AtomicU64::new(0), seen: AtomicU64::new(0), compensated: AtomicBool::new(false) });
    let worker = {
        let (shared, slot) = (shared.clone(), slot.clone());
        std::thread::Builder::new().name("reflow worker".into()).spawn(move || work(&shared, &slot))
    };
    match worker {
        Ok(handle) => {
            ready.slots.push(slot);
            lock(&shared.handles).push(handle);
            true
        }
        Err(e) => {
            tracing::error!("cannot start a worker thread: {e}");
            false
        }
    }
}

fn work(shared: &Shared, slot: &Arc<WorkerSlot>) {
    let mut ready = lock(&shared.ready);
    // An actor the previous activation handed on, to run next (decided under this lock).
    let mut handed: Option<usize> = None;
    loop {
        if ready.shutdown {
            return;
        }
        let next = if ready.paused { None } else { handed.take().or_else(|| ready.queue.pop_front()) };
        let Some(id) = next else {
            ready.sleeping += 1;
            ready = shared.work.wait(ready).unwrap_or_else(|p| p.into_inner());
            ready.sleeping -= 1;
            continue;
        };
        ready.active += 1;
        drop(ready);
        slot.activations.fetch_add(1, Ordering::AcqRel);
        let handoff = shared.activate(id);
        slot.activations.fetch_add(1, Ordering::AcqRel);
        // The same lock takes the next cell: a pause costs the workers nothing.
        ready = lock(&shared.ready);
        ready.active -= 1;
        if let Some(next) = handoff {
            // Run it here unless others wait (they go first, in order: no actor is starved by
            // a chain, or a cycle, handing on forever) or a pause holds every worker back, or
            // this worker retires below.
            if ready.queue.is_empty() && !ready.paused && !slot.compensated.load(Ordering::Acquire) {
                handed = Some(next);
            } else {
                shared.push_ready(&mut ready, next);
            }
        }
        if ready.paused && ready.active == 0 {
            shared.settled.notify_all();
        }
        if slot.compensated.load(Ordering::Acquire) {
            // A compensating worker took this one's place while it was stuck: retire.
            ready.compensating -= 1;
            ready.slots.retain(|s| !Arc::ptr_eq(s, slot));
            return;
        }
    }
}

/// What [`Shared::wait_until`] woke for.
enum Waited {
    Quiet,
    Halted,
    Due,
}

/// Looks at the workers every [`STUCK_AFTER`] while any is awake; starts a compensating worker
/// for one that is still in the activation it was in at the previous look, if other cells are
/// waiting. Sleeps without a timeout while every worker sleeps.
fn monitor(shared: &Arc<Shared>) {
    let mut ready = lock(&shared.ready);
    loop {
        if ready.shutdown {
            return;
        }
        if ready.sleeping == ready.slots.len() && ready.queue.is_empty() {
            ready.monitor_parked = true;
            ready = shared.monitor.wait(ready).unwrap_or_else(|p| p.into_inner());
            ready.monitor_parked = false;
            continue;
        }
        ready = shared.monitor.wait_timeout(ready, STUCK_AFTER).unwrap_or_else(|p| p.into_inner()).0;
        if ready.shutdown {
            return;
        }
        let mut stuck = Vec::new();
        for slot in &ready.slots {
            let now = slot.activations.load(Ordering::Acquire);
            let before = slot.seen.swap(now, Ordering::AcqRel);
            if now % 2 == 1 && now == before && !slot.compensated.load(Ordering::Acquire) {
                stuck.push(slot.clone());
            }
        }
        if ready.queue.is_empty() || ready.paused {
            // Nobody is waiting for a worker (or a checkpoint holds them all back on purpose):
            // nothing to compensate for yet.
            continue;
        }
        for slot in stuck {
            if ready.compensating >= MAX_COMPENSATING {
                break;
            }
            if spawn_worker(shared, &mut ready) {
                slot.compensated.store(true, Ordering::Release);
                ready.compensating += 1;
            }
        }
    }
}

/// The number of workers for `requested` (0: one per core).
fn worker_count(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub(crate) fn run(actors: Vec<ActorSpec>, routes: &[Route], exports: &[Export], options: &RunOptions, observer: Arc<dyn Observer>) -> RunReport {
    let n = actors.len();
    let counters = options.probe.as_ref().map(|_| Counters::new(n, routes.len()));
    let wiring = wiring::build(n, routes, exports, &observer, options.observe_edges, counters.as_ref());
    let mut shapes = Vec::with_capacity(n);
    let mut cells = Vec::with_capacity(n);
    let mut initial_messages = 0;
    let mut unrestored = Vec::new();
    for (index, spec) in actors.into_iter().enumerate() {
        let metadata = spec.component.metadata();
        let inports: Vec<String> = metadata.inports.iter().map(|p| p.name.clone()).collect();
        let required: Vec<String> = metadata.inports.iter().filter(|p| p.required).map(|p| p.name.clone()).collect();
        if counters.is_some() {
            let outports = metadata.outports.iter().map(|p| p.name.clone()).collect();
            shapes.push(ActorShape { name: spec.name.clone(), inports: inports.clone(), outports });
        }
        let mut inbox = Inbox::new(&inports, &required);
        for (port, message) in spec.initial {
            let size = wiring::estimated_size(&message);
            // IIPs are queued before anything runs: beyond the bound, so they never wait.
            inbox.push(Item { port: port.as_str().into(), message, size });
            initial_messages += 1;
        }
        if let Err(e) = checkpoint::hold_again(&mut lock(&wiring.outboxes[index]), spec.held) {
            unrestored.push(ActorFailure { actor: spec.name.clone(), message: e });
        }
        let body = Body {
            component: spec.component,
            outputs: Outputs::new(wiring.sinks[index].clone(), options.stop.clone()),
            outbox: wiring.outboxes[index].clone(),
            supervisor: Supervisor::new(spec.policy, wiring.error_connected[index], counters.clone().map(|c| (c, index))),
            stats: ActorStats { name: spec.name, ..Default::default() },
            source: spec.source,
        };
        let outbox = wiring.outboxes[index].clone();
        cells.push(Cell { state: AtomicU8::new(SCHEDULED), inbox: Mutex::new(inbox), outbox, body: Mutex::new(body) });
    }
    let shared = Arc::new(Shared {
        cells,
        // Every cell starts scheduled, and every IIP is queued.
        pending: AtomicUsize::new(n + initial_messages),
        ready: Mutex::new(Ready {
            queue: (0..n).collect(),
            slots: Vec::new(),
            sleeping: 0,
            compensating: 0,
            monitor_parked: false,
            shutdown: false,
            paused: false,
            active: 0,
        }),
        work: Condvar::new(),
        monitor: Condvar::new(),
        settled: Condvar::new(),
        done: Mutex::new(()),
        done_signal: Condvar::new(),
        halted: AtomicBool::new(false),
        capacity: options.queue_capacity.clamp(1, MAX_QUEUE_CAPACITY),
        bytes: options.queue_bytes.max(1),
        reports: Reports {
            observer,
            failures: Mutex::default(),
            dead_letters: Mutex::default(),
            graph_failed: Mutex::default(),
            stop: options.stop.clone(),
        },
        handles: Mutex::default(),
    });
    if let (Some(probe), Some(counters)) = (&options.probe, counters) {
        let weak = Arc::downgrade(&shared);
        let queues = Box::new(move || weak.upgrade().map(|shared| shared.queue_fill()).unwrap_or_default());
        probe.attach(Arc::new(LiveRun { actors: shapes, routes: routes.iter().map(|r| RouteShape { from: r.from, outport: r.outport.clone(), to: r.to, inport: r.inport.clone() }).collect(), capacity: shared.capacity, counters, queues }));
    }
    if let Some(inlet) = &options.inlet {
        inlet.attach(&shared);
    }
    if let Some(halt) = &options.halt {
        let weak = Arc::downgrade(&shared);
        halt.set_waker(Some(Arc::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.halt();
            }
        })));
        if halt.is_raised() {
            shared.halt();
        }
    }
    {
        let mut ready = lock(&shared.ready);
        for _ in 0..worker_count(options.workers) {
            spawn_worker(&shared, &mut ready);
        }
    }
    let monitor_thread = {
        let shared = shared.clone();
        std::thread::Builder::new().name("reflow monitor".into()).spawn(move || monitor(&shared))
    };
    if let Err(e) = &monitor_thread {
        tracing::warn!("cannot start the worker monitor ({e}): a long call will hold its worker");
    }

    for failure in unrestored {
        shared.reports.failed(failure);
    }
    // An inlet sends into inboxes from outside the pool, which a pause does not hold back:
    // such a run (an editor's, never a durable one) is not checkpointed.
    let mut schedule = options.checkpoint.clone().filter(|_| options.inlet.is_none()).map(Schedule::new);
    let mut checkpoint_failed = None;
    let mut running = loop {
        match shared.wait_until(schedule.as_ref().map(|s| s.due)) {
            Waited::Quiet => break true,
            Waited::Halted => break false,
            Waited::Due => {
                let schedule = schedule.as_mut().expect("a deadline comes from a schedule");
                if let Err(e) = schedule.tick(&shared) {
                    // Running on without durability would break the promise: stop here, at
                    // the last checkpoint written.
                    tracing::debug!("checkpoint not written: {e}");
                    checkpoint_failed = Some(e);
                    options.stop.store(true, Ordering::SeqCst);
                    shared.halt();
                }
            }
        }
    };
    if !running {
        shared.shut_down();
    }
    for &id in &wiring.finish_order {
        let cell = &shared.cells[id];
        let held = {
            let mut body = lock(&cell.body);
            let body = &mut *body;
            if let Err(e) = guarded(|| body.component.finish(&body.outputs)) {
                body.supervisor.failed_outside_call(e, &mut body.stats, &shared.reports);
            }
            let held = lock(&body.outbox).held;
            held
        };
        // What `finish` sent is delivered (and everything it causes done) before the next.
        if running && held > 0 {
            shared.wake(id);
            running = shared.wait_quiet();
            if !running {
                shared.shut_down();
            }
        }
    }
    shared.shut_down();
    if let Ok(handle) = monitor_thread {
        let _ = handle.join();
    }
    if let Some(halt) = &options.halt {
        halt.set_waker(None);
    }
    if let Some(inlet) = &options.inlet {
        inlet.detach();
    }
    // A halted run keeps its last periodic checkpoint: what it dropped is still there.
    if let Some(schedule) = schedule.as_mut().filter(|_| running && checkpoint_failed.is_none()) {
        if let Err(e) = schedule.last(&shared) {
            tracing::debug!("final checkpoint not written: {e}");
            checkpoint_failed = Some(e);
        }
    }
    let mut report = report(&shared);
    report.checkpoint_failed = checkpoint_failed;
    report.checkpoints = schedule.map_or(0, |s| s.written);
    report
}

fn report(shared: &Shared) -> RunReport {
    let halted = shared.halted.load(Ordering::Acquire);
    let mut unfired = vec![0u64; shared.cells.len()];
    let mut actors = Vec::with_capacity(shared.cells.len());
    for cell in &shared.cells {
        let mut body = lock(&cell.body);
        let outbox = body.outbox.clone();
        let mut outbox = lock(&outbox);
        if halted {
            outbox.clear();
        } else {
            // Held for an inport queue that stayed full: they never fired there.
            for (slot, queue) in outbox.slots.iter().zip(&outbox.queues) {
                unfired[slot.to] += queue.len() as u64;
            }
        }
        let sent = outbox.sent;
        drop(outbox);
        let mut stats = std::mem::take(&mut body.stats);
        stats.sent = sent;
        stats.dropped = body.component.dropped_messages();
        actors.push(stats);
    }
    for (index, cell) in shared.cells.iter().enumerate() {
        let mut inbox = lock(&cell.inbox);
        let stats = &mut actors[index];
        stats.received = inbox.received;
        stats.unfired = inbox.queued() + unfired[index];
        if stats.unfired > 0 && !halted {
            tracing::warn!(
                "actor {}: {} message(s) never processed: required inport(s) {} got no more messages",
                stats.name,
                stats.unfired,
                inbox.missing().join(", ")
            );
        }
        inbox.clear();
    }
    RunReport {
        actors,
        failures: shared.reports.take_failures(),
        dead_letters: shared.reports.take_dead_letters(),
        graph_failed: shared.reports.take_graph_failed(),
        ..RunReport::default()
    }
}
