//! The WASI a plugin gets on our engine: nothing but its grants, read-only where granted
//! read-only, and blocking calls that end with the call's time limit.
//!
//! wasi-common 43 has no read-only preopen (Extism's "read-only" directory checks the rights
//! a `path_open` asks for, not its flags, so `O_CREAT|O_TRUNC` with read rights empties a
//! file). [`ReadOnlyDir`] wraps a granted directory and refuses every operation that changes
//! something under it: opening with create, truncate, exclusive, append or write access,
//! making or removing entries, renaming, linking, setting times; the directories and files
//! opened through it are wrapped the same way ([`ReadOnlyFile`] refuses writes, resizing and
//! setting times, which the OS would allow on a file opened for reading).
//!
//! A wasm call cannot be interrupted inside a host call: wasmtime's epoch deadline is checked
//! in wasm code only, so `poll_oneoff` asked to sleep 8 s would hold the actor (and Ctrl-C,
//! `network:stop`) for 8 s whatever the time limit. [`ClampedSched`] sleeps at most until the
//! call's deadline ([`Deadline`]) and then traps; the call fails naming the time limit.
//!
//! The clocks and the random source go through the instance's [`Tape`]: live by default, and
//! recorded or replayed for the call that asks (`crate::entropy`, for `reflow replay`).

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasi_common::dir::{OpenResult, ReaddirCursor, ReaddirEntity};
use wasi_common::file::{Advice, FdFlags, FileType, Filestat, OFlags};
use wasi_common::clocks::WasiMonotonicOffsetClock;
use wasi_common::{Error, ErrorExt, RngCore, SystemTimeSpec, WasiClocks, WasiDir, WasiFile, WasiMonotonicClock, WasiSched, WasiSystemClock};

use crate::entropy::{Entropy, EntropyRead};

/// The current call's [`Entropy`], shared by the instance's clocks and random source.
pub(crate) type Tape = Arc<Mutex<Entropy>>;

fn on_tape<T>(tape: &Tape, f: impl FnOnce(&mut Entropy) -> T) -> T {
    f(&mut tape.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The wall clock, through the tape.
struct TapedWall {
    inner: Box<dyn WasiSystemClock>,
    tape: Tape,
}

impl WasiSystemClock for TapedWall {
    fn resolution(&self) -> cap_std::time::Duration {
        self.inner.resolution()
    }

    fn now(&self, precision: cap_std::time::Duration) -> cap_std::time::SystemTime {
        let since_epoch = |t: cap_std::time::SystemTime| t.into_std().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let nanos = on_tape(&self.tape, |tape| {
            tape.clock(|| since_epoch(self.inner.now(precision)), EntropyRead::Wall, |read| match read {
                EntropyRead::Wall(nanos) => Some(*nanos),
                _ => None,
            })
        });
        cap_std::time::SystemTime::from_std(std::time::UNIX_EPOCH + Duration::from_nanos(nanos))
    }
}

/// The monotonic clock, through the tape: kept as the time since the instance started, so a
/// replay on another instance sees the same offsets.
struct TapedMonotonic {
    inner: Box<dyn WasiMonotonicClock>,
    start: cap_std::time::Instant,
    tape: Tape,
}

impl WasiMonotonicClock for TapedMonotonic {
    fn resolution(&self) -> cap_std::time::Duration {
        self.inner.resolution()
    }

    fn now(&self, precision: cap_std::time::Duration) -> cap_std::time::Instant {
        let nanos = on_tape(&self.tape, |tape| {
            tape.clock(|| self.inner.now(precision).duration_since(self.start).as_nanos() as u64, EntropyRead::Monotonic, |read| match read {
                EntropyRead::Monotonic(nanos) => Some(*nanos),
                _ => None,
            })
        });
        self.start + Duration::from_nanos(nanos)
    }
}

/// The random source, through the tape.
struct TapedRandom {
    inner: Box<dyn RngCore + Send + Sync>,
    tape: Tape,
}

impl RngCore for TapedRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let inner = &mut self.inner;
        on_tape(&self.tape, |tape| tape.random(dest, |dest| inner.fill_bytes(dest)));
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), cap_rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The OS's clocks and random source, each behind `tape`.
fn taped(tape: &Tape) -> (Box<dyn RngCore + Send + Sync>, WasiClocks) {
    use wasi_common::sync::{ambient_authority, clocks::MonotonicClock, clocks::SystemClock, random_ctx};
    let monotonic = MonotonicClock::new(ambient_authority());
    let start = monotonic.now(monotonic.resolution());
    let clocks = WasiClocks {
        system: Some(Box::new(TapedWall { inner: Box::new(SystemClock::new(ambient_authority())), tape: tape.clone() })),
        monotonic: Some(WasiMonotonicOffsetClock {
            creation_time: start,
            abs_clock: Box::new(TapedMonotonic { inner: Box::new(monotonic), start, tape: tape.clone() }),
        }),
    };
    (Box::new(TapedRandom { inner: random_ctx(), tape: tape.clone() }), clocks)
}

/// When the running call (or initializer) must end; shared by the store and its WASI.
#[derive(Default)]
pub(crate) struct Deadline {
    at: Mutex<Option<Instant>>,
    /// Set when a blocking WASI call was cut at the deadline, so the trap names the limit.
    hit: AtomicBool,
}

impl Deadline {
    /// Starts a call that may run for `timeout`.
    pub fn arm(&self, timeout: Duration) {
        *self.at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now().checked_add(timeout);
        self.hit.store(false, Ordering::Relaxed);
    }

    /// The time the call has left (`None`: no deadline).
    pub fn left(&self) -> Option<Duration> {
        self.at.lock().unwrap_or_else(|p| p.into_inner()).map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether a blocking call was cut at the deadline during this call.
    pub fn hit(&self) -> bool {
        self.hit.load(Ordering::Relaxed)
    }

    /// Sleeps what is left and traps: a wait past the deadline would hold the actor.
    fn cut(&self, left: Duration) -> Error {
        std::thread::sleep(left);
        self.hit.store(true, Ordering::Relaxed);
        Error::trap(wasmtime::Error::msg("the call time limit ended a blocking WASI call"))
    }
}

/// wasi-common's scheduler, with every wait ending at the call's deadline.
pub(crate) struct ClampedSched {
    inner: Box<dyn WasiSched>,
    deadline: Arc<Deadline>,
}

impl ClampedSched {
    pub fn new(deadline: Arc<Deadline>) -> ClampedSched {
        ClampedSched { inner: wasi_common::sync::sched_ctx(), deadline }
    }
}

#[async_trait::async_trait]
impl WasiSched for ClampedSched {
    async fn poll_oneoff<'a>(&self, poll: &mut wasi_common::Poll<'a>) -> Result<(), Error> {
        // Only clocks wait here: the descriptors a plugin can poll (granted files, which are
        // always ready; stdio pipes, which cannot be polled) return at once.
        let clocks_only = poll.rw_subscriptions().next().is_none();
        if let (Some(left), true) = (self.deadline.left(), clocks_only) {
            let wait = poll.earliest_clock_deadline().map(|clock| clock.duration_until().unwrap_or_default());
            if wait.is_some_and(|wait| wait > left) {
                return Err(self.deadline.cut(left));
            }
        }
        self.inner.poll_oneoff(poll).await
    }

    async fn sched_yield(&self) -> Result<(), Error> {
        self.inner.sched_yield().await
    }

    async fn sleep(&self, duration: Duration) -> Result<(), Error> {
        match self.deadline.left() {
            Some(left) if duration > left => Err(self.deadline.cut(left)),
            _ => self.inner.sleep(duration).await,
        }
    }
}

fn refused() -> Error {
    Error::perm().context("the directory is granted read-only")
}

/// A granted directory the plugin may read, never change.
pub(crate) struct ReadOnlyDir(pub Box<dyn WasiDir>);

#[async_trait::async_trait]
impl WasiDir for ReadOnlyDir {
    fn as_any(&self) -> &dyn Any {
        self
    }

    async fn open_file(
        &self,
        symlink_follow: bool,
        path: &str,
        oflags: OFlags,
        read: bool,
        write: bool,
        fdflags: FdFlags,
    ) -> Result<OpenResult, Error> {
        if write || oflags.intersects(OFlags::CREATE | OFlags::TRUNCATE | OFlags::EXCLUSIVE) || fdflags.contains(FdFlags::APPEND) {
            return Err(refused());
        }
        Ok(match self.0.open_file(symlink_follow, path, oflags, read, false, fdflags).await? {
            OpenResult::File(file) => OpenResult::File(Box::new(ReadOnlyFile(file))),
            OpenResult::Dir(dir) => OpenResult::Dir(Box::new(ReadOnlyDir(dir))),
        })
    }

    async fn create_dir(&self, _path: &str) -> Result<(), Error> {
        Err(refused())
    }

    async fn readdir(&self, cursor: ReaddirCursor) -> Result<Box<dyn Iterator<Item = Result<ReaddirEntity, Error>> + Send>, Error> {
        self.0.readdir(cursor).await
    }

    async fn symlink(&self, _old_path: &str, _new_path: &str) -> Result<(), Error> {
        Err(refused())
    }

    async fn remove_dir(&self, _path: &str) -> Result<(), Error> {
        Err(refused())
    }

    async fn unlink_file(&self, _path: &str) -> Result<(), Error> {
        Err(refused())
    }

    async fn read_link(&self, path: &str) -> Result<std::path::PathBuf, Error> {
        self.0.read_link(path).await
    }

    async fn get_filestat(&self) -> Result<Filestat, Error> {
        self.0.get_filestat().await
    }

    async fn get_path_filestat(&self, path: &str, follow_symlinks: bool) -> Result<Filestat, Error> {
        self.0.get_path_filestat(path, follow_symlinks).await
    }

    async fn rename(&self, _path: &str, _dest_dir: &dyn WasiDir, _dest_path: &str) -> Result<(), Error> {
        Err(refused())
    }

    async fn hard_link(&self, _path: &str, _target_dir: &dyn WasiDir, _target_path: &str) -> Result<(), Error> {
        Err(refused())
    }

    async fn set_times(
        &self,
        _path: &str,
        _atime: Option<SystemTimeSpec>,
        _mtime: Option<SystemTimeSpec>,
        _follow_symlinks: bool,
    ) -> Result<(), Error> {
        Err(refused())
    }
}

/// A file opened under a read-only grant: reads pass, every change is refused.
struct ReadOnlyFile(Box<dyn WasiFile>);

#[async_trait::async_trait]
impl WasiFile for ReadOnlyFile {
    fn as_any(&self) -> &dyn Any {
        self
    }

    async fn get_filetype(&self) -> Result<FileType, Error> {
        self.0.get_filetype().await
    }

    fn isatty(&self) -> bool {
        self.0.isatty()
    }

    async fn get_fdflags(&self) -> Result<FdFlags, Error> {
        self.0.get_fdflags().await
    }

    async fn get_filestat(&self) -> Result<Filestat, Error> {
        self.0.get_filestat().await
    }

    async fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<(), Error> {
        self.0.advise(offset, len, advice).await
    }

    async fn read_vectored<'a>(&self, bufs: &mut [std::io::IoSliceMut<'a>]) -> Result<u64, Error> {
        self.0.read_vectored(bufs).await
    }

    async fn read_vectored_at<'a>(&self, bufs: &mut [std::io::IoSliceMut<'a>], offset: u64) -> Result<u64, Error> {
        self.0.read_vectored_at(bufs, offset).await
    }

    async fn seek(&self, pos: std::io::SeekFrom) -> Result<u64, Error> {
        self.0.seek(pos).await
    }

    async fn peek(&self, buf: &mut [u8]) -> Result<u64, Error> {
        self.0.peek(buf).await
    }

    fn num_ready_bytes(&self) -> Result<u64, Error> {
        self.0.num_ready_bytes()
    }

    async fn readable(&self) -> Result<(), Error> {
        self.0.readable().await
    }

    // Writes, resizing, `set_fdflags` (append) and setting times keep the trait's refusals.
}

/// WASI with nothing granted but `grants`' directories, preopened at their guest paths
/// (read-only ones behind [`ReadOnlyDir`]), waits clamped to `deadline`. The `env:` values
/// are deliberately not WASI env vars: as on the Extism backend (which cannot set them), they
/// reach the plugin as `resolved_env` and Extism config only, so both backends behave the same.
/// Clocks and random go through `tape`.
pub(crate) fn wasi_ctx(grants: &crate::Grants, deadline: Arc<Deadline>, tape: &Tape) -> Result<wasi_common::WasiCtx, String> {
    use wasi_common::sync::dir::Dir;
    let (random, clocks) = taped(tape);
    let ctx = wasi_common::WasiCtx::new(random, clocks, Box::new(ClampedSched::new(deadline)), wasi_common::Table::new());
    for path in &grants.paths {
        let dir = cap_std_dir(&path.host).map_err(|e| format!("cannot open granted directory {}: {e}", path.host.display()))?;
        let dir: Box<dyn WasiDir> = Box::new(Dir::from_cap_std(dir));
        let dir = if path.writable { dir } else { Box::new(ReadOnlyDir(dir)) };
        ctx.push_preopened_dir(dir, &path.guest).map_err(|e| format!("cannot grant {}: {e:#}", path.host.display()))?;
    }
    Ok(ctx)
}

fn cap_std_dir(path: &std::path::Path) -> std::io::Result<wasi_common::sync::Dir> {
    wasi_common::sync::Dir::open_ambient_dir(path, wasi_common::sync::ambient_authority())
}
