//! A response a plugin paused in `proxy_on_response_headers` (directive path), held as Envoy holds it: the
//! header filter does not pass its headers on, the body filter keeps the body bytes that arrive meanwhile (at
//! most `limits::MAX_PAUSED_BODY`), and a bit of `r->buffered` keeps nginx from finishing the request, until the
//! plugin continues it from another callback (the rest of the chain runs, then headers and body go on, the
//! body through the body callbacks), closes it (the response is aborted), or `proxy_wasm_pause_timeout` passes
//! (the failure policy: `closed` answers 500 instead, `open` lets the response go on).
//!
//! The pause itself (its timer, the worker's list of paused requests, the resume event) is `pause.rs`'s.

use std::ptr;

use ngx::ffi::{
    ngx_chain_t, ngx_http_finalize_request, ngx_http_request_t, ngx_http_run_posted_requests,
    ngx_int_t, ngx_post_event, ngx_posted_events, NGX_ERROR, NGX_OK,
};
use proxy_wasm_host::limits::MAX_PAUSED_BODY;
use proxy_wasm_host::{FailurePolicy, LogLevel};

use crate::backend::buffers::{chain_of, collect, consume};
use crate::backend::RequestBackend;
use crate::conf::LocConf;
use crate::filters::{self, Headers};
use crate::log;
use crate::pause::Pause;
use crate::request::{existing_request_ctx, loc_conf};

/// The bit of `r->buffered` set while a response is held (nginx's own request-level bits are SSI 0x01,
/// subrequest 0x02 and copy 0x04).
const HELD: u32 = 0x08;

/// What a held response is waiting with.
pub(crate) struct HeldResponse {
    /// The filter of the chain whose `proxy_on_response_headers` runs next.
    next: usize,
    /// The body bytes that arrived while held, and whether the body ended.
    body: Vec<u8>,
    eos: bool,
}

/// How a hold ends.
pub(crate) enum End {
    /// The plugin continued the response.
    Continue,
    /// The plugin closed the stream.
    Close,
    /// The hold failed (the reason, for the log line): the failure policy decides.
    Failed(String),
}

/// Hold `r`'s response: filter `filter` paused its header phase; the chain goes on at `next`.
pub(crate) fn hold(r: *mut ngx_http_request_t, lc: &LocConf, filter: usize, next: usize) {
    start(r, lc, filter, next, Vec::new(), false);
}

fn start(
    r: *mut ngx_http_request_t,
    lc: &LocConf,
    filter: usize,
    next: usize,
    body: Vec<u8>,
    eos: bool,
) {
    // SAFETY: `r` is live; the reference does not outlive this block.
    if let Some(rctx) = unsafe { existing_request_ctx(r) } {
        let held = HeldResponse { next, body, eos };
        rctx.pause = Some(Pause::start(r, filter, lc.pause_timeout_ms(), Some(held)));
        // SAFETY: `r` is live; nginx does not finish a request while a bit of `buffered` is set.
        unsafe { (*r).set_buffered((*r).buffered() | HELD) };
    }
}

/// The held response of `r`, if any.
fn held(r: *mut ngx_http_request_t) -> Option<&'static mut HeldResponse> {
    // SAFETY: `r` is live; callers use the reference within their own call.
    let rctx = unsafe { existing_request_ctx(r) }?;
    rctx.pause.as_mut()?.response.as_mut()
}

/// Body filter, first: while `r`'s response is held, keep `input` (null: nginx asks to flush; nothing goes out)
/// and return what the filter returns; `None` when nothing is held.
pub(crate) fn keep_body(r: *mut ngx_http_request_t, input: *mut ngx_chain_t) -> Option<ngx_int_t> {
    let held = held(r)?;
    if input.is_null() {
        return Some(NGX_OK as ngx_int_t);
    }
    // SAFETY: `input` is the chain nginx hands to body filters; its bytes are taken here.
    let (bytes, eos, readable) = unsafe { collect(input) };
    // SAFETY: as above.
    unsafe { consume(input) };
    if !readable {
        return Some(end(
            r,
            End::Failed(
                "the response body it held could not be read (a file buffer read failed)".into(),
            ),
        ));
    }
    held.body.extend_from_slice(&bytes);
    held.eos |= eos;
    if held.body.len() > MAX_PAUSED_BODY {
        return Some(end(
            r,
            End::Failed(format!(
                "the response it paused grew past {MAX_PAUSED_BODY} bytes of body while held"
            )),
        ));
    }
    Some(NGX_OK as ngx_int_t)
}

/// End `r`'s hold from outside its filters (the resume event, the pause timer), and have nginx go on with it.
pub(crate) fn resume(r: *mut ngx_http_request_t, how: End) {
    // SAFETY: `r` is live; its connection outlives it.
    let c = unsafe { (*r).connection };
    if end(r, how) == NGX_ERROR as ngx_int_t {
        // SAFETY: `r` is live; nginx terminates it (and its upstream) and may free it.
        unsafe { ngx_http_finalize_request(r, NGX_ERROR as ngx_int_t) };
    } else {
        // Whoever writes the response now (nginx's writer once the request was finalized, else its
        // content producer) is woken as by a writable socket.
        // SAFETY: the connection and its write event are live; the posted queue is nginx's.
        unsafe { ngx_post_event((*c).write, ptr::addr_of_mut!(ngx_posted_events)) };
    }
    // SAFETY: the connection is live (a freed request leaves it to nginx's own cleanup).
    unsafe { ngx_http_run_posted_requests(c) };
}

/// End `r`'s hold: send the response on, abort it (`NGX_ERROR`) or apply the failure policy; returns what the
/// sending returned.
fn end(r: *mut ngx_http_request_t, how: End) -> ngx_int_t {
    let Some(lc) = loc_conf(r) else {
        return NGX_ERROR as ngx_int_t;
    };
    // SAFETY: `r` is live; the reference does not outlive this function.
    let Some(rctx) = (unsafe { existing_request_ctx(r) }) else {
        return NGX_ERROR as ngx_int_t;
    };
    let Some(mut pause) = rctx.pause.take() else {
        return NGX_ERROR as ngx_int_t;
    };
    let Some(held) = pause.response.take() else {
        return NGX_ERROR as ngx_int_t;
    };
    let filter = pause.filter;
    drop(pause);
    // SAFETY: `r` is live.
    unsafe { (*r).set_buffered((*r).buffered() & !HELD) };
    let Some(f) = lc.filters.as_ref().and_then(|f| f.get(filter)) else {
        return NGX_ERROR as ngx_int_t;
    };
    // SAFETY: `r` is live.
    let mut backend = unsafe { RequestBackend::new(r) };
    match how {
        End::Continue => go_on(r, lc, held),
        End::Close => {
            log::plugin_line(
                backend.log_ptr(),
                LogLevel::Info,
                f.root.plugin_name(),
                b"the plugin closed the paused response",
            );
            NGX_ERROR as ngx_int_t
        }
        End::Failed(why) => {
            let policy = lc.policy();
            log::plugin_line(
                backend.log_ptr(),
                LogLevel::Error,
                f.root.plugin_name(),
                format!("{why}; {}", policy.consequence()).as_bytes(),
            );
            // Failed is finished: the plugin's later callbacks for this request are skipped.
            if let Ok(http) = rctx.context(&f.root, &mut backend) {
                http.fail();
            }
            if policy == FailurePolicy::Closed {
                fail(r)
            } else {
                go_on(r, lc, held)
            }
        }
    }
}

/// The plugin let the response go on: the rest of the chain's `proxy_on_response_headers`, then the headers and
/// the body held so far.
fn go_on(r: *mut ngx_http_request_t, lc: &LocConf, held: HeldResponse) -> ngx_int_t {
    match filters::response_headers_from(r, lc, held.next) {
        Headers::Hold { filter, next } => {
            start(r, lc, filter, next, held.body, held.eos);
            NGX_OK as ngx_int_t
        }
        Headers::Fail => fail(r),
        Headers::Next => send(r, &held.body, held.eos),
    }
}

/// Send `r`'s headers on, then `body` (`last`: it ends the response) through this module's body filter, where
/// the body callbacks see it (or a substituted body replaces it), unless the headers leave no body to send.
fn send(r: *mut ngx_http_request_t, body: &[u8], last: bool) -> ngx_int_t {
    let rc = filters::next_header_filter(r);
    // SAFETY: `r` is live.
    if rc == NGX_ERROR as ngx_int_t
        || rc > NGX_OK as ngx_int_t
        || unsafe { (*r).header_only() } != 0
        || (body.is_empty() && !last)
    {
        return rc;
    }
    // SAFETY: `r` is live.
    let out = unsafe { chain_of(r, body, last) };
    if out.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: `r` is live; `out` is a chain of its pool.
    unsafe { filters::body_filter(r, out) }
}

/// The module's 500 replaces the held response (its headers were never sent); the producer's later bytes are
/// dropped.
fn fail(r: *mut ngx_http_request_t) -> ngx_int_t {
    const PAGE: &[u8] =
        b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n\
<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n";
    // SAFETY: `r` is live and its headers are not sent.
    let mut backend = unsafe { RequestBackend::new(r) };
    let headers = [(b"content-type".to_vec(), b"text/html".to_vec())];
    if backend.replace_response(500, &headers, PAGE.len()).is_err() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: `r` is live; the reference does not outlive this block.
    if let Some(rctx) = unsafe { existing_request_ctx(r) } {
        rctx.host_error = true;
        rctx.local_response = true;
        // The body filter sends this body once and drops what the producer still sends.
        rctx.substitute_body = Some(PAGE.to_vec());
    }
    // SAFETY: `r` is live.
    unsafe { (*r).set_header_only(0) };
    send(r, &[], true)
}
