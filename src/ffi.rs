//! The C ABI that `lua/resty/proxy-wasm.lua` calls through LuaJIT FFI: this file (plugins, plugin ctxs, HTTP
//! callbacks, paused requests) and `ffi/shared.rs` (shared data, metrics, foreign functions). It is the home of
//! the `extern "C"` surface: every entry point runs in the panic guard (logged at `[alert]`, turned into an
//! error return), checks its pointers, and maps host-core errors to return codes once. Detailed reasons go to
//! the nginx error log; Lua returns the fixed error strings of the api7 API.
//!
//! One return-code convention for every function: `NGX_PROXY_WASM_ERROR` (-1) is a failure (logged),
//! `NGX_PROXY_WASM_OK` (0) success, and a positive code names what happened (a local response, not found, ...),
//! as each function's documentation says.
//!
//! Ownership: `ngx_proxy_wasm_load` returns a boxed `Plugin`, `ngx_proxy_wasm_on_configure` a boxed
//! `RootContext` (the Lua "plugin ctx"); Lua frees both from its GC through the matching free functions. A
//! plugin ctx freed while requests still use it lives on in their HTTP contexts until they end.

mod shared;

use std::cell::RefCell;
use std::ffi::{c_int, c_void};

use ngx::ffi::ngx_http_request_t;
use proxy_wasm_host::{
    map, CallResponse, Continued, FailurePolicy, LogLevel, Outcome, Phase, Plugin, RootContext,
    Verdict,
};

use crate::backend::{bytes_raw, cycle_backend, RequestBackend};
use crate::log;
use crate::request::request_ctx;

/// Result of `ngx_proxy_wasm_on_http`, filled when it returns `NGX_PROXY_WASM_LOCAL_RESPONSE` or
/// `NGX_PROXY_WASM_BODY`. The pointers stay valid until the next call.
#[repr(C)]
pub struct ngx_proxy_wasm_result_t {
    pub status: c_int,
    pub body: *const u8,
    pub body_len: usize,
    /// Headers of a local response, in the Proxy-Wasm map encoding.
    pub headers: *const u8,
    pub headers_len: usize,
    /// How many HTTP calls the callback dispatched (request phases and call responses only): the module
    /// performs them; Lua waits for their answers with `ngx_proxy_wasm_call_next`.
    pub calls: usize,
}

const NGX_PROXY_WASM_ERROR: c_int = -1;
const NGX_PROXY_WASM_OK: c_int = 0;
/// The key or metric does not exist (shared data, metrics).
const NGX_PROXY_WASM_NOT_FOUND: c_int = 1;
/// A shared-data write whose cas no longer matches.
const NGX_PROXY_WASM_CAS_MISMATCH: c_int = 2;
/// `ngx_proxy_wasm_call_next`: calls of the plugin ctx are in flight, none answered yet.
const NGX_PROXY_WASM_CALLS_PENDING: c_int = 5;
/// `ngx_proxy_wasm_call_next`: the plugin ctx has no call left for this request.
const NGX_PROXY_WASM_CALLS_DONE: c_int = 6;
/// The request goes on (`ngx_proxy_wasm_on_http`).
const NGX_PROXY_WASM_CONTINUE: c_int = NGX_PROXY_WASM_OK;
const NGX_PROXY_WASM_LOCAL_RESPONSE: c_int = 1;
const NGX_PROXY_WASM_BODY: c_int = 2;
/// The plugin closed the stream (`proxy_close_stream`): Lua drops the connection (request phases) or fails.
const NGX_PROXY_WASM_CLOSE: c_int = 3;
/// The plugin paused the request with nothing pending: Lua waits (`ngx_proxy_wasm_pause_state`) until another
/// callback continues or closes it.
const NGX_PROXY_WASM_PAUSE: c_int = 4;

/// Phases of `ngx_proxy_wasm_on_http`.
const PHASE_REQUEST_HEADERS: c_int = 0;
const PHASE_REQUEST_BODY: c_int = 1;
const PHASE_RESPONSE_HEADERS: c_int = 2;
const PHASE_RESPONSE_BODY: c_int = 3;
/// Not a phase of `ngx_proxy_wasm_on_http`: the result of `ngx_proxy_wasm_on_http_call_response`.
const PHASE_HTTP_CALL_RESPONSE: c_int = 4;

#[derive(Default)]
struct Scratch {
    body: Vec<u8>,
    headers: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

thread_local! {
    /// How many calls from Lua into this surface are running (a plugin may call back into Lua only then).
    static LUA_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Plugins and plugin ctxs Lua's GC freed while a plugin was running (a finalizer can run inside a foreign
    /// function): freed once the outermost call returns, never inside the instance that is running.
    static DEFERRED: RefCell<Vec<Deferred>> = const { RefCell::new(Vec::new()) };
}

/// Held only to be dropped later.
#[allow(dead_code)]
enum Deferred {
    Plugin(Box<Plugin>),
    Root(Box<RootContext>),
}

/// Whether a call from Lua is in progress: Lua code (a foreign function) may run only then, on the coroutine
/// that made the call. Outside one (the directive path, timers) LuaJIT has no coroutine to run it on.
pub(crate) fn inside_lua_call() -> bool {
    LUA_DEPTH.with(|d| d.get() > 0)
}

/// Run `f` for the entry point `what`, turning a panic into `on_panic` and an alert line.
fn guarded<T>(what: &str, on_panic: T, f: impl FnOnce() -> T) -> T {
    LUA_DEPTH.with(|d| d.set(d.get() + 1));
    let r = crate::unwind::catch(what, on_panic, f);
    let depth = LUA_DEPTH.with(|d| {
        d.set(d.get() - 1);
        d.get()
    });
    if depth == 0 {
        let deferred = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
        if !deferred.is_empty() {
            crate::unwind::catch("free", (), || drop(deferred));
        }
    }
    r
}

/// As `guarded`, for the entry points that run plugin code: one of them called from Lua code that a plugin is
/// running (a foreign function) is refused, so that no request state or instance is entered twice.
fn guarded_plugin<T>(what: &str, refused: T, f: impl FnOnce() -> T) -> T {
    if inside_lua_call() {
        log::write(
            ngx::log::ngx_cycle_log().as_ptr(),
            LogLevel::Error,
            format_args!(
                "proxy-wasm: {what} refused: called from Lua code a plugin is running (a foreign function); \
                 resty.proxy-wasm cannot be re-entered from inside a plugin"
            ),
        );
        return refused;
    }
    guarded(what, refused, f)
}

/// Free `d` now, or once the running plugin call returns.
fn free_later_if_running(d: Deferred) {
    if inside_lua_call() {
        DEFERRED.with(|q| q.borrow_mut().push(d));
    } else {
        crate::unwind::catch("free", (), || drop(d));
    }
}

/// Compile and instantiate a plugin with its VM configuration (for `proxy_on_vm_start`; may be empty). Returns
/// null (and logs why) on failure.
///
/// # Safety
/// `name`/`code`/`vm_config` must point to `name_len`/`code_len`/`vm_config_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_load(
    name: *const u8,
    name_len: usize,
    code: *const u8,
    code_len: usize,
    vm_config: *const u8,
    vm_config_len: usize,
) -> *mut c_void {
    guarded_plugin("ngx_proxy_wasm_load", std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let (name, code, vm_config) = unsafe {
            (
                bytes_raw(name, name_len),
                bytes_raw(code, code_len),
                bytes_raw(vm_config, vm_config_len),
            )
        };
        let name = String::from_utf8_lossy(name);
        let mut backend = cycle_backend();
        match Plugin::load(&name, code, vm_config, &mut *backend) {
            Ok(p) => Box::into_raw(Box::new(p)) as *mut c_void,
            Err(e) => {
                backend.log(
                    LogLevel::Error,
                    &name,
                    format!("failed to load: {e}").as_bytes(),
                );
                std::ptr::null_mut()
            }
        }
    })
}

/// Name a loaded plugin's root id (`plugin_root_id`; `resty.proxy-wasm` passes the name given to `load`, as
/// api7's module does).
///
/// # Safety
/// `plugin` must come from `ngx_proxy_wasm_load`; `id` must point to `id_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_set_root_id(
    plugin: *mut c_void,
    id: *const u8,
    id_len: usize,
) {
    guarded("ngx_proxy_wasm_set_root_id", (), || {
        if plugin.is_null() {
            return;
        }
        // SAFETY: guaranteed by the caller.
        let (plugin, id) = unsafe { (&*(plugin as *const Plugin), bytes_raw(id, id_len)) };
        plugin.set_root_id(&String::from_utf8_lossy(id));
    })
}

/// Free a plugin returned by `ngx_proxy_wasm_load`.
///
/// # Safety
/// `plugin` must come from `ngx_proxy_wasm_load` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_unload(plugin: *mut c_void) {
    if !plugin.is_null() {
        // SAFETY: guaranteed by the caller.
        free_later_if_running(Deferred::Plugin(unsafe {
            Box::from_raw(plugin as *mut Plugin)
        }));
    }
}

/// Create and configure a root context ("plugin ctx"). Returns null (and logs why) on failure.
///
/// # Safety
/// `plugin` must be a live plugin; `conf` must point to `conf_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_on_configure(
    plugin: *mut c_void,
    conf: *const u8,
    conf_len: usize,
) -> *mut c_void {
    guarded_plugin("ngx_proxy_wasm_on_configure", std::ptr::null_mut(), || {
        if plugin.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: guaranteed by the caller.
        let (plugin, conf) = unsafe { (&*(plugin as *const Plugin), bytes_raw(conf, conf_len)) };
        let mut backend = cycle_backend();
        match plugin.configure(conf, &mut *backend) {
            Ok(root) => Box::into_raw(Box::new(root)) as *mut c_void,
            Err(e) => {
                backend.log(LogLevel::Error, plugin.name(), e.to_string().as_bytes());
                std::ptr::null_mut()
            }
        }
    })
}

/// Free a plugin ctx returned by `ngx_proxy_wasm_on_configure`.
///
/// # Safety
/// `ctx` must come from `ngx_proxy_wasm_on_configure` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_delete_plugin_ctx(ctx: *mut c_void) {
    if !ctx.is_null() {
        // SAFETY: guaranteed by the caller.
        free_later_if_running(Deferred::Root(unsafe {
            Box::from_raw(ctx as *mut RootContext)
        }));
    }
}

/// Run one HTTP callback of `ctx` for request `r`: request headers (0), request body (1), response headers
/// (2), response body (3, with `body`/`eof`). Returns `NGX_PROXY_WASM_*`.
///
/// # Safety
/// `r` must be the live request of the calling handler, `ctx` a live plugin ctx, `body` `body_len` readable
/// bytes, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_on_http(
    r: *mut ngx_http_request_t,
    ctx: *mut c_void,
    phase: c_int,
    body: *const u8,
    body_len: usize,
    eof: c_int,
    out: *mut ngx_proxy_wasm_result_t,
) -> c_int {
    guarded_plugin("ngx_proxy_wasm_on_http", NGX_PROXY_WASM_ERROR, || {
        if r.is_null() || ctx.is_null() || out.is_null() {
            return NGX_PROXY_WASM_ERROR;
        }
        // SAFETY: guaranteed by the caller.
        let (root, chunk, out) = unsafe {
            (
                &*(ctx as *const RootContext),
                bytes_raw(body, body_len),
                &mut *out,
            )
        };
        // SAFETY: `r` is the live request of the calling handler.
        let mut backend = unsafe { RequestBackend::new(r) };
        // SAFETY: as above; the reference does not outlive this call.
        let Some(rctx) = (unsafe { request_ctx(r) }) else {
            return NGX_PROXY_WASM_ERROR;
        };
        let result = rctx.context(root, &mut backend).and_then(|http| {
            let eof = eof != 0;
            match phase {
                PHASE_REQUEST_HEADERS => http.on_request_headers(&mut backend, eof),
                PHASE_REQUEST_BODY => http.on_request_body(&mut backend, chunk, eof),
                PHASE_RESPONSE_HEADERS => http.on_response_headers(&mut backend, eof),
                PHASE_RESPONSE_BODY => http.on_response_body(&mut backend, chunk, eof),
                _ => Err(proxy_wasm_host::Error::BadArgument(format!(
                    "unknown phase {phase}"
                ))),
            }
        });
        finish(r, rctx, root, &mut backend, phase, result, out)
    })
}

/// Deliver the next answered HTTP call of `ctx`'s HTTP context of request `r` (its response, or zero headers
/// when it failed) to `proxy_on_http_call_response`. Returns `NGX_PROXY_WASM_*` like `ngx_proxy_wasm_on_http`
/// (a local response, or further calls), `NGX_PROXY_WASM_CALLS_PENDING` when calls are in flight and none is
/// answered yet (Lua sleeps and asks again), `NGX_PROXY_WASM_CALLS_DONE` when none is left.
///
/// # Safety
/// As `ngx_proxy_wasm_on_http`.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_call_next(
    r: *mut ngx_http_request_t,
    ctx: *mut c_void,
    out: *mut ngx_proxy_wasm_result_t,
) -> c_int {
    guarded_plugin("ngx_proxy_wasm_call_next", NGX_PROXY_WASM_ERROR, || {
        if r.is_null() || ctx.is_null() || out.is_null() {
            return NGX_PROXY_WASM_ERROR;
        }
        // SAFETY: guaranteed by the caller.
        let (root, out) = unsafe { (&*(ctx as *const RootContext), &mut *out) };
        // SAFETY: `r` is the live request of the calling handler; the reference does not outlive this call.
        let Some(rctx) = (unsafe { request_ctx(r) }) else {
            return NGX_PROXY_WASM_ERROR;
        };
        let owner = ctx as usize;
        let Some(pos) = rctx
            .calls
            .iter()
            .position(|c| c.owner == owner && c.finished())
        else {
            return if rctx.calls.iter().any(|c| c.owner == owner) {
                NGX_PROXY_WASM_CALLS_PENDING
            } else {
                NGX_PROXY_WASM_CALLS_DONE
            };
        };
        let mut call = rctx.calls.remove(pos);
        let token = call.token;
        crate::http_call::log_as_request(r);
        // SAFETY: as above.
        let mut backend = unsafe { RequestBackend::new(r) };
        let response = match call.result.take() {
            Some(result) => crate::http_call::answer(
                result,
                backend.log_ptr(),
                root.plugin_name(),
                token,
                &call.upstream,
            ),
            None => CallResponse::default(),
        };
        drop(call);
        let result = rctx
            .context(root, &mut backend)
            .and_then(|http| http.on_http_call_response(&mut backend, token, response));
        let rc = finish(
            r,
            rctx,
            root,
            &mut backend,
            PHASE_HTTP_CALL_RESPONSE,
            result,
            out,
        );
        if matches!(
            rc,
            NGX_PROXY_WASM_LOCAL_RESPONSE | NGX_PROXY_WASM_CLOSE | NGX_PROXY_WASM_ERROR
        ) {
            // The request does not wait for the plugin's other calls any more.
            let (gone, kept) = std::mem::take(&mut rctx.calls)
                .into_iter()
                .partition(|c| c.owner == owner);
            rctx.calls = kept;
            let gone: Vec<_> = gone;
            if let Ok(http) = rctx.context(root, &mut backend) {
                for c in &gone {
                    http.cancel_http_call(c.token);
                }
            }
        }
        rc
    })
}

/// A call of the Lua entrance finished: it stays with the request until Lua takes it
/// (`ngx_proxy_wasm_call_next`).
fn lua_call_finished(_r: *mut ngx_http_request_t, _call: *mut crate::http_call::PendingCall) {}

/// Where a request `ctx`'s plugin paused stands: 0 still paused, 1 continued (the request goes on), 2 closed
/// (the connection is dropped), -1 not paused by it or gone. On a timeout Lua calls it with `give_up` 1: the
/// plugin is finished for the request (the failure policy's line is logged here) and -1 is returned.
///
/// # Safety
/// `r` must be the live request of the calling handler, `ctx` a live plugin ctx.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_pause_state(
    r: *mut ngx_http_request_t,
    ctx: *mut c_void,
    give_up: c_int,
) -> c_int {
    guarded_plugin("ngx_proxy_wasm_pause_state", -1, || {
        if r.is_null() || ctx.is_null() {
            return -1;
        }
        // SAFETY: guaranteed by the caller.
        let root = unsafe { &*(ctx as *const RootContext) };
        // SAFETY: `r` is the live request of the calling handler.
        let mut backend = unsafe { RequestBackend::new(r) };
        // SAFETY: as above; the reference does not outlive this call.
        let Some(rctx) = (unsafe { request_ctx(r) }) else {
            return -1;
        };
        let Ok(http) = rctx.context(root, &mut backend) else {
            return -1;
        };
        if give_up != 0 {
            http.fail();
            log::plugin_line(
                backend.log_ptr(),
                LogLevel::Error,
                root.plugin_name(),
                b"the request it paused was not continued in time; the call fails",
            );
            return -1;
        }
        match http.take_continued() {
            None => 0,
            Some(Continued::Continue) => 1,
            Some(Continued::Close) => 2,
        }
    })
}

/// Carry out, for Lua, the host core's verdict on a callback's result (`HttpContext::decide`, the outcome policy
/// the directive path shares): fill `out` and return the `NGX_PROXY_WASM_*` code Lua acts on.
fn finish(
    r: *mut ngx_http_request_t,
    rctx: &mut crate::request::RequestCtx,
    root: &RootContext,
    backend: &mut RequestBackend,
    phase: c_int,
    result: Result<Outcome, proxy_wasm_host::Error>,
    out: &mut ngx_proxy_wasm_result_t,
) -> c_int {
    out.calls = 0;
    let which = match phase {
        PHASE_REQUEST_HEADERS => Phase::RequestHeaders,
        PHASE_REQUEST_BODY => Phase::RequestBody,
        PHASE_RESPONSE_HEADERS => Phase::ResponseHeaders,
        PHASE_RESPONSE_BODY => Phase::ResponseBody,
        _ => Phase::HttpCallResponse,
    };
    let Ok(http) = rctx.context(root, backend) else {
        return NGX_PROXY_WASM_ERROR;
    };
    let verdict = http.decide(backend, which, result, FailurePolicy::Caller);
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        match verdict {
            Verdict::Continue { body: None } => NGX_PROXY_WASM_CONTINUE,
            Verdict::Continue { body: Some(body) } => {
                s.body = body;
                out.body = s.body.as_ptr();
                out.body_len = s.body.len();
                NGX_PROXY_WASM_BODY
            }
            Verdict::Wait { calls, body } => {
                for call in &calls {
                    let owner = root as *const RootContext as usize;
                    rctx.calls
                        .push(crate::http_call::start(r, owner, call, lua_call_finished));
                }
                out.calls = calls.len();
                match body {
                    Some(body) => {
                        s.body = body;
                        out.body = s.body.as_ptr();
                        out.body_len = s.body.len();
                        NGX_PROXY_WASM_BODY
                    }
                    None => NGX_PROXY_WASM_CONTINUE,
                }
            }
            Verdict::Pause { .. } if which == Phase::ResponseHeaders => {
                // Lua's header filter cannot wait: the response goes on.
                log::plugin_line(
                    backend.log_ptr(),
                    LogLevel::Warn,
                    root.plugin_name(),
                    b"proxy_on_response_headers returned Pause: a response cannot be held in Lua's header filter; continuing",
                );
                NGX_PROXY_WASM_CONTINUE
            }
            Verdict::Pause { .. } => NGX_PROXY_WASM_PAUSE,
            Verdict::Close => NGX_PROXY_WASM_CLOSE,
            Verdict::Fail => NGX_PROXY_WASM_ERROR,
            Verdict::Respond(resp) => {
                if which == Phase::ResponseHeaders {
                    // Not sent yet: the response's status and headers are replaced here; Lua replaces the body.
                    if let Err(e) =
                        backend.replace_response(resp.status, &resp.headers, resp.body.len())
                    {
                        if let Ok(http) = rctx.context(root, backend) {
                            http.fail();
                        }
                        log::plugin_line(
                            backend.log_ptr(),
                            LogLevel::Error,
                            root.plugin_name(),
                            format!("proxy_on_response_headers failed: its local response could not replace the response: {e}; the call fails").as_bytes(),
                        );
                        return NGX_PROXY_WASM_ERROR;
                    }
                }
                s.body = resp.body;
                map::encode_into(&resp.headers, &mut s.headers);
                out.status = resp.status as c_int;
                out.body = s.body.as_ptr();
                out.body_len = s.body.len();
                out.headers = s.headers.as_ptr();
                out.headers_len = s.headers.len();
                NGX_PROXY_WASM_LOCAL_RESPONSE
            }
        }
    })
}
