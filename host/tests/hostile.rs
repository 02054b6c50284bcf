//! Hostile guests: every host function called with out-of-bounds, overflowing pointers and lengths (and
//! nonsense enum values) must answer a non-Ok status, never trap the guest, never panic the host.

mod common;

use common::FakeBackend;
use proxy_wasm_host::Plugin;

/// (module, name, i32 parameters, i64 parameter positions). Functions whose only job is to end the guest
/// (`proc_exit`), that take no argument, or that take no pointer and accept any number
/// (`proxy_set_tick_period_milliseconds`: a u32 of milliseconds) are left out.
const FUNCTIONS: &[(&str, &str, usize, &[usize])] = &[
    ("env", "proxy_set_effective_context", 1, &[]),
    ("env", "proxy_log", 3, &[]),
    ("env", "proxy_get_log_level", 1, &[]),
    ("env", "proxy_get_current_time_nanoseconds", 1, &[]),
    ("env", "proxy_get_buffer_bytes", 5, &[]),
    ("env", "proxy_set_buffer_bytes", 5, &[]),
    ("env", "proxy_get_buffer_status", 3, &[]),
    ("env", "proxy_get_configuration", 2, &[]),
    ("env", "proxy_get_header_map_pairs", 3, &[]),
    ("env", "proxy_get_header_map_size", 2, &[]),
    ("env", "proxy_set_header_map_pairs", 3, &[]),
    ("env", "proxy_get_header_map_value", 5, &[]),
    ("env", "proxy_add_header_map_value", 5, &[]),
    ("env", "proxy_replace_header_map_value", 5, &[]),
    ("env", "proxy_remove_header_map_value", 3, &[]),
    ("env", "proxy_get_property", 4, &[]),
    ("env", "proxy_set_property", 4, &[]),
    ("env", "proxy_send_local_response", 8, &[]),
    ("env", "proxy_send_http_response", 8, &[]),
    ("env", "proxy_continue_stream", 1, &[]),
    ("env", "proxy_close_stream", 1, &[]),
    ("env", "proxy_get_status", 3, &[]),
    ("env", "proxy_http_call", 10, &[]),
    ("env", "proxy_dispatch_http_call", 10, &[]),
    ("env", "proxy_grpc_call", 12, &[]),
    ("env", "proxy_grpc_stream", 9, &[]),
    ("env", "proxy_grpc_send", 4, &[]),
    ("env", "proxy_grpc_cancel", 1, &[]),
    ("env", "proxy_grpc_close", 1, &[]),
    ("env", "proxy_get_shared_data", 5, &[]),
    ("env", "proxy_set_shared_data", 5, &[]),
    ("env", "proxy_register_shared_queue", 3, &[]),
    ("env", "proxy_resolve_shared_queue", 5, &[]),
    ("env", "proxy_enqueue_shared_queue", 3, &[]),
    ("env", "proxy_dequeue_shared_queue", 3, &[]),
    ("env", "proxy_define_metric", 4, &[]),
    ("env", "proxy_increment_metric", 2, &[1]),
    ("env", "proxy_record_metric", 2, &[1]),
    ("env", "proxy_get_metric", 2, &[]),
    ("env", "proxy_call_foreign_function", 6, &[]),
    ("wasi_snapshot_preview1", "fd_write", 4, &[]),
    ("wasi_snapshot_preview1", "fd_read", 4, &[]),
    ("wasi_snapshot_preview1", "fd_close", 1, &[]),
    ("wasi_snapshot_preview1", "fd_seek", 4, &[1]),
    ("wasi_snapshot_preview1", "fd_fdstat_get", 2, &[]),
    ("wasi_snapshot_preview1", "fd_fdstat_set_flags", 2, &[]),
    ("wasi_snapshot_preview1", "fd_prestat_get", 2, &[]),
    ("wasi_snapshot_preview1", "fd_prestat_dir_name", 3, &[]),
    ("wasi_snapshot_preview1", "path_open", 9, &[5, 6]),
    ("wasi_snapshot_preview1", "path_filestat_get", 5, &[]),
    ("wasi_snapshot_preview1", "environ_sizes_get", 2, &[]),
    ("wasi_snapshot_preview1", "args_sizes_get", 2, &[]),
    ("wasi_snapshot_preview1", "clock_time_get", 3, &[1]),
    ("wasi_snapshot_preview1", "clock_res_get", 2, &[]),
    ("wasi_snapshot_preview1", "random_get", 2, &[]),
    ("wasi_snapshot_preview1", "poll_oneoff", 4, &[]),
];

/// A plugin whose configure calls `name` with every argument set to `value` and succeeds only when the host
/// answered something other than Ok (0).
fn plugin_calling(module: &str, name: &str, arity: usize, wide: &[usize], value: i64) -> String {
    let ty = |i: usize| if wide.contains(&i) { "i64" } else { "i32" };
    let params: Vec<&str> = (0..arity).map(ty).collect();
    let args: String = (0..arity)
        .map(|i| format!("({}.const {value}) ", ty(i)))
        .collect();
    format!(
        r#"(module
  (import "{module}" "{name}" (func $f (param {params}) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.ne (call $f {args}) (i32.const 0))))"#,
        params = params.join(" ")
    )
}

#[test]
fn every_host_function_refuses_hostile_pointers_without_trapping() {
    // Just below 4 GiB, or the last byte of the 64 KiB memory: any pointer + length overflows or leaves it.
    for value in [-16i64, -1, 65_535] {
        for (module, name, arity, wide) in FUNCTIONS {
            let wat = plugin_calling(module, name, *arity, wide, value);
            let mut backend = FakeBackend::with_request(&[("a", "b")]);
            let plugin = Plugin::load("hostile", wat.as_bytes(), b"", &mut backend)
                .unwrap_or_else(|e| panic!("{module}.{name}: {e}"));
            if let Err(e) = plugin.configure(b"conf", &mut backend) {
                panic!("{module}.{name}({value}, ...) was accepted or trapped: {e}");
            }
        }
    }
}
