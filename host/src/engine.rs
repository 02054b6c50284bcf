//! The one wasmtime `Engine` of the process and the one `Linker` holding every host function.
//!
//! Both are created lazily on first use, which may happen in the nginx master (before fork: compiled code is
//! then shared copy-on-write by the workers) or in a worker. No threads are started here: compilation runs on the
//! calling thread (the `parallel-compilation` feature is never enabled, it deadlocks forked workers).

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
