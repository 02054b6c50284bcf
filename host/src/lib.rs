//! An nginx-free Proxy-Wasm host core on wasmtime.
//!
//! The proxy (the nginx module, or a fake in tests) implements [`Backend`]/[`HttpBackend`]; this crate owns the
//! engine, the plugins, their contexts and the ABI. See `abi/mod.rs` for the host-function table.
//!
//! The layers, from the proxy's side down: `verdict.rs` (what a callback's result means for the request),
//! `context.rs` (HTTP contexts), `root.rs` (root contexts), `schedule.rs` (ticks and queue deliveries),
//! `plugin.rs` (a loaded plugin, its current instance, crash-loop hold-back, per-worker restart), `vm/` (one
//! instance: store, guest calls, contexts in it), `cache.rs` (compiling and linking once per module),
//! `engine.rs` and `ticker.rs` (the process's engine and linker; the epoch ticker thread), `abi/` (host
//! functions), `shared/` (the cross-worker region). `limits.rs` holds every limit.

mod abi;
mod backend;
mod backend_stderr;
mod cache;
mod context;
mod disk_cache;
mod engine;
mod error;
mod foreign;
mod grpc;
pub mod http_syntax;
mod ids;
pub mod limits;
pub mod map;
mod messages;
mod plugin;
mod root;
mod root_calls;
mod schedule;
pub mod shared;
mod ticker;
pub mod types;
mod verdict;
mod vm;

pub use backend::{set_default_backend, Backend, DefaultBackend, HttpBackend};
pub use cache::compilations;
pub use context::{Continued, HttpContext, Outcome};
pub use disk_cache::set_cache_dir;
pub use error::Error;
pub use foreign::{register_foreign_function, ForeignFunction};
pub use limits::PluginOptions;
pub use messages::{CallResponse, GrpcMethod, HttpCall, LocalResponse};
pub use plugin::{start_worker, Plugin};
pub use root::RootContext;
pub use root_calls::{take_root_calls, RootCall};
pub use schedule::{next_timeout, run_due, set_paused_waker, set_waker};
pub use ticker::{epoch_ticker_parked, start_epoch_ticker};
pub use types::{Action, LogLevel, MapType, Status};
pub use verdict::{FailurePolicy, Phase, Verdict};
