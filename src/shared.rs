//! State shared by all workers (shared data, queues, metrics; kept by the host core in one shared region):
//! its directives and the Prometheus endpoint. (The C functions Lua uses to read and write it are part of the
//! C ABI, in `ffi/shared.rs`.)
//!
//! ```nginx
//! proxy_wasm_shared_memory SIZE;   # http; default 4m; must precede wasm_plugin to apply on the first load
//! proxy_wasm_metrics;              # location; serves every plugin metric in the Prometheus text format
//! ```

use std::ffi::{c_char, c_void};

use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_t, ngx_http_discard_request_body, ngx_http_output_filter,
    ngx_http_request_t, ngx_http_send_header, ngx_int_t, ngx_str_t, NGX_ERROR, NGX_HTTP_GET,
    NGX_HTTP_HEAD, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NOT_ALLOWED, NGX_LOG_EMERG,
    NGX_LOG_WARN, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, NgxHttpCoreModule};
use ngx::ngx_conf_log_error;
use proxy_wasm_host::shared;
use proxy_wasm_host::{limits, LogLevel};

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
