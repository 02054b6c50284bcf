//! The one wasmtime `Engine` of the process and the one `Linker` holding every host function.
//!
//! Both are created lazily on first use, which may happen in the nginx master (before fork: compiled code is
//! then shared copy-on-write by the workers) or in a worker. No threads are started here: compilation runs on the
//! calling thread (the `parallel-compilation` feature is never enabled, it deadlocks forked workers).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
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

/// Start the thread that advances the engine's epoch every `EPOCH_TICK_MS`, which is what makes call
/// deadlines fire. Call it in each process that runs plugins after any fork (nginx workers); a second call in
/// the same process does nothing. Without it (the nginx master), calls run without a deadline.
pub fn start_epoch_ticker() {
    let pid = std::process::id();
    if TICKER_PID.swap(pid, Ordering::SeqCst) == pid {
        return;
    }
    let engine = engine().clone();
    let tick = Duration::from_millis(crate::limits::EPOCH_TICK_MS);
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            engine.increment_epoch();
        });
    if spawned.is_err() {
        TICKER_PID.store(0, Ordering::SeqCst);
    }
}
