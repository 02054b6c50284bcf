//! The one wasmtime `Engine` of the process and the one `Linker` holding every host function.
//!
//! Both are created lazily on first use, which may happen in the nginx master (before fork: compiled code is
//! then shared copy-on-write by the workers) or in a worker. No threads are started here: compilation runs on the
//! calling thread (the `parallel-compilation` feature is never enabled, it deadlocks forked workers). The one
//! thread of the host core, the epoch ticker that makes deadlines fire, lives in `ticker.rs`.

use std::sync::OnceLock;

use wasmtime::{Config, Engine, Linker, OptLevel};

use crate::abi;
use crate::vm::HostState;

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// The process-wide engine.
pub fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.cranelift_opt_level(OptLevel::Speed);
        // Deadlines: every call gets an epoch deadline; the ticker thread of each worker (`ticker.rs`) advances
        // the epoch.
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
