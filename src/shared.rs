//! State shared by all workers (shared data, queues, metrics; kept by the host core in one shared region):
//! its directives, the Prometheus endpoint, and the C functions Lua uses to read and write it.
//!
//! ```nginx
//! proxy_wasm_shared_memory SIZE;   # http; default 4m; must precede wasm_plugin to apply on the first load
//! proxy_wasm_metrics;              # location; serves every plugin metric in the Prometheus text format
//! ```

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};

use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_t, ngx_http_discard_request_body, ngx_http_output_filter,
    ngx_http_request_t, ngx_http_send_header, ngx_int_t, ngx_str_t, NGX_ERROR, NGX_HTTP_GET,
    NGX_HTTP_HEAD, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NOT_ALLOWED, NGX_LOG_EMERG,
    NGX_LOG_WARN, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, NgxHttpCoreModule};
use ngx::ngx_conf_log_error;
use proxy_wasm_host::shared::{self, SharedError};
use proxy_wasm_host::{limits, LogLevel};

use crate::backend::bytes_raw;
use crate::conf::parse_size;
use crate::log;

/// Make sure the shared region exists before workers fork (the Lua path uses it without any directive).
pub(crate) fn ensure_region() {
    let _ = shared::init(limits::DEFAULT_SHARED_MEMORY);
}

/// `proxy_wasm_shared_memory SIZE;`
pub(crate) extern "C" fn cmd_shared_memory(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_shared_memory", || {
        cmd_shared_memory_inner(cf, _cmd, _conf)
    })
}

fn cmd_shared_memory_inner(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx calls directive handlers with a valid `cf` whose `args` holds the directive's words.
    let args: &[ngx_str_t] = unsafe { (*(*cf).args).as_slice() };
    let value = args[1].as_bytes();
    let Some(size) = parse_size(value) else {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "invalid proxy_wasm_shared_memory size \"{}\"",
            String::from_utf8_lossy(value)
        );
        return NGX_CONF_ERROR;
    };
    match shared::init(size) {
        Ok(()) => NGX_CONF_OK,
        Err(e) if (limits::MIN_SHARED_MEMORY..=limits::MAX_SHARED_MEMORY).contains(&size) => {
            // The region exists already (an earlier load, or a wasm_plugin above this line): keep it.
            ngx_conf_log_error!(NGX_LOG_WARN, cf, "proxy_wasm_shared_memory: {}", e);
            NGX_CONF_OK
        }
        Err(e) => {
            ngx_conf_log_error!(NGX_LOG_EMERG, cf, "proxy_wasm_shared_memory: {}", e);
            NGX_CONF_ERROR
        }
    }
}

/// `proxy_wasm_metrics;`: the location's content handler serves the metrics.
pub(crate) extern "C" fn cmd_metrics(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_metrics", || {
        cmd_metrics_inner(cf, _cmd, _conf)
    })
}

fn cmd_metrics_inner(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: `cf` is valid while the directive is read; the core location conf exists in a location.
    let Some(clcf) = (unsafe { NgxHttpCoreModule::location_conf_mut(&*cf) }) else {
        return NGX_CONF_ERROR;
    };
    clcf.handler = Some(metrics_handler);
    NGX_CONF_OK
}

extern "C" fn metrics_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    crate::unwind::catch(
        "the metrics handler",
        NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t,
        || serve_metrics(r),
    )
}

fn serve_metrics(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a live request.
    unsafe {
        if (*r).method & (NGX_HTTP_GET | NGX_HTTP_HEAD) as usize == 0 {
            return NGX_HTTP_NOT_ALLOWED as ngx_int_t;
        }
        if ngx_http_discard_request_body(r) != NGX_OK as ngx_int_t {
            return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
        }
        let text = match shared::metrics() {
            Ok(m) => shared::prometheus_text(&m),
            Err(e) => {
                log::write(
                    (*(*r).connection).log,
                    LogLevel::Error,
                    format_args!("proxy-wasm: cannot read the metrics: {e}"),
                );
                return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
            }
        };
        const TYPE: &[u8] = b"text/plain; version=0.0.4";
        (*r).headers_out.status = 200;
        (*r).headers_out.content_length_n = text.len() as _;
        (*r).headers_out.content_type.len = TYPE.len();
        (*r).headers_out.content_type.data = TYPE.as_ptr() as *mut u8;
        (*r).headers_out.content_type_len = TYPE.len();
        (*r).headers_out.content_type_lowcase = std::ptr::null_mut();
        let rc = ngx_http_send_header(r);
        if rc == NGX_ERROR as ngx_int_t || rc > NGX_OK as ngx_int_t || (*r).header_only() != 0 {
            return rc;
        }
        let out = crate::backend::buffers::chain_of(r, text.as_bytes(), true);
        if out.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        ngx_http_output_filter(r, out)
    }
}

// The C functions of the Lua API (`proxy_wasm.get_shared_data` and friends).

thread_local! {
    // Results handed to Lua; valid until the next call.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

const FOUND: c_int = 0;
const NOT_FOUND: c_int = 1;
const CAS_MISMATCH: c_int = 2;
const FAILED: c_int = -1;

fn failed(call: &str, e: SharedError) -> c_int {
    log::write(
        ngx::log::ngx_cycle_log().as_ptr(),
        LogLevel::Error,
        format_args!("proxy-wasm: {call}: {e}"),
    );
    FAILED
}

/// Hand `bytes` to Lua through the thread's result buffer.
///
/// # Safety
/// `ptr_out`/`len_out` must be writable.
unsafe fn hand_out(bytes: &[u8], ptr_out: *mut *const u8, len_out: *mut usize) {
    OUT.with(|o| {
        let mut o = o.borrow_mut();
        o.clear();
        o.extend_from_slice(bytes);
        // SAFETY: guaranteed by the caller; the buffer lives in a thread-local until the next call.
        unsafe {
            *ptr_out = o.as_ptr();
            *len_out = o.len();
        }
    });
}

/// The value of `key` and its cas: `FOUND`, `NOT_FOUND` or `FAILED` (logged).
///
/// # Safety
/// `key` must point to `key_len` bytes; the out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_shared_get(
    key: *const u8,
    key_len: usize,
    value: *mut *const u8,
    value_len: *mut usize,
    cas: *mut u32,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_shared_get", FAILED, || {
        // SAFETY: guaranteed by the caller.
        match shared::get_data(unsafe { bytes_raw(key, key_len) }) {
            Ok(Some((v, c))) => {
                // SAFETY: guaranteed by the caller.
                unsafe {
                    hand_out(&v, value, value_len);
                    *cas = c;
                }
                FOUND
            }
            Ok(None) => NOT_FOUND,
            Err(e) => failed("shared data get", e),
        }
    })
}

/// Store `value` under `key` (with `cas` 0: unconditionally). `FOUND` (stored), `CAS_MISMATCH` or `FAILED`.
///
/// # Safety
/// `key`/`value` must point to `key_len`/`value_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_shared_set(
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    cas: u32,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_shared_set", FAILED, || {
        // SAFETY: guaranteed by the caller.
        let (key, value) = unsafe { (bytes_raw(key, key_len), bytes_raw(value, value_len)) };
        match shared::set_data(key, value, cas) {
            Ok(()) => FOUND,
            Err(SharedError::CasMismatch) => CAS_MISMATCH,
            Err(e) => failed("shared data set", e),
        }
    })
}

/// Remove `key`: `FOUND` (removed), `NOT_FOUND` or `FAILED`.
///
/// # Safety
/// `key` must point to `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_shared_delete(key: *const u8, key_len: usize) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_shared_delete", FAILED, || {
        // SAFETY: guaranteed by the caller.
        match shared::delete_data(unsafe { bytes_raw(key, key_len) }) {
            Ok(true) => FOUND,
            Ok(false) => NOT_FOUND,
            Err(e) => failed("shared data delete", e),
        }
    })
}

/// The value of metric `name` (a histogram's sample count): `FOUND`, `NOT_FOUND` or `FAILED`.
///
/// # Safety
/// `name` must point to `name_len` bytes; `value` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_metric(
    name: *const u8,
    name_len: usize,
    value: *mut i64,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_metric", FAILED, || {
        // SAFETY: guaranteed by the caller.
        let name = unsafe { bytes_raw(name, name_len) };
        match shared::metrics() {
            Ok(all) => match all.iter().find(|m| m.name == name) {
                Some(m) => {
                    // SAFETY: guaranteed by the caller.
                    unsafe { *value = m.value };
                    FOUND
                }
                None => NOT_FOUND,
            },
            Err(e) => failed("metric", e),
        }
    })
}

/// Every metric in the Prometheus text format.
///
/// # Safety
/// The out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_metrics_text(
    text: *mut *const u8,
    len: *mut usize,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_metrics_text", FAILED, || {
        match shared::metrics() {
            Ok(all) => {
                // SAFETY: guaranteed by the caller.
                unsafe { hand_out(shared::prometheus_text(&all).as_bytes(), text, len) };
                FOUND
            }
            Err(e) => failed("metrics", e),
        }
    })
}

/// A foreign function implemented in Lua (a LuaJIT FFI callback): arguments in; 0 with the result in
/// `out`/`out_len` (valid until it returns), or -1 when it failed (it logs why).
#[allow(non_camel_case_types)]
pub type ngx_proxy_wasm_foreign_fn =
    unsafe extern "C" fn(*const u8, usize, *mut *const u8, *mut usize) -> c_int;

/// Register the foreign function `name` (replacing one of that name), or remove it when `f` is null.
///
/// # Safety
/// `name` must point to `name_len` bytes; `f` must stay callable until it is replaced or removed.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_register_foreign_function(
    name: *const u8,
    name_len: usize,
    f: Option<ngx_proxy_wasm_foreign_fn>,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_register_foreign_function", FAILED, || {
        // SAFETY: guaranteed by the caller.
        let name = unsafe { bytes_raw(name, name_len) };
        let f = f.map(|f| -> proxy_wasm_host::ForeignFunction {
            std::rc::Rc::new(move |args: &[u8]| {
                if !crate::ffi::inside_lua_call() {
                    return Err(
                    "a Lua foreign function can only be called by plugins run through the Lua API \
                            (resty.proxy-wasm), not from the directive path or a timer"
                        .to_string(),
                );
                }
                let mut out: *const u8 = std::ptr::null();
                let mut out_len: usize = 0;
                // SAFETY: the callback reads `args` during the call and fills `out`/`out_len`.
                let rc = unsafe { f(args.as_ptr(), args.len(), &mut out, &mut out_len) };
                if rc != 0 {
                    return Err("the Lua function failed (see the log line above)".to_string());
                }
                // SAFETY: the callback's result stays valid until it returns to us, and it just did; it is copied
                // at once, before any Lua code runs again.
                Ok(unsafe { bytes_raw(out, out_len) }.to_vec())
            })
        });
        proxy_wasm_host::register_foreign_function(name, f);
        FOUND
    })
}
