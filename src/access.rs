//! The access phase of the directive path, resumable: request headers through the chain, then (when a plugin
//! of the chain exports `proxy_on_request_body` and there is a body) the body, read by nginx without blocking,
//! through the chain; HTTP calls a callback dispatches are performed in between while the request waits. nginx
//! re-enters `access_handler` whenever the phase runs again; the request's `AccessState` says where it stands.

use std::borrow::Cow;
use std::ptr;

use ngx::ffi::{
    ngx_http_core_run_phases, ngx_http_discard_request_body, ngx_http_finalize_request,
    ngx_http_output_filter, ngx_http_read_client_request_body, ngx_http_request_t,
    ngx_http_run_posted_requests, ngx_http_send_header, ngx_int_t, NGX_DECLINED, NGX_DONE,
    NGX_ERROR, NGX_HTTP_CLOSE, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_SPECIAL_RESPONSE, NGX_OK,
};
use proxy_wasm_host::{HttpBackend, HttpCall, LocalResponse, LogLevel, MapType, Phase, Verdict};

use crate::backend::buffers::{chain_of, collect, replace_request_body};
use crate::backend::RequestBackend;
use crate::chain::{run_chain, ChainBody, ChainEnd};
use crate::conf::{Failure, LocConf};
use crate::http_call::PendingCall;
use crate::log;
use crate::request::{
    existing_request_ctx, is_main, loc_conf, request_ctx, AccessState, RequestCtx,
};

const ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

fn has_body(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: `r` is live.
    unsafe { (*r).headers_in.content_length_n > 0 || (*r).headers_in.chunked() != 0 }
}

/// Start the HTTP calls filter `filter` dispatched and park the phase until they are all answered; `then` is
/// where it goes on.
fn wait(
    r: *mut ngx_http_request_t,
    filter: usize,
    calls: &[HttpCall],
    then: AccessState,
) -> ngx_int_t {
    // SAFETY: `r` is live; the reference does not outlive this call.
    match unsafe { existing_request_ctx(r) } {
        Some(rctx) => {
            for call in calls {
                rctx.calls
                    .push(crate::http_call::start(r, filter, call, call_finished));
            }
            rctx.access = AccessState::Waiting(Box::new(then));
            NGX_DONE as ngx_int_t
        }
        None => ERROR,
    }
}

/// Hold the request a plugin paused until it continues it (`pause.rs`); `then` is where the phase goes on.
fn pause(r: *mut ngx_http_request_t, lc: &LocConf, filter: usize, then: AccessState) -> ngx_int_t {
    // SAFETY: `r` is live; the reference does not outlive this call.
    match unsafe { existing_request_ctx(r) } {
        Some(rctx) => {
            rctx.access = AccessState::Waiting(Box::new(then));
            rctx.pause = Some(crate::pause::Pause::start(
                r,
                filter,
                lc.pause_timeout_ms(),
                None,
            ));
            NGX_DONE as ngx_int_t
        }
        None => ERROR,
    }
}

pub(crate) extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    let rc = crate::unwind::catch("the access handler", ERROR, || access(r));
    if rc == ERROR {
        // The module's own error response: it runs no plugin callbacks.
        // SAFETY: `r` is live; the reference does not outlive this statement.
        if let Some(rctx) = unsafe { existing_request_ctx(r) } {
            rctx.host_error = true;
        }
    }
    rc
}

fn access(r: *mut ngx_http_request_t) -> ngx_int_t {
    {
        let Some(lc) = loc_conf(r) else {
            return NGX_DECLINED as ngx_int_t;
        };
        if lc.filters.is_none() || !is_main(r) {
            return NGX_DECLINED as ngx_int_t;
        }
        loop {
            // SAFETY: `r` is live; the reference is dropped before the chain runs (which takes its own).
            let Some(rctx) = (unsafe { request_ctx(r) }) else {
                return ERROR;
            };
            match std::mem::take(&mut rctx.access) {
                AccessState::Start => rctx.access = AccessState::Headers { next: 0 },
                AccessState::Headers { next } => return headers(r, lc, next),
                AccessState::Body {
                    next,
                    body,
                    changed,
                } => return body_chain(r, lc, next, body, changed),
                state @ (AccessState::ReadingBody | AccessState::Waiting(_)) => {
                    // Woken while waiting (a client event): keep waiting.
                    rctx.access = state;
                    return NGX_DONE as ngx_int_t;
                }
                AccessState::Done(rc) => return rc,
                AccessState::Respond(resp) => return send_local_response(r, resp),
            }
        }
    }
}

fn headers(r: *mut ngx_http_request_t, lc: &LocConf, next: usize) -> ngx_int_t {
    let eos = !has_body(r);
    let end = run_chain(
        r,
        lc,
        Phase::RequestHeaders,
        next,
        None,
        |http, backend, _, _| Some(http.on_request_headers(backend, eos)),
    );
    match end {
        ChainEnd::Next => {}
        ChainEnd::Respond(resp) => return send_local_response(r, resp),
        ChainEnd::Fail => return ERROR,
        ChainEnd::Close => return NGX_HTTP_CLOSE as ngx_int_t,
        ChainEnd::Wait {
            filter,
            next,
            calls,
        } => return wait(r, filter, &calls, AccessState::Headers { next }),
        ChainEnd::Pause { filter, next } => {
            return pause(r, lc, filter, AccessState::Headers { next })
        }
    }
    let wants_body = lc
        .filters
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f.request_body));
    if eos || !wants_body {
        return NGX_DECLINED as ngx_int_t;
    }
    // SAFETY: `r` is the live main request; nginx calls `request_body_read` once the body is in.
    unsafe {
        if let Some(rctx) = existing_request_ctx(r) {
            rctx.access = AccessState::ReadingBody;
        }
        (*r).set_request_body_in_single_buf(1);
        let rc = ngx_http_read_client_request_body(r, Some(request_body_read));
        if rc >= NGX_HTTP_SPECIAL_RESPONSE as ngx_int_t {
            return rc;
        }
        // Drop the reference read_client_request_body took; the phase resumes from `request_body_read`.
        ngx_http_finalize_request(r, NGX_DONE as ngx_int_t);
    }
    NGX_DONE as ngx_int_t
}

/// The request body is in: hand it to the phase (which re-enters `access_handler`).
unsafe extern "C" fn request_body_read(r: *mut ngx_http_request_t) {
    let state = crate::unwind::catch("the request body handler", AccessState::Done(ERROR), || {
        // SAFETY: `r` is live; its request_body holds the chain nginx read (memory or temp file buffers).
        let (body, readable) = unsafe {
            let rb = (*r).request_body;
            if rb.is_null() || (*rb).bufs.is_null() {
                (Vec::new(), true)
            } else {
                let (bytes, _, readable) = collect((*rb).bufs);
                (bytes, readable)
            }
        };
        if readable {
            return AccessState::Body {
                next: 0,
                body,
                changed: false,
            };
        }
        let closed = loc_conf(r).is_none_or(|lc| lc.failure() == Failure::Closed);
        // SAFETY: `r` is live.
        let backend = unsafe { RequestBackend::new(r) };
        log::write(
            backend.log_ptr(),
            LogLevel::Error,
            format_args!(
                "proxy-wasm: the request body could not be read for proxy_on_request_body (a temporary file read \
                 failed); {}",
                if closed {
                    "failing the request (proxy_wasm_failure closed)"
                } else {
                    "continuing without the plugins' body callbacks (proxy_wasm_failure open)"
                }
            ),
        );
        AccessState::Done(if closed {
            ERROR
        } else {
            NGX_DECLINED as ngx_int_t
        })
    });
    // SAFETY: nginx calls this with the live request whose body it read.
    unsafe {
        if let Some(rctx) = existing_request_ctx(r) {
            rctx.access = state;
        }
        (*r).set_preserve_body(1);
        (*r).write_event_handler = Some(ngx_http_core_run_phases);
        ngx_http_core_run_phases(r);
    }
}

fn body_chain(
    r: *mut ngx_http_request_t,
    lc: &LocConf,
    next: usize,
    body: Vec<u8>,
    changed: bool,
) -> ngx_int_t {
    let mut body = ChainBody {
        bytes: Cow::Owned(body),
        changed,
    };
    let end = run_chain(
        r,
        lc,
        Phase::RequestBody,
        next,
        Some(&mut body),
        |http, backend, filter, chunk| {
            filter
                .request_body
                .then(|| http.on_request_body(backend, chunk.unwrap_or_default(), true))
        },
    );
    let then = |next: usize, body: ChainBody| AccessState::Body {
        next,
        body: body.bytes.into_owned(),
        changed: body.changed,
    };
    match end {
        ChainEnd::Next if body.changed => replace_body(r, &body.bytes),
        ChainEnd::Next => NGX_DECLINED as ngx_int_t,
        ChainEnd::Respond(resp) => send_local_response(r, resp),
        ChainEnd::Fail => ERROR,
        ChainEnd::Close => NGX_HTTP_CLOSE as ngx_int_t,
        ChainEnd::Wait {
            filter,
            next,
            calls,
        } => wait(r, filter, &calls, then(next, body)),
        ChainEnd::Pause { filter, next } => pause(r, lc, filter, then(next, body)),
    }
}

/// The plugins changed the body: it replaces the read one for the content phase (proxy_pass etc.).
fn replace_body(r: *mut ngx_http_request_t, body: &[u8]) -> ngx_int_t {
    // SAFETY: `r` is live and its body was read.
    if unsafe { replace_request_body(r, body) } {
        NGX_DECLINED as ngx_int_t
    } else {
        ERROR
    }
}

/// Where the phase goes once the outstanding calls are answered.
fn set_continuation(rctx: &mut RequestCtx, then: AccessState) {
    if let AccessState::Waiting(t) = &mut rctx.access {
        **t = then;
    }
}

/// Forget every outstanding call (closing its connection): the request no longer waits for them.
fn cancel_calls(rctx: &mut RequestCtx, lc: &LocConf, backend: &mut RequestBackend) {
    let calls = std::mem::take(&mut rctx.calls);
    let Some(filters) = lc.filters.as_ref() else {
        return;
    };
    for call in calls {
        if let Some(filter) = filters.get(call.owner) {
            if let Ok(http) = rctx.context(&filter.root, backend) {
                http.cancel_http_call(call.token);
            }
        }
    }
}

/// A call finished (from the event loop): deliver its response to the plugin that dispatched it, start the
/// calls that callback dispatched, and resume the phase once none is outstanding.
pub(crate) fn call_finished(r: *mut ngx_http_request_t, me: *mut PendingCall) {
    let resume = crate::unwind::catch("an HTTP call's completion", false, || deliver(r, me));
    if resume {
        run_phases(r);
    }
}

/// Go on with the access phase of `r`, which waited (for HTTP calls, or paused), at its `AccessState`.
pub(crate) fn run_phases(r: *mut ngx_http_request_t) {
    // SAFETY: `r` is the live request that waited in its access phase; running its phases may finish and free
    // it, so its connection is taken first (as nginx's own event handlers do).
    unsafe {
        let c = (*r).connection;
        (*r).write_event_handler = Some(ngx_http_core_run_phases);
        ngx_http_core_run_phases(r);
        ngx_http_run_posted_requests(c);
    }
}

fn deliver(r: *mut ngx_http_request_t, me: *mut PendingCall) -> bool {
    let Some(lc) = loc_conf(r) else {
        return false;
    };
    let Some(filters) = lc.filters.as_ref() else {
        return false;
    };
    // SAFETY: `r` is live (its calls die with it); the reference does not outlive this call.
    let Some(rctx) = (unsafe { existing_request_ctx(r) }) else {
        return false;
    };
    let Some(pos) = rctx.calls.iter().position(|c| ptr::eq(&**c, me)) else {
        return false;
    };
    let mut call = rctx.calls.remove(pos);
    let result = call
        .result
        .take()
        .unwrap_or_else(|| Err("no result".to_string()));
    let (index, token) = (call.owner, call.token);
    let upstream = std::mem::take(&mut call.upstream);
    drop(call);
    let Some(filter) = filters.get(index) else {
        return false;
    };
    // SAFETY: `r` is live.
    let mut backend = unsafe { RequestBackend::new(r) };
    let response = crate::http_call::answer(
        result,
        backend.log_ptr(),
        filter.root.plugin_name(),
        token,
        &upstream,
    );
    let result = rctx
        .context(&filter.root, &mut backend)
        .and_then(|http| http.on_http_call_response(&mut backend, token, response));
    let verdict = match rctx.context(&filter.root, &mut backend) {
        Ok(http) => http.decide(&mut backend, Phase::HttpCallResponse, result, lc.policy()),
        Err(_) => Verdict::Fail,
    };
    match verdict {
        Verdict::Continue { .. } | Verdict::Pause { .. } => {}
        Verdict::Wait { calls, .. } => {
            for c in &calls {
                rctx.calls
                    .push(crate::http_call::start(r, index, c, call_finished));
            }
        }
        Verdict::Respond(resp) => {
            cancel_calls(rctx, lc, &mut backend);
            set_continuation(rctx, AccessState::Respond(resp));
        }
        Verdict::Close => {
            cancel_calls(rctx, lc, &mut backend);
            set_continuation(rctx, AccessState::Done(NGX_HTTP_CLOSE as ngx_int_t));
        }
        Verdict::Fail => {
            cancel_calls(rctx, lc, &mut backend);
            set_continuation(rctx, AccessState::Done(ERROR));
        }
    }
    if !rctx.calls.is_empty() {
        return false;
    }
    if let AccessState::Waiting(then) = std::mem::take(&mut rctx.access) {
        rctx.access = *then;
        return true;
    }
    false
}

/// Answer the request with a plugin's local response and end it.
fn send_local_response(r: *mut ngx_http_request_t, resp: LocalResponse) -> ngx_int_t {
    // SAFETY: `r` is the live main request in its access phase; nothing was sent yet.
    unsafe {
        if let Some(ctx) = existing_request_ctx(r) {
            ctx.local_response = true;
        }
        if ngx_http_discard_request_body(r) != NGX_OK as ngx_int_t {
            return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
        }
        let mut backend = RequestBackend::new(r);
        for (k, v) in &resp.headers {
            if backend.map_add(MapType::HttpResponseHeaders, k, v).is_err() {
                log::write(
                    backend.log_ptr(),
                    LogLevel::Warn,
                    format_args!(
                        "proxy-wasm: local response header \"{}\" refused",
                        String::from_utf8_lossy(k)
                    ),
                );
            }
        }
        if resp.body.is_empty() && resp.status >= 300 {
            // nginx's own error page for the status, with the plugin's headers.
            return resp.status as ngx_int_t;
        }
        (*r).headers_out.status = resp.status as usize;
        (*r).headers_out.content_length_n = resp.body.len() as _;
        if (*r).headers_out.content_type.len == 0 {
            // The location's default_type, as nginx's own responses get.
            ngx::ffi::ngx_http_set_content_type(r);
        }
        let rc = ngx_http_send_header(r);
        if rc == NGX_ERROR as ngx_int_t
            || rc > NGX_OK as ngx_int_t
            || (*r).header_only() != 0
            || resp.body.is_empty()
        {
            ngx_http_finalize_request(r, rc);
            return NGX_DONE as ngx_int_t;
        }
        let out = chain_of(r, &resp.body, true);
        let rc = if out.is_null() {
            NGX_ERROR as ngx_int_t
        } else {
            ngx_http_output_filter(r, out)
        };
        ngx_http_finalize_request(r, rc);
        NGX_DONE as ngx_int_t
    }
}
