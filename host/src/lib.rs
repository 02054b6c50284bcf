//! An nginx-free Proxy-Wasm host core on wasmtime.
//!
//! The proxy (the nginx module, or a fake in tests) implements [`Backend`]/[`HttpBackend`]; this crate owns the
//! engine, the plugins, their contexts and the ABI. See `abi/mod.rs` for the host-function table.

mod abi;
mod backend;
mod backend_stderr;
mod cache;
mod engine;
mod error;
mod foreign;
pub mod http1;
pub mod limits;
pub mod map;
mod plugin;
mod schedule;
pub mod shared;
pub mod types;
mod verdict;
mod vm;

pub use backend::{Backend, HttpBackend};
pub use cache::compilations;
pub use engine::{epoch_ticker_parked, start_epoch_ticker};
pub use error::Error;
pub use foreign::{register_foreign_function, ForeignFunction};
pub use plugin::{
    set_default_backend, start_worker, Continued, DefaultBackend, HttpContext, Outcome, Plugin,
    RootContext,
};
pub use schedule::{next_timeout, run_due, set_paused_waker, set_waker};
pub use types::{Action, LogLevel, MapType, Status};
pub use verdict::{FailurePolicy, Phase, Verdict};
pub use vm::{CallResponse, HttpCall, LocalResponse, PluginOptions};
