//! The host functions a plugin imports, registered once in the process's `Linker`.
//!
//! Every host function has the same shape: decode enums, read guest memory (bounds-checked, `memory.rs`),
//! ask the backend, copy results out through the guest allocator, return a status. The table in
//! `add_to_linker` lists every name with the ABI version that introduced it.

mod buffers;
mod grpc;
mod http;
mod log;
mod maps;
pub(crate) mod memory;
mod metrics;
mod properties;
mod shared;
pub(crate) mod stubs;
mod wasi;

use wasmtime::{Caller, Linker};

use crate::types::{LogLevel, Status};
use crate::vm::HostState;

/// Log on behalf of the plugin of the current call.
pub(crate) fn host_log(caller: &mut Caller<'_, HostState>, level: LogLevel, message: &[u8]) {
    let plugin = caller.data().plugin.clone();
    if let Some(backend) = caller.data_mut().backend() {
        backend.log(level, &plugin, message);
    }
}

/// Log a line the plugin itself wrote (`proxy_log`, WASI stdout/stderr), within the per-callback limit.
pub(crate) fn plugin_log(caller: &mut Caller<'_, HostState>, level: LogLevel, message: &[u8]) {
    caller.data_mut().plugin_line(level, message);
}

fn proxy_set_effective_context(
    mut caller: Caller<'_, HostState>,
    id: i32,
) -> wasmtime::Result<i32> {
    let state = caller.data_mut();
    if !state.contexts.contains_key(&(id as u32)) {
        return Ok(Status::BadArgument as i32);
    }
    state.effective_context = id as u32;
    Ok(Status::Ok as i32)
}

/// `proxy_done` ends a context that delayed its end from `proxy_on_done`; this host does not delay
/// context ends, so there is never one pending.
fn proxy_done(_caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    Ok(Status::NotFound as i32)
}

/// Answer a host function this host does not offer (gRPC) with `status` (one the SDKs accept from it, so the
/// plugin gets an error instead of trapping), logged once per plugin instance.
fn refuse(
    caller: &mut Caller<'_, HostState>,
    name: &'static str,
    status: Status,
) -> wasmtime::Result<i32> {
    if !caller.data().warned_once.contains(&name) {
        caller.data_mut().warned_once.push(name);
        let msg = format!("{name} is not available in this host (no gRPC); it returns {status:?}");
        host_log(caller, LogLevel::Warn, msg.as_bytes());
    }
    Ok(status as i32)
}

/// Register a refused host function taking i32 arguments, answering `status`.
macro_rules! refused {
    ($linker:expr, $name:literal, $status:expr, $($arg:ident),*) => {
        $linker.func_wrap("env", $name, |mut caller: Caller<'_, HostState>, $($arg: i32),*| {
            $(let _ = $arg;)*
            refuse(&mut caller, $name, $status)
        })?
    };
}

const WASI_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let l = linker;
    // context (0.1.0)
    l.func_wrap(
        "env",
        "proxy_set_effective_context",
        proxy_set_effective_context,
    )?;
    l.func_wrap("env", "proxy_done", proxy_done)?;
    // logging and time (0.1.0; proxy_get_log_level 0.2.0)
    l.func_wrap("env", "proxy_log", log::proxy_log)?;
    l.func_wrap("env", "proxy_get_log_level", log::proxy_get_log_level)?;
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        log::proxy_get_current_time_nanoseconds,
    )?;
    l.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        log::proxy_set_tick_period_milliseconds,
    )?;
    // buffers (0.1.0; proxy_get_configuration is 0.1.0 only)
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        buffers::proxy_get_buffer_bytes,
    )?;
    l.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        buffers::proxy_set_buffer_bytes,
    )?;
    l.func_wrap(
        "env",
        "proxy_get_buffer_status",
        buffers::proxy_get_buffer_status,
    )?;
    l.func_wrap(
        "env",
        "proxy_get_configuration",
        buffers::proxy_get_configuration,
    )?;
    // header maps (0.1.0; proxy_get_header_map_size 0.2.1)
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        maps::proxy_get_header_map_pairs,
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_size",
        maps::proxy_get_header_map_size,
    )?;
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        maps::proxy_set_header_map_pairs,
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_value",
        maps::proxy_get_header_map_value,
    )?;
    l.func_wrap(
        "env",
        "proxy_add_header_map_value",
        maps::proxy_add_header_map_value,
    )?;
    l.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        maps::proxy_replace_header_map_value,
    )?;
    l.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        maps::proxy_remove_header_map_value,
    )?;
    // properties (0.1.0)
    l.func_wrap("env", "proxy_get_property", properties::proxy_get_property)?;
    l.func_wrap("env", "proxy_set_property", properties::proxy_set_property)?;
    // stream control (0.2.0; the _request/_response forms and clear_route_cache are 0.1.0)
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        http::proxy_send_local_response,
    )?;
    l.func_wrap(
        "env",
        "proxy_send_http_response",
        http::proxy_send_local_response,
    )?;
    l.func_wrap("env", "proxy_continue_stream", http::proxy_continue_stream)?;
    l.func_wrap(
        "env",
        "proxy_continue_request",
        http::proxy_continue_request,
    )?;
    l.func_wrap(
        "env",
        "proxy_continue_response",
        http::proxy_continue_legacy,
    )?;
    l.func_wrap(
        "env",
        "proxy_clear_route_cache",
        http::proxy_clear_route_cache,
    )?;
    l.func_wrap("env", "proxy_close_stream", http::proxy_close_stream)?;
    l.func_wrap("env", "proxy_get_status", http::proxy_get_status)?;
    // HTTP calls (0.1.0 proxy_http_call; vNEXT alias proxy_dispatch_http_call)
    l.func_wrap("env", "proxy_http_call", http::proxy_http_call)?;
    l.func_wrap("env", "proxy_dispatch_http_call", http::proxy_http_call)?;
    // gRPC (0.1.0): unary calls; streams refused
    l.func_wrap("env", "proxy_grpc_call", grpc::proxy_grpc_call)?;
    l.func_wrap("env", "proxy_grpc_cancel", grpc::proxy_grpc_cancel)?;
    refused!(
        l,
        "proxy_grpc_stream",
        Status::InternalFailure,
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        token
    );
    refused!(
        l,
        "proxy_grpc_send",
        Status::NotFound,
        token,
        ptr,
        size,
        end
    );
    refused!(l, "proxy_grpc_close", Status::NotFound, token);
    // shared data and queues (0.1.0)
    l.func_wrap(
        "env",
        "proxy_get_shared_data",
        shared::proxy_get_shared_data,
    )?;
    l.func_wrap(
        "env",
        "proxy_set_shared_data",
        shared::proxy_set_shared_data,
    )?;
    l.func_wrap(
        "env",
        "proxy_register_shared_queue",
        shared::proxy_register_shared_queue,
    )?;
    l.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        shared::proxy_resolve_shared_queue,
    )?;
    l.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        shared::proxy_enqueue_shared_queue,
    )?;
    l.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        shared::proxy_dequeue_shared_queue,
    )?;
    // metrics (0.1.0)
    l.func_wrap("env", "proxy_define_metric", metrics::proxy_define_metric)?;
    l.func_wrap(
        "env",
        "proxy_increment_metric",
        metrics::proxy_increment_metric,
    )?;
    l.func_wrap("env", "proxy_record_metric", metrics::proxy_record_metric)?;
    l.func_wrap("env", "proxy_get_metric", metrics::proxy_get_metric)?;
    // foreign functions (0.2.0)
    l.func_wrap(
        "env",
        "proxy_call_foreign_function",
        properties::proxy_call_foreign_function,
    )?;

    for m in WASI_MODULES {
        l.func_wrap(m, "fd_write", wasi::fd_write)?;
        l.func_wrap(m, "fd_read", wasi::ebadf_4)?;
        l.func_wrap(m, "fd_close", wasi::ebadf_1)?;
        l.func_wrap(m, "fd_seek", wasi::fd_seek)?;
        l.func_wrap(m, "fd_fdstat_get", wasi::fd_fdstat_get)?;
        l.func_wrap(m, "fd_fdstat_set_flags", wasi::fd_fdstat_set_flags)?;
        l.func_wrap(m, "fd_prestat_get", wasi::ebadf_2)?;
        l.func_wrap(m, "fd_prestat_dir_name", wasi::ebadf_3)?;
        l.func_wrap(m, "path_open", wasi::path_open)?;
        l.func_wrap(m, "path_filestat_get", wasi::ebadf_5)?;
        l.func_wrap(m, "environ_sizes_get", wasi::sizes_empty)?;
        l.func_wrap(m, "environ_get", wasi::get_empty)?;
        l.func_wrap(m, "args_sizes_get", wasi::sizes_empty)?;
        l.func_wrap(m, "args_get", wasi::get_empty)?;
        l.func_wrap(m, "clock_time_get", wasi::clock_time_get)?;
        l.func_wrap(m, "clock_res_get", wasi::clock_res_get)?;
        l.func_wrap(m, "random_get", wasi::random_get)?;
        l.func_wrap(m, "proc_exit", wasi::proc_exit)?;
        l.func_wrap(m, "sched_yield", wasi::sched_yield)?;
        l.func_wrap(m, "poll_oneoff", wasi::poll_oneoff)?;
    }
    Ok(())
}
