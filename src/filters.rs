//! The response side of the directive path: the header filter runs `proxy_on_response_headers` of the
//! location's chain, the body filter `proxy_on_response_body` per chunk (for plugins that export it), and both
//! carry out how the chain ended: a local response replaces the response (its body goes out instead of the
//! original one), a failure under `closed` replaces it with a 500 while the headers are not sent and aborts it
//! once they are. Main requests only; never for a response a plugin sent itself or for the module's own error.
//! The unsafe here is the filter chain's (the next filters, the request and its buffers).

use std::ptr;

use ngx::ffi::{
    ngx_chain_t, ngx_http_filter_finalize_request, ngx_http_output_body_filter_pt,
    ngx_http_output_header_filter_pt, ngx_http_request_t, ngx_int_t, NGX_ERROR,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_OK,
};
use proxy_wasm_host::{HttpBackend, LogLevel, MapType, Phase};

use crate::backend::buffers::{chain_bytes, chain_of, consume};
use crate::backend::RequestBackend;
use crate::chain::{run_chain, ChainBody, ChainEnd};
use crate::conf::{Failure, LocConf};
use crate::log;
use crate::request::{existing_request_ctx, is_main, loc_conf};

pub(crate) static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
pub(crate) static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

/// Whether the response callbacks of the location's plugins run for this response: main requests only, never
/// for the module's own error response nor for the body of a local response that replaced a response in its
/// header phase. A plugin's local response from a request phase runs them, as Envoy's encoder filters do for a
/// local reply.
fn response_callbacks_apply(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: `r` is a live request.
    is_main(r)
        && !unsafe { existing_request_ctx(r) }
            .is_some_and(|c| c.host_error || c.substitute_body.is_some())
}

/// Whether the response is a plugin's local response from a request phase.
fn local_response(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: `r` is live; the reference does not outlive this call.
    unsafe { existing_request_ctx(r) }.is_some_and(|c| c.local_response)
}

/// What the header filter does with the response.
pub(crate) enum Headers {
    /// Send it on (changed or not).
    Next,
    /// Replace it with the module's 500.
    Fail,
    /// Hold it: filter `filter` paused; the chain goes on at `next` when the plugin continues it
    /// (`held_response.rs`).
    Hold { filter: usize, next: usize },
}

/// Pass `r`'s response headers to the next header filter.
pub(crate) fn next_header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx set the next filter before our postconfiguration put us in front of it.
    unsafe {
        NEXT_HEADER_FILTER
            .map(|f| f(r))
            .unwrap_or(NGX_ERROR as ngx_int_t)
    }
}

/// Pass `chain` of `r`'s response body to the next body filter.
fn next_body_filter(r: *mut ngx_http_request_t, chain: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: nginx set the next filter before our postconfiguration put us in front of it.
    unsafe {
        NEXT_BODY_FILTER
            .map(|f| f(r, chain))
            .unwrap_or(NGX_ERROR as ngx_int_t)
    }
}

/// Whether `r` is a main request in a location without plugins: nothing for the filters to do (checked before
/// anything else, as most of a server's traffic is such).
fn untouched(r: *mut ngx_http_request_t) -> bool {
    is_main(r) && loc_conf(r).is_none_or(|lc| lc.filters.is_none())
}

/// Header filter: `proxy_on_response_headers` of each plugin of the location.
pub(crate) unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    if untouched(r) {
        return next_header_filter(r);
    }
    if !is_main(r) {
        // An HTTP call's subrequest: captured, never sent.
        let captured = crate::unwind::catch(
            "an HTTP call's response headers",
            Some(NGX_ERROR as ngx_int_t),
            || crate::http_call::capture_header(r),
        );
        if let Some(rc) = captured {
            return rc;
        }
    }
    match crate::unwind::catch("the header filter", Headers::Fail, || response_headers(r)) {
        Headers::Next => next_header_filter(r),
        Headers::Hold { filter, next } => {
            if let Some(lc) = loc_conf(r) {
                crate::held_response::hold(r, lc, filter, next);
            }
            NGX_OK as ngx_int_t
        }
        Headers::Fail => {
            // SAFETY: `r` is live; the reference does not outlive this statement.
            if let Some(rctx) = unsafe { existing_request_ctx(r) } {
                // The 500 that replaces the response runs no plugin callbacks (none may fail on it again).
                rctx.host_error = true;
            }
            // SAFETY: `r` is live; this is nginx's way for a header filter to replace the response with an
            // error.
            unsafe {
                ngx_http_filter_finalize_request(
                    r,
                    ptr::addr_of_mut!(crate::ngx_http_proxy_wasm_module),
                    NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t,
                )
            }
        }
    }
}

fn response_headers(r: *mut ngx_http_request_t) -> Headers {
    let Some(lc) = loc_conf(r) else {
        return Headers::Next;
    };
    if lc.filters.is_none() || !response_callbacks_apply(r) {
        return Headers::Next;
    }
    response_headers_from(r, lc, 0)
}

/// Run `proxy_on_response_headers` of the location's chain from filter `from` on.
pub(crate) fn response_headers_from(
    r: *mut ngx_http_request_t,
    lc: &LocConf,
    from: usize,
) -> Headers {
    // SAFETY: `r` is live.
    let end_of_stream = unsafe { (*r).header_only() != 0 };
    let end = run_chain(
        r,
        lc,
        Phase::ResponseHeaders,
        from,
        None,
        |http, backend, _, _| Some(http.on_response_headers(backend, end_of_stream)),
    );
    // SAFETY: `r` is live.
    let bodiless = unsafe {
        (*r).method & ngx::ffi::NGX_HTTP_HEAD as usize != 0
            || matches!((*r).headers_out.status, 204 | 304)
    };
    // A plugin's local response has its body, and its length, fixed: the body callbacks see it, unchanged.
    let fixed = local_response(r);
    if !bodiless
        && !fixed
        && lc
            .filters
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f.response_body))
    {
        // A plugin may change the body: its length is no longer known (a response without a body keeps it).
        // SAFETY: `r` is live and its headers are not sent yet.
        let mut backend = unsafe { RequestBackend::new(r) };
        let _ = backend.map_remove(MapType::HttpResponseHeaders, b"content-length");
    }
    match end {
        ChainEnd::Next | ChainEnd::Wait { .. } => Headers::Next,
        ChainEnd::Pause { filter, next } => Headers::Hold { filter, next },
        ChainEnd::Respond(resp) => substitute(r, lc, resp),
        ChainEnd::Fail | ChainEnd::Close => Headers::Fail,
    }
}

/// A plugin answered from `proxy_on_response_headers`: its status and headers replace the response's now, its
/// body replaces the response body in the body filter.
fn substitute(
    r: *mut ngx_http_request_t,
    lc: &LocConf,
    resp: proxy_wasm_host::LocalResponse,
) -> Headers {
    // SAFETY: `r` is live and its headers are not sent.
    let mut backend = unsafe { RequestBackend::new(r) };
    // SAFETY: `r` is live; the reference does not outlive this statement.
    if unsafe { existing_request_ctx(r) }.is_some_and(|c| c.local_response) {
        log::write(
            backend.log_ptr(),
            LogLevel::Error,
            format_args!(
                "proxy-wasm: a local response from proxy_on_response_headers while a local response is being sent is refused; the first one goes on"
            ),
        );
        return Headers::Next;
    }
    match backend.replace_response(resp.status, &resp.headers, resp.body.len()) {
        Ok(()) => {
            // SAFETY: `r` is live; the reference does not outlive this block.
            if let Some(rctx) = unsafe { existing_request_ctx(r) } {
                rctx.local_response = true;
                rctx.substitute_body = Some(resp.body);
            }
            Headers::Next
        }
        Err(e) => {
            let closed = lc.failure() == Failure::Closed;
            log::write(
                backend.log_ptr(),
                LogLevel::Error,
                format_args!(
                    "proxy-wasm: the local response from proxy_on_response_headers failed: {e}; {}",
                    if closed {
                        "failing the request (proxy_wasm_failure closed)"
                    } else {
                        "continuing with the response (proxy_wasm_failure open)"
                    }
                ),
            );
            if closed {
                Headers::Fail
            } else {
                Headers::Next
            }
        }
    }
}

/// Body filter: `proxy_on_response_body` of each plugin of the location that has it, per chunk.
pub(crate) unsafe extern "C" fn body_filter(
    r: *mut ngx_http_request_t,
    input: *mut ngx_chain_t,
) -> ngx_int_t {
    if !is_main(r) {
        // An HTTP call's subrequest: captured, never sent.
        let captured = crate::unwind::catch(
            "an HTTP call's response body",
            Some(NGX_ERROR as ngx_int_t),
            || crate::http_call::capture_body(r, input),
        );
        if let Some(rc) = captured {
            return rc;
        }
    }
    let next = |chain: *mut ngx_chain_t| next_body_filter(r, chain);
    if untouched(r) {
        return next(input);
    }
    if is_main(r) {
        let kept = crate::unwind::catch("the body filter", Some(NGX_ERROR as ngx_int_t), || {
            crate::held_response::keep_body(r, input)
        });
        if let Some(rc) = kept {
            return rc;
        }
    }
    if input.is_null() {
        return next(input);
    }
    match crate::unwind::catch("the body filter", Err(()), || response_body(r, input)) {
        Ok(None) => next(input),
        Ok(Some(out)) if out.is_null() => NGX_OK as ngx_int_t,
        Ok(Some(out)) => next(out),
        Err(()) => NGX_ERROR as ngx_int_t,
    }
}

/// The chain to send on instead of `input` (`None`: `input` itself; null: nothing now), or `Err` to abort the
/// response.
fn response_body(
    r: *mut ngx_http_request_t,
    input: *mut ngx_chain_t,
) -> Result<Option<*mut ngx_chain_t>, ()> {
    // SAFETY: `r` is live; the reference does not outlive this call.
    if let Some(rctx) = unsafe { existing_request_ctx(r) } {
        if rctx.local_response && is_main(r) {
            if let Some(substitute) = rctx.substitute_body.as_mut() {
                // A plugin's local response replaced this response: its body goes out once, the original's
                // bytes are dropped.
                let body = std::mem::take(substitute);
                // SAFETY: `input` is the chain nginx hands to body filters; `r` is live.
                unsafe { consume(input) };
                if body.is_empty() {
                    return Ok(Some(ptr::null_mut()));
                }
                // SAFETY: `r` is live.
                let out = unsafe { chain_of(r, &body, true) };
                return if out.is_null() {
                    Err(())
                } else {
                    Ok(Some(out))
                };
            }
        }
    }
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
    let (bytes, eos, readable) = unsafe { chain_bytes(input) };
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
    let mut body = ChainBody {
        bytes,
        changed: false,
    };
    let end = run_chain(
        r,
        lc,
        Phase::ResponseBody,
        0,
        Some(&mut body),
        |http, backend, filter, chunk| {
            filter
                .response_body
                .then(|| http.on_response_body(backend, chunk.unwrap_or_default(), eos))
        },
    );
    match end {
        ChainEnd::Fail | ChainEnd::Close => Err(()),
        // (A local response cannot come from here: the host core refused it as a failure.)
        _ if !body.changed => Ok(None),
        _ if local_response(r) => {
            // SAFETY: `r` is live.
            let backend = unsafe { RequestBackend::new(r) };
            log::write(
                backend.log_ptr(),
                LogLevel::Warn,
                format_args!(
                    "proxy-wasm: a change to the body of a local response is ignored (its Content-Length is sent)"
                ),
            );
            Ok(None)
        }
        _ => {
            // SAFETY: `input` and `r` are live; the chain's bytes were taken.
            unsafe {
                consume(input);
                if body.bytes.is_empty() && !eos {
                    // A plugin holds the body (Pause): nothing goes out now.
                    return Ok(Some(ptr::null_mut()));
                }
                let out = chain_of(r, &body.bytes, eos);
                if out.is_null() {
                    return Err(());
                }
                Ok(Some(out))
            }
        }
    }
}
