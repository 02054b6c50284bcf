//! The epoch ticker: the one thread the host core starts (one per process that runs plugins, after any fork),
//! which advances the engine's epoch every `EPOCH_TICK_MS` so that call deadlines fire, and parks while the
//! process runs no guest code. Also here: how calls tell it they start, and how a time limit in milliseconds
//! becomes an epoch deadline in ticks.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::Engine;

use crate::engine::engine;
use crate::limits::{EPOCH_IDLE_MS, EPOCH_PARKED_CHECK_MS, EPOCH_TICK_MS};

static TICKER_PID: AtomicU32 = AtomicU32::new(0);

/// Bumped when a guest call starts (any thread; a lost update still changes it): the ticker tells a busy
/// process from an idle one by watching it change.
static STARTS: AtomicU64 = AtomicU64::new(0);
/// The longest call deadline of any instance created in this process, in ms: the ticker parks only after
/// staying idle longer than that, so a call that started before it parked has met its deadline by then.
static LONGEST_LIMIT_MS: AtomicU64 = AtomicU64::new(0);
/// Set while the ticker sleeps without ticking; the next call to start wakes it.
static PARKED: AtomicBool = AtomicBool::new(false);
static WAKE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
/// The engine's epoch as this process's ticker advanced it, and when it last did (ns since `origin()`): a call
/// notes its deadline as an epoch (one load, no clock read), and `poll_oneoff` turns it back into a time.
static EPOCH: AtomicU64 = AtomicU64::new(0);
static LAST_TICK_NS: AtomicU64 = AtomicU64::new(0);

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// The epoch at which a call limited to `ms` that starts now is interrupted.
#[inline]
pub(crate) fn deadline_epoch(ms: u64) -> u64 {
    EPOCH.load(Ordering::Relaxed) + deadline_ticks(ms)
}

/// When a call whose deadline is `epoch` (`deadline_epoch`) and whose limit is `limit_ms` will be interrupted, as
/// seen at `now`. Without a ticker in this process (the nginx master) calls are not interrupted: the limit
/// counted from `now` bounds a wait. A ticker that has not ticked for a while (it was parked and the call woke
/// it) counts from `now` too.
pub(crate) fn deadline_at(epoch: u64, limit_ms: u64, now: Instant) -> Instant {
    if TICKER_PID.load(Ordering::Relaxed) != std::process::id() {
        return now + Duration::from_millis(limit_ms);
    }
    let current = EPOCH.load(Ordering::Relaxed);
    if current >= epoch {
        return now;
    }
    let last = origin() + Duration::from_nanos(LAST_TICK_NS.load(Ordering::Relaxed));
    let base = if now.saturating_duration_since(last) <= Duration::from_millis(2 * EPOCH_TICK_MS) {
        last
    } else {
        now
    };
    base + Duration::from_millis((epoch - current) * EPOCH_TICK_MS)
}

/// The epoch deadline of a call limited to `ms`: the next tick may come at once, so one tick more than the limit
/// holds guarantees the call its whole limit (and at most about one tick more).
#[inline]
pub(crate) fn deadline_ticks(ms: u64) -> u64 {
    ms.div_ceil(EPOCH_TICK_MS) + 1
}

/// Note a call deadline in use (instances note theirs when they are created).
pub(crate) fn note_time_limit(ms: u64) {
    LONGEST_LIMIT_MS.fetch_max(ms, Ordering::Relaxed);
}

/// Note that a guest call starts (`Vm::call` and instantiation do, before entering the guest). Plain loads and
/// stores: no locked instruction on the call path. A call that starts just as the ticker parks may miss the
/// wake-up; the parked ticker looks again every `EPOCH_PARKED_CHECK_MS`, which bounds that call's delay.
#[inline]
pub(crate) fn call_starts() {
    STARTS.store(
        STARTS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
    if PARKED.load(Ordering::Relaxed) {
        wake();
    }
}

#[cold]
fn wake() {
    let _guard = WAKE.0.lock();
    PARKED.store(false, Ordering::Relaxed);
    WAKE.1.notify_one();
}

/// Whether the ticker is parked (for tests).
#[doc(hidden)]
pub fn epoch_ticker_parked() -> bool {
    PARKED.load(Ordering::SeqCst)
}

/// Start the thread that advances the engine's epoch every `EPOCH_TICK_MS`, which is what makes call
/// deadlines fire. Call it in each process that runs plugins after any fork (nginx workers); a second call in
/// the same process does nothing. Without it (the nginx master), calls run without a deadline.
///
/// The thread ticks while calls start; once none started for `EPOCH_IDLE_MS` (or longer than the longest
/// deadline) it parks until the next call starts, so an idle nginx worker is not woken for nothing.
pub fn start_epoch_ticker() {
    let pid = std::process::id();
    if TICKER_PID.swap(pid, Ordering::SeqCst) == pid {
        return;
    }
    let engine = engine().clone();
    origin();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || tick_forever(&engine));
    if spawned.is_err() {
        TICKER_PID.store(0, Ordering::SeqCst);
    }
}

fn tick_forever(engine: &Engine) -> ! {
    let tick = EPOCH_TICK_MS;
    let mut last = STARTS.load(Ordering::Relaxed);
    let mut idle_ms = 0u64;
    loop {
        std::thread::sleep(Duration::from_millis(tick));
        engine.increment_epoch();
        EPOCH.fetch_add(1, Ordering::Relaxed);
        LAST_TICK_NS.store(origin().elapsed().as_nanos() as u64, Ordering::Relaxed);
        let now = STARTS.load(Ordering::Relaxed);
        idle_ms = if now == last { idle_ms + tick } else { 0 };
        last = now;
        // Idle for longer than any call may run: no call is in progress (each one met its deadline).
        let quiet = EPOCH_IDLE_MS.max(LONGEST_LIMIT_MS.load(Ordering::Relaxed) + 2 * tick);
        if idle_ms < quiet {
            continue;
        }
        let mut guard = WAKE.0.lock().unwrap_or_else(|e| e.into_inner());
        PARKED.store(true, Ordering::Relaxed);
        while PARKED.load(Ordering::Relaxed) && STARTS.load(Ordering::Relaxed) == last {
            let check = Duration::from_millis(EPOCH_PARKED_CHECK_MS);
            guard = WAKE
                .1
                .wait_timeout(guard, check)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        PARKED.store(false, Ordering::Relaxed);
        drop(guard);
        idle_ms = 0;
        last = STARTS.load(Ordering::Relaxed);
    }
}
