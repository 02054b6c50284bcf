//! The one wasmtime `Engine` of the process and the one `Linker` holding every host function.
//!
//! Both are created lazily on first use, which may happen in the nginx master (before fork: compiled code is
//! then shared copy-on-write by the workers) or in a worker. No threads are started here: compilation runs on the
//! calling thread (the `parallel-compilation` feature is never enabled, it deadlocks forked workers).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, OptLevel};

use crate::abi;
use crate::vm::HostState;

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// The process-wide engine.
pub fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.cranelift_opt_level(OptLevel::Speed);
        // Deadlines: every call gets an epoch deadline; a ticker thread per worker advances the epoch.
        config.epoch_interruption(true);
        // PROXY_WASM_PERFMAP=1 in nginx's environment names guest functions for `perf` (/tmp/perf-PID.map of
        // the process that compiled them: copy it to the worker's pid).
        if std::env::var_os("PROXY_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Engine::new(&config).expect("wasmtime engine configuration is valid")
    })
}

static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();

/// The process-wide linker with every host function the ABI defines.
pub(crate) fn linker() -> &'static Linker<HostState> {
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        abi::add_to_linker(&mut linker).expect("host functions have unique names");
        linker
    })
}

static TICKER_PID: AtomicU32 = AtomicU32::new(0);

/// Guest calls in this process: the low 32 bits count the calls running now, the high 32 bits (wrapping) the
/// calls started. The ticker reads it to tell a busy process from an idle one.
static CALLS: AtomicU64 = AtomicU64::new(0);
/// Set while the ticker sleeps without ticking; the next call to start wakes it.
static PARKED: AtomicBool = AtomicBool::new(false);
static WAKE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

/// Marks one guest call as running for as long as it lives (`Vm::call` holds one around every call), so that
/// the ticker ticks while any call runs and sleeps when the process has been idle for a while.
pub(crate) struct Running(());

impl Running {
    pub(crate) fn enter() -> Running {
        // SeqCst pairs with the ticker's SeqCst store of PARKED before its last look at CALLS: either the
        // ticker sees this call, or this call sees the ticker parked and wakes it.
        CALLS.fetch_add((1 << 32) | 1, Ordering::SeqCst);
        if PARKED.load(Ordering::SeqCst) {
            let _guard = WAKE.0.lock();
            PARKED.store(false, Ordering::SeqCst);
            WAKE.1.notify_one();
        }
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CALLS.fetch_sub(1, Ordering::Release);
    }
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
/// The thread ticks while calls run; after `EPOCH_IDLE_TICKS` ticks in which no call started and none was
/// running it parks until the next call starts, so an idle nginx worker is not woken a thousand times a second.
pub fn start_epoch_ticker() {
    let pid = std::process::id();
    if TICKER_PID.swap(pid, Ordering::SeqCst) == pid {
        return;
    }
    let engine = engine().clone();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || tick_forever(&engine));
    if spawned.is_err() {
        TICKER_PID.store(0, Ordering::SeqCst);
    }
}

fn tick_forever(engine: &Engine) -> ! {
    let tick = Duration::from_millis(crate::limits::EPOCH_TICK_MS);
    let mut last = CALLS.load(Ordering::SeqCst);
    let mut idle = 0u32;
    loop {
        std::thread::sleep(tick);
        engine.increment_epoch();
        let now = CALLS.load(Ordering::SeqCst);
        let running = now & 0xffff_ffff != 0;
        idle = if running || now != last { 0 } else { idle + 1 };
        last = now;
        if idle < crate::limits::EPOCH_IDLE_TICKS {
            continue;
        }
        let mut guard = WAKE.0.lock().unwrap_or_else(|e| e.into_inner());
        PARKED.store(true, Ordering::SeqCst);
        // A call that started before PARKED was set is seen here; one that starts after it wakes us.
        while PARKED.load(Ordering::SeqCst) && CALLS.load(Ordering::SeqCst) == last {
            guard = WAKE.1.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        PARKED.store(false, Ordering::SeqCst);
        drop(guard);
        idle = 0;
        last = CALLS.load(Ordering::SeqCst);
    }
}
