//! The directive path: plugins attached with `proxy_wasm` run their chain (`run_chain`) in the access phase
//! (`access.rs`: request headers and body), the header filter (response headers) and the body filter (response
//! body chunks) here; `request.rs` ends their contexts in the log phase. A plugin's local response is sent from
//! here with nginx's own output chain.

use std::ptr;

use ngx::ffi::{
    ngx_alloc_chain_link, ngx_chain_t, ngx_create_temp_buf, ngx_http_discard_request_body,
    ngx_http_filter_finalize_request, ngx_http_finalize_request, ngx_http_output_body_filter_pt,
    ngx_http_output_filter, ngx_http_output_header_filter_pt, ngx_http_request_t,
    ngx_http_send_header, ngx_int_t, NGX_DONE, NGX_ERROR, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_OK,
};
use ngx::http::HttpModuleLocationConf;
use proxy_wasm_host::{Error, HttpBackend, HttpContext, LocalResponse, LogLevel, Outcome};

use crate::backend::RequestBackend;
use crate::conf::{Failure, Filter, LocConf};
use crate::log;
use crate::request::{existing_request_ctx, request_ctx};
use crate::Module;

pub(crate) static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
pub(crate) static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

pub(crate) fn loc_conf<'a>(r: *mut ngx_http_request_t) -> Option<&'a LocConf> {
    // SAFETY: `r` is a live request; our location conf exists for every location.
    let req = unsafe { ngx::http::Request::from_ngx_http_request(r) };
    Module::location_conf(req)
}

pub(crate) fn is_main(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: `r` is a live request.
    unsafe { (*r).main == r }
}

/// Whether the response callbacks of the location's plugins run for this response: main requests only, not
/// for a response a plugin sent itself, and never for the module's own error response.
fn response_callbacks_apply(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: `r` is a live request.
    is_main(r)
        && !unsafe { existing_request_ctx(r) }.is_some_and(|c| c.local_response || c.host_error)
}

pub(crate) fn report_failure(
    backend: &RequestBackend,
    filter: &Filter,
    what: &str,
    e: &Error,
    failure: Failure,
) {
    let policy = match failure {
        Failure::Closed => "failing the request (proxy_wasm_failure closed)",
        Failure::Open => "continuing without it (proxy_wasm_failure open)",
    };
    log::plugin_line(
        backend.log_ptr(),
        LogLevel::Error,
        filter.root.plugin_name(),
        format!("{what} failed: {e}; {policy}").as_bytes(),
    );
}

/// How a chain ended.
pub(crate) enum ChainEnd {
    /// Every plugin ran and let the request go on.
    Next,
    /// A plugin answered the request itself.
    Respond(LocalResponse),
    /// A plugin failed and the location fails closed.
    Fail,
    /// A plugin dispatched HTTP calls: they run; the chain goes on at `next` once they are all answered.
    Wait { next: usize },
    /// A plugin closed the stream (`proxy_close_stream`): the connection is dropped.
    Close,
    /// Filter `filter` paused the request with nothing pending: it waits until the plugin continues it from
    /// another callback; the chain then goes on at `next`.
    Pause { filter: usize, next: usize },
}

/// What happens to HTTP calls a callback dispatched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Calls {
    /// Performed while the request waits (request phases).
    Perform,
    /// Cancelled with a log line: the response is already on its way (filters).
    Drop,
}

/// Calls dispatched from a response callback cannot be waited for: they are cancelled (their callbacks never
/// run) and the log says so.
fn drop_http_calls(
    http: &mut proxy_wasm_host::HttpContext,
    backend: &RequestBackend,
    outcome: &Outcome,
) {
    if outcome.calls.is_empty() {
        return;
    }
    for call in &outcome.calls {
        http.cancel_http_call(call.token);
    }
    log::plugin_line(
        backend.log_ptr(),
        LogLevel::Error,
        http.plugin_name(),
        format!(
            "{} HTTP call(s) dropped: on the directive path HTTP calls are performed from request callbacks only",
            outcome.calls.len()
        )
        .as_bytes(),
    );
}

/// Run one callback of every filter of the chain from filter `from` on, in order. Stops at the first local
/// response, failure (closed), or filter that dispatched HTTP calls (`Calls::Perform`: they are started).
pub(crate) fn run_chain(
    r: *mut ngx_http_request_t,
    lc: &LocConf,
    what: &str,
    from: usize,
    calls: Calls,
    mut call: impl FnMut(
        &mut proxy_wasm_host::HttpContext,
        &mut RequestBackend,
        &Filter,
    ) -> Option<Result<Outcome, Error>>,
) -> ChainEnd {
    let Some(filters) = lc.filters.as_ref() else {
        return ChainEnd::Next;
    };
    // SAFETY: `r` is the live request of the calling handler.
    let mut backend = unsafe { RequestBackend::new(r) };
    // SAFETY: as above; the reference does not outlive this call.
    let Some(rctx) = (unsafe { request_ctx(r) }) else {
        return ChainEnd::Fail;
    };
    for (index, filter) in filters.iter().enumerate().skip(from) {
        let result = rctx.context(&filter.root, &mut backend).and_then(|http| {
            let outcome =
                call(http, &mut backend, filter).unwrap_or_else(|| Ok(Outcome::default()))?;
            if calls == Calls::Drop || outcome.local_response.is_some() || outcome.close {
                drop_http_calls(http, &backend, &outcome);
            }
            Ok(outcome)
        });
        match result {
            // The plugin failed earlier on this request: it is finished for it, the chain goes on without it.
            Ok(outcome) if outcome.finished => {}
            Ok(outcome) => {
                if let Some(resp) = outcome.local_response {
                    return ChainEnd::Respond(resp);
                }
                if outcome.close {
                    log::plugin_line(
                        backend.log_ptr(),
                        LogLevel::Info,
                        filter.root.plugin_name(),
                        format!("{what}: the plugin closed the stream").as_bytes(),
                    );
                    return ChainEnd::Close;
                }
                if HttpContext::pauses(&outcome) {
                    if calls == Calls::Perform {
                        return ChainEnd::Pause {
                            filter: index,
                            next: index + 1,
                        };
                    }
                    log::plugin_line(
                        backend.log_ptr(),
                        LogLevel::Warn,
                        filter.root.plugin_name(),
                        format!("{what} returned Pause: a response cannot be held on this path; continuing")
                            .as_bytes(),
                    );
                }
                if calls == Calls::Perform && !outcome.calls.is_empty() {
                    for c in &outcome.calls {
                        rctx.calls.push(crate::http_call::start(
                            r,
                            index,
                            c,
                            crate::access::call_finished,
                        ));
                    }
                    return ChainEnd::Wait { next: index + 1 };
                }
            }
            Err(e) => {
                report_failure(&backend, filter, what, &e, lc.failure());
                if lc.failure() == Failure::Closed {
                    rctx.host_error = true;
                    return ChainEnd::Fail;
                }
            }
        }
    }
    ChainEnd::Next
}

/// Answer the request with a plugin's local response and end it.
pub(crate) fn send_local_response(r: *mut ngx_http_request_t, resp: LocalResponse) -> ngx_int_t {
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
            if backend
                .map_add(proxy_wasm_host::MapType::HttpResponseHeaders, k, v)
                .is_err()
            {
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

/// A one-buffer chain holding a copy of `bytes` in the request pool.
///
/// # Safety
/// `r` must be a live request.
pub(crate) unsafe fn chain_of(
    r: *mut ngx_http_request_t,
    bytes: &[u8],
    last: bool,
) -> *mut ngx_chain_t {
    // SAFETY: the pool is live; the buffer is sized for `bytes`.
    unsafe {
        let b = ngx_create_temp_buf((*r).pool, bytes.len().max(1));
        let cl = ngx_alloc_chain_link((*r).pool);
        if b.is_null() || cl.is_null() {
            return ptr::null_mut();
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), (*b).last, bytes.len());
        (*b).last = (*b).last.add(bytes.len());
        if last {
            if r == (*r).main {
                (*b).set_last_buf(1);
            }
            (*b).set_last_in_chain(1);
        }
        if bytes.is_empty() {
            (*b).set_temporary(0);
            (*b).set_sync(1);
        }
        (*cl).buf = b;
        (*cl).next = ptr::null_mut();
        cl
    }
}

/// Header filter: `proxy_on_response_headers` of each plugin of the location.
pub(crate) unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    let next = || {
        // SAFETY: nginx set the next filter before our postconfiguration put us in front of it.
        unsafe {
            NEXT_HEADER_FILTER
                .map(|f| f(r))
                .unwrap_or(NGX_ERROR as ngx_int_t)
        }
    };
    let failed = crate::unwind::catch("the header filter", true, || {
        let Some(lc) = loc_conf(r) else { return false };
        if lc.filters.is_none() || !response_callbacks_apply(r) {
            return false;
        }
        // SAFETY: `r` is live.
        let end_of_stream = unsafe { (*r).header_only() != 0 };
        let result = run_chain(
            r,
            lc,
            "proxy_on_response_headers",
            0,
            Calls::Drop,
            |http, backend, _| Some(http.on_response_headers(backend, end_of_stream)),
        );
        if let Some(filters) = lc.filters.as_ref() {
            if filters.iter().any(|f| f.response_body) {
                // A plugin may change the body: its length is no longer known.
                // SAFETY: `r` is live and its headers are not sent yet.
                unsafe {
                    let mut backend = RequestBackend::new(r);
                    let _ = backend.map_remove(
                        proxy_wasm_host::MapType::HttpResponseHeaders,
                        b"content-length",
                    );
                }
            }
        }
        match result {
            ChainEnd::Next | ChainEnd::Wait { .. } | ChainEnd::Pause { .. } => false,
            ChainEnd::Respond(_) => {
                // SAFETY: `r` is live.
                let backend = unsafe { RequestBackend::new(r) };
                log::write(
                    backend.log_ptr(),
                    LogLevel::Error,
                    format_args!("proxy-wasm: a local response from proxy_on_response_headers is not supported; ignored"),
                );
                false
            }
            ChainEnd::Fail | ChainEnd::Close => true,
        }
    });
    if failed {
        // SAFETY: `r` is live; the reference does not outlive this statement.
        if let Some(rctx) = unsafe { existing_request_ctx(r) } {
            // The 500 that replaces the response runs no plugin callbacks (none may fail on it again).
            rctx.host_error = true;
        }
        // SAFETY: `r` is live; this is nginx's way for a header filter to replace the response with an error.
        return unsafe {
            ngx_http_filter_finalize_request(
                r,
                std::ptr::addr_of_mut!(crate::ngx_http_proxy_wasm_module),
                NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t,
            )
        };
    }
    next()
}

/// Body filter: `proxy_on_response_body` of each plugin of the location that has it, per chunk.
pub(crate) unsafe extern "C" fn body_filter(
    r: *mut ngx_http_request_t,
    input: *mut ngx_chain_t,
) -> ngx_int_t {
    let next = |chain: *mut ngx_chain_t| {
        // SAFETY: nginx set the next filter before our postconfiguration put us in front of it.
        unsafe {
            NEXT_BODY_FILTER
                .map(|f| f(r, chain))
                .unwrap_or(NGX_ERROR as ngx_int_t)
        }
    };
    if input.is_null() {
        return next(input);
    }
    let result = crate::unwind::catch(
        "the body filter",
        Err(()),
        || -> Result<Option<*mut ngx_chain_t>, ()> {
            let Some(lc) = loc_conf(r) else {
                return Ok(None);
            };
            let Some(filters) = lc.filters.as_ref() else {
                return Ok(None);
            };
            if !filters.iter().any(|f| f.response_body) || !response_callbacks_apply(r) {
                return Ok(None);
            }
            // SAFETY: `input` is the chain nginx hands to body filters; buffers in memory hold pos..last.
            let (mut chunk, eos, readable) = unsafe { collect(input) };
            if !readable {
                // SAFETY: `r` is live.
                let backend = unsafe { RequestBackend::new(r) };
                let closed = lc.failure() == Failure::Closed;
                log::write(
                    backend.log_ptr(),
                    LogLevel::Error,
                    format_args!(
                        "proxy-wasm: the response body could not be read for proxy_on_response_body (a file buffer \
                         read failed); {}",
                        if closed {
                            "aborting the response (proxy_wasm_failure closed)"
                        } else {
                            "passing it on without the plugins (proxy_wasm_failure open)"
                        }
                    ),
                );
                return if closed { Err(()) } else { Ok(None) };
            }
            let mut changed = false;
            let result = run_chain(
                r,
                lc,
                "proxy_on_response_body",
                0,
                Calls::Drop,
                |http, backend, filter| {
                    if !filter.response_body {
                        return None;
                    }
                    let r = http.on_response_body(backend, &chunk, eos);
                    if let Ok(Outcome {
                        body: Some(body), ..
                    }) = &r
                    {
                        chunk = body.clone();
                        changed = true;
                    }
                    Some(r)
                },
            );
            match result {
                ChainEnd::Fail | ChainEnd::Close => Err(()),
                _ if !changed => Ok(None),
                _ => {
                    // SAFETY: `input` and `r` are live; consumed buffers are marked empty.
                    unsafe {
                        let mut cl = input;
                        while !cl.is_null() {
                            let b = (*cl).buf;
                            (*b).pos = (*b).last;
                            (*b).file_pos = (*b).file_last;
                            cl = (*cl).next;
                        }
                        if chunk.is_empty() && !eos {
                            // A plugin holds the body (Pause): nothing goes out now.
                            return Ok(Some(ptr::null_mut()));
                        }
                        let out = chain_of(r, &chunk, eos);
                        if out.is_null() {
                            return Err(());
                        }
                        Ok(Some(out))
                    }
                }
            }
        },
    );
    match result {
        Ok(None) => next(input),
        Ok(Some(out)) if out.is_null() => NGX_OK as ngx_int_t,
        Ok(Some(out)) => next(out),
        Err(()) => NGX_ERROR as ngx_int_t,
    }
}

/// The bytes of a chain (file-backed buffers are read, as nginx's copy filter would: this filter runs before
/// it), whether it ends the body, and whether every buffer could be read.
///
/// # Safety
/// `input` must be a valid chain.
pub(crate) unsafe fn collect(input: *mut ngx_chain_t) -> (Vec<u8>, bool, bool) {
    let mut bytes = Vec::new();
    let mut eos = false;
    let mut readable = true;
    let mut cl = input;
    // SAFETY: guaranteed by the caller; buffers in memory hold pos..last, file buffers file_pos..file_last.
    unsafe {
        while !cl.is_null() {
            let b = (*cl).buf;
            if (*b).last_buf() != 0 || (*b).last_in_chain() != 0 {
                eos = true;
            }
            let in_memory = (*b).temporary() != 0 || (*b).memory() != 0 || (*b).mmap() != 0;
            if in_memory {
                let len = (*b).last.offset_from((*b).pos) as usize;
                bytes.extend_from_slice(std::slice::from_raw_parts((*b).pos, len));
            } else if (*b).in_file() != 0 && !(*b).file.is_null() {
                let len = ((*b).file_last - (*b).file_pos).max(0) as usize;
                let at = bytes.len();
                bytes.resize(at + len, 0);
                let n = ngx::ffi::ngx_read_file(
                    (*b).file,
                    bytes.as_mut_ptr().add(at),
                    len,
                    (*b).file_pos,
                );
                if n != len as isize {
                    readable = false;
                }
            }
            cl = (*cl).next;
        }
    }
    (bytes, eos, readable)
}
