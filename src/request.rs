//! Per-request state: the HTTP contexts a request opened (one per plugin ctx), kept in the module's request
//! ctx slot, ended in the log phase (`proxy_on_done`, `proxy_on_log`, `proxy_on_delete`) and, if the request
//! never gets there, when its pool is destroyed.

use std::ffi::c_void;

use ngx::ffi::{ngx_http_request_t, ngx_int_t, ngx_pool_cleanup_add};
use ngx::http::HttpModule;
use proxy_wasm_host::{HttpContext, RootContext};

use crate::backend::RequestBackend;
use crate::conf::LocConf;
use crate::Module;

/// The module's configuration of the request's location.
pub(crate) fn loc_conf<'a>(r: *mut ngx_http_request_t) -> Option<&'a LocConf> {
    // SAFETY: `r` is a live request; our location conf exists for every location.
    let req = unsafe { ngx::http::Request::from_ngx_http_request(r) };
    <Module as ngx::http::HttpModuleLocationConf>::location_conf(req)
}

/// Whether `r` is a main request (plugins run for main requests only).
pub(crate) fn is_main(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: `r` is a live request.
    unsafe { (*r).main == r }
}

/// The HTTP contexts of one request, at most one per root context, in the order they were opened. Most
/// requests run one plugin: the first context is held in place (no heap allocation per request).
#[derive(Default)]
struct Contexts {
    first: Option<HttpContext>,
    more: Vec<HttpContext>,
}

impl Contexts {
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut HttpContext> {
        self.first.iter_mut().chain(self.more.iter_mut())
    }

    fn clear(&mut self) {
        self.first = None;
        self.more.clear();
    }
}

/// Per-request state of the module.
#[derive(Default)]
pub(crate) struct RequestCtx {
    contexts: Contexts,
    /// Set when a plugin answered the request itself: its response does not go through the response callbacks.
    pub local_response: bool,
    /// Set when the module answers the request with its own error (a plugin failed under
    /// `proxy_wasm_failure closed`): that response runs no plugin callbacks.
    pub host_error: bool,
    /// Progress of the directive path's access phase, which may wait for the request body and HTTP calls.
    pub access: AccessState,
    /// HTTP calls in flight, and (Lua) answered ones not yet delivered; dropping one stops listening to its
    /// subrequest. Boxed: nginx holds pointers to each call's events while the vector moves.
    #[allow(clippy::vec_box)]
    pub calls: Vec<Box<crate::http_call::PendingCall>>,
    /// Set while a plugin holds the request paused (directive path): its timeout timer and which filter.
    pub pause: Option<Box<crate::pause::Pause>>,
    /// The body of a plugin's local response from `proxy_on_response_headers` (directive path), which the body
    /// filter sends instead of the response's own.
    pub substitute_body: Option<Vec<u8>>,
    /// Dynamic metadata and filter state plugins set for this request where no nginx variable takes them
    /// (`backend/properties.rs`): variable name, value.
    pub properties: Vec<(Vec<u8>, Vec<u8>)>,
    /// Set on the subrequest performing an HTTP call: what it shares with the call (`http_call.rs`).
    pub call: Option<std::rc::Rc<std::cell::RefCell<crate::http_call::Capture>>>,
}

/// Where the access phase of the directive path stands for this request.
#[derive(Default)]
pub(crate) enum AccessState {
    /// Nothing run yet.
    #[default]
    Start,
    /// Request headers: the chain runs from filter `next` on.
    Headers { next: usize },
    /// Waiting for nginx to read the request body.
    ReadingBody,
    /// The body is in: the chain runs from filter `next` on, with the body as the filters before left it.
    Body {
        next: usize,
        body: Vec<u8>,
        changed: bool,
    },
    /// HTTP calls are outstanding; the phase goes on with this state once they are all answered.
    Waiting(Box<AccessState>),
    /// Done: the access handler returns this (NGX_DECLINED to go on, or an HTTP status).
    Done(ngx_int_t),
    /// Done with a local response still to send.
    Respond(proxy_wasm_host::LocalResponse),
}

impl RequestCtx {
    /// The HTTP context of `root` for this request, created on first use. When it cannot be created the error
    /// is returned once, for the caller to report; a failed context stands in for it from then on, so the
    /// plugin is finished for this request (its later callbacks are skipped).
    pub(crate) fn context(
        &mut self,
        root: &RootContext,
        backend: &mut RequestBackend,
    ) -> Result<&mut HttpContext, proxy_wasm_host::Error> {
        let contexts = &mut self.contexts;
        if contexts.first.as_ref().is_some_and(|c| c.belongs_to(root)) {
            return Ok(contexts.first.as_mut().expect("checked above"));
        }
        if let Some(pos) = contexts.more.iter().position(|c| c.belongs_to(root)) {
            return Ok(&mut contexts.more[pos]);
        }
        let (http, error) = match root.new_http_context(backend) {
            Ok(http) => (http, None),
            Err(e) => (HttpContext::failed(root), Some(e)),
        };
        let http = if contexts.first.is_none() {
            contexts.first.insert(http)
        } else {
            contexts.more.push(http);
            contexts.more.last_mut().expect("just pushed")
        };
        match error {
            Some(e) => Err(e),
            None => Ok(http),
        }
    }
}

fn ctx_slot(r: *mut ngx_http_request_t) -> *mut *mut c_void {
    // SAFETY: `r` is a live request; `ctx` has one slot per HTTP module, ours at our ctx_index.
    unsafe { (*r).ctx.add(Module::module().ctx_index) }
}

/// The request's state if it has any (never creates it).
///
/// # Safety
/// As `request_ctx`.
pub(crate) unsafe fn existing_request_ctx<'a>(
    r: *mut ngx_http_request_t,
) -> Option<&'a mut RequestCtx> {
    // SAFETY: the slot holds null or a live `RequestCtx` owned by the request's pool.
    unsafe { (*ctx_slot(r) as *mut RequestCtx).as_mut() }
}

/// The request's state, created (with a pool cleanup that frees it) on first use.
///
/// # Safety
/// `r` must be a live request; the returned reference must not outlive the current handler call.
pub(crate) unsafe fn request_ctx<'a>(r: *mut ngx_http_request_t) -> Option<&'a mut RequestCtx> {
    // SAFETY: the slot holds null or a `RequestCtx` allocated below and owned by the pool cleanup.
    unsafe {
        let slot = ctx_slot(r);
        if (*slot).is_null() {
            // The state lives in the request pool (no heap allocation per request); the cleanup drops it.
            let cln = ngx_pool_cleanup_add((*r).pool, std::mem::size_of::<RequestCtx>());
            if cln.is_null() {
                return None;
            }
            let ctx = (*cln).data as *mut RequestCtx;
            if !ctx.is_aligned() {
                (*cln).handler = None;
                return None;
            }
            ctx.write(RequestCtx::default());
            (*cln).handler = Some(cleanup);
            *slot = ctx as *mut c_void;
        }
        Some(&mut *(*slot as *mut RequestCtx))
    }
}

unsafe extern "C" fn cleanup(data: *mut c_void) {
    crate::unwind::catch("the request cleanup", (), || {
        // SAFETY: `data` is the state written in `request_ctx`; the pool calls this exactly once, then frees it.
        unsafe { std::ptr::drop_in_place(data as *mut RequestCtx) };
    });
}

/// Log phase: end every HTTP context the request opened, in the order they were opened.
pub(crate) extern "C" fn log_phase_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx runs log handlers with a live request; a request no plugin touched has no state.
    if unsafe { (*ctx_slot(r)).is_null() } {
        return ngx::ffi::NGX_OK as ngx_int_t;
    }
    crate::unwind::catch("the log phase handler", (), || {
        // SAFETY: nginx runs log handlers with a live request.
        unsafe {
            let slot = ctx_slot(r);
            if (*slot).is_null() {
                return;
            }
            let ctx = &mut *(*slot as *mut RequestCtx);
            let mut backend = RequestBackend::new(r);
            for http in ctx.contexts.iter_mut() {
                if let Err(e) = http.on_log(&mut backend) {
                    // The response is gone: the failure is reported, whatever the policy.
                    crate::log::plugin_line(
                        backend.log_ptr(),
                        proxy_wasm_host::LogLevel::Error,
                        http.plugin_name(),
                        format!("the log phase failed: {e}").as_bytes(),
                    );
                }
            }
            ctx.contexts.clear();
        }
    });
    ngx::ffi::NGX_OK as ngx_int_t
}
