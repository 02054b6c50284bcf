//! HTTP calls, on both entrances: each call a plugin dispatches is a background subrequest of its request,
//! run in the location marked `proxy_wasm_http_calls` (an ordinary nginx location whose `proxy_pass` takes
//! its target from `$proxy_wasm_call_url`). So nginx's own upstream machinery performs the call: an
//! `upstream {}` group of the call's name (balancing, keepalive), else the `resolver`, TLS with the location's
//! `proxy_ssl_*` settings, its timeouts and buffers. The subrequest's output never reaches the client: the
//! module's filters capture its status, headers, body and trailers (`capture_header`, `capture_body`).
//!
//! A `PendingCall` is boxed (nginx keeps pointers to its events) and owned by the request's state. Its
//! subrequest shares a `Capture` with it; dropping the call (the request ended, the call timed out) detaches
//! the capture, and a subrequest still running finishes in the background unheard. The completion is always
//! delivered from the event loop (a posted event), never from inside nginx's finalization of the subrequest.
//!
//! The unsafe here is the subrequest's setup (its request line, headers and body, its configuration), the
//! events, and the capture from the filter chain.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use ngx::ffi::{
    ngx_add_timer, ngx_chain_t, ngx_del_timer, ngx_delete_posted_event, ngx_event_t,
    ngx_http_conf_ctx_t, ngx_http_core_find_config_phase, ngx_http_core_main_conf_t,
    ngx_http_core_module, ngx_http_core_run_phases, ngx_http_post_subrequest_t,
    ngx_http_request_body_t, ngx_http_request_t, ngx_http_run_posted_requests, ngx_http_subrequest,
    ngx_http_variable_value_t, ngx_int_t, ngx_pcalloc, ngx_post_event, ngx_posted_events,
    ngx_uint_t, NGX_ERROR, NGX_HTTP_SUBREQUEST_BACKGROUND, NGX_OK,
};
use proxy_wasm_host::http_syntax::call_target;
use proxy_wasm_host::map::Pair;
use proxy_wasm_host::{limits, CallResponse, HttpCall};

use crate::backend::buffers::{chain_of, collect, consume};
use crate::backend::RequestBackend;
use crate::request::{existing_request_ctx, request_ctx};

/// What the request-level code does when a call finished (its result is in `PendingCall::result`).
pub(crate) type OnFinished = fn(*mut ngx_http_request_t, *mut PendingCall);

/// The location a server's calls run in (`proxy_wasm_http_calls`): its configuration, and that of its server.
#[derive(Clone, Copy)]
pub(crate) struct CallLocation {
    /// The server block's `srv_conf` array: calls of requests in that server use this location first.
    pub srv_conf: *mut *mut c_void,
    pub ctx: *mut ngx_http_conf_ctx_t,
    /// `proxy_wasm_grpc_calls` (gRPC calls), else `proxy_wasm_http_calls`.
    pub grpc: bool,
}

/// What a call's subrequest shares with the call: the values of the `$proxy_wasm_call_*` variables, and what
/// the capture filters saw.
pub(crate) struct Capture {
    url: Vec<u8>,
    authority: Vec<u8>,
    host: Vec<u8>,
    status: usize,
    headers: Vec<Pair>,
    body: Vec<u8>,
    trailers: Vec<Pair>,
    failure: Option<String>,
    /// The subrequest exists (it was created).
    started: bool,
    finished: bool,
    /// Posted when the subrequest ends, if set (the owner of a request of its own frees it then).
    on_end: *mut ngx_event_t,
    /// The call's completion event; null once the call was dropped (nobody listens any more).
    done: *mut ngx_event_t,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            url: Vec::new(),
            authority: Vec::new(),
            host: Vec::new(),
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            trailers: Vec::new(),
            failure: None,
            started: false,
            finished: false,
            on_end: ptr::null_mut(),
            done: ptr::null_mut(),
        }
    }
}

pub(crate) struct PendingCall {
    pub r: *mut ngx_http_request_t,
    /// Who dispatched the call: the index of the plugin in the location's chain (directive path), or the
    /// address of the plugin ctx (Lua).
    pub owner: usize,
    pub token: u32,
    pub upstream: String,
    capture: Rc<RefCell<Capture>>,
    timer: ngx_event_t,
    done: ngx_event_t,
    /// Posted once the subrequest exists: runs the request's posted subrequests (whoever started the call).
    kick: ngx_event_t,
    on_finished: OnFinished,
    /// Set once: the response, or why the call failed.
    pub result: Option<Result<CallResponse, String>>,
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.close();
    }
}

impl PendingCall {
    /// Stop listening: the subrequest (if still running) goes on unheard; the timer and the completion event
    /// are removed.
    fn close(&mut self) {
        if let Ok(mut capture) = self.capture.try_borrow_mut() {
            capture.done = ptr::null_mut();
        }
        // SAFETY: both events are ours; a set timer or a posted event is removed before the box is freed.
        unsafe {
            if self.timer.timer_set() != 0 {
                ngx_del_timer(&mut self.timer);
            }
            for ev in [&mut self.done, &mut self.kick] {
                if ev.posted() != 0 {
                    ngx_delete_posted_event(ev);
                }
            }
        }
    }

    /// Whether the call is answered (or failed) and waits to be delivered.
    pub(crate) fn finished(&self) -> bool {
        self.result.is_some()
    }

    /// Post `ev` when the call's subrequest ends (after the call itself may be gone).
    pub(crate) fn capture_on_end(&self, ev: *mut ngx_event_t) {
        self.capture.borrow_mut().on_end = ev;
    }

    /// Whether no subrequest of the call runs any more (it ended, or was never created).
    pub(crate) fn capture_ended(&self) -> bool {
        let c = self.capture.borrow();
        !c.started || c.finished
    }

    /// Let the worker exit without waiting for the call's timeout (calls no client waits for).
    pub(crate) fn set_cancelable(&mut self) {
        self.timer.set_cancelable(1);
    }
}

/// The call location (of gRPC calls, or of HTTP calls) for requests of `r`'s server: the one declared in that
/// server, else the first declared.
fn call_location(r: *mut ngx_http_request_t, grpc: bool) -> Option<CallLocation> {
    // SAFETY: `r` is a live request.
    let req = unsafe { ngx::http::Request::from_ngx_http_request(r) };
    let main = <crate::Module as ngx::http::HttpModuleMainConf>::main_conf(req)?;
    // SAFETY: `r` is live.
    let srv_conf = unsafe { (*r).srv_conf };
    let mut of_kind = main.call_locations.iter().filter(|l| l.grpc == grpc);
    main.call_locations
        .iter()
        .find(|l| l.grpc == grpc && l.srv_conf == srv_conf)
        .or_else(|| of_kind.next())
        .copied()
}

/// The server configuration context of the first call location (of gRPC calls, or of HTTP calls), for calls no
/// request carries.
pub(crate) fn first_call_server(grpc: bool) -> Option<*mut ngx_http_conf_ctx_t> {
    let main = crate::conf::cycle_main_conf()?;
    let location = main.call_locations.iter().find(|l| l.grpc == grpc)?;
    // SAFETY: a call location's `srv_conf` is its server's configuration array, which lives with the cycle.
    unsafe {
        let cscf = *location.srv_conf.add(ngx_http_core_module.ctx_index)
            as *mut ngx::ffi::ngx_http_core_srv_conf_t;
        Some((*cscf).ctx)
    }
}

/// Why a call cannot run: no location performs calls of its kind.
pub(crate) fn missing_location(grpc: bool) -> String {
    let directive = if grpc {
        "proxy_wasm_grpc_calls"
    } else {
        "proxy_wasm_http_calls"
    };
    format!("no location has {directive} (see the README: HTTP calls)")
}

/// What the plugin gets for a call's result: its response, or for a failed call zero headers and no body, after
/// the call's `[warn]` line.
pub(crate) fn answer(
    result: Result<CallResponse, String>,
    log: *mut ngx::ffi::ngx_log_t,
    plugin: &str,
    token: u32,
    upstream: &str,
) -> CallResponse {
    result.unwrap_or_else(|why| {
        crate::log::plugin_line(
            log,
            proxy_wasm_host::LogLevel::Warn,
            plugin,
            format!("HTTP call {token} to {upstream} failed: {why}").as_bytes(),
        );
        CallResponse::default()
    })
}

static mut POST_SUBREQUEST: ngx_http_post_subrequest_t = ngx_http_post_subrequest_t {
    handler: Some(subrequest_done),
    data: ptr::null_mut(),
};

/// Start `call` for request `r`; `on_finished` runs (from the event loop, never from here) when it is done.
pub(crate) fn start(
    r: *mut ngx_http_request_t,
    owner: usize,
    call: &HttpCall,
    on_finished: OnFinished,
) -> Box<PendingCall> {
    let mut pc = Box::new(PendingCall {
        r,
        owner,
        token: call.token,
        upstream: call.upstream.clone(),
        capture: Rc::default(),
        // SAFETY: all-zero is the initial state nginx itself gives events.
        timer: unsafe { std::mem::zeroed() },
        // SAFETY: as above.
        done: unsafe { std::mem::zeroed() },
        // SAFETY: as above.
        kick: unsafe { std::mem::zeroed() },
        on_finished,
        result: None,
    });
    let me: *mut PendingCall = &mut *pc;
    // SAFETY: `r` is live; `pc` is boxed, so the event pointers nginx keeps stay valid until it is dropped,
    // which removes them first.
    unsafe {
        let log = (*(*r).connection).log;
        for ev in [&mut pc.timer, &mut pc.done, &mut pc.kick] {
            ev.data = me as *mut c_void;
            ev.log = log;
        }
        pc.timer.handler = Some(timer_fired);
        pc.done.handler = Some(done_posted);
        pc.kick.handler = Some(kick_posted);
    }
    if let Err(why) = start_subrequest(r, call, &pc.capture, &mut pc.done) {
        pc.result = Some(Err(why));
        // SAFETY: the event is set up above; it is removed when the call is dropped.
        unsafe { ngx_post_event(&mut pc.done, ptr::addr_of_mut!(ngx_posted_events)) };
        return pc;
    }
    let timeout = call.timeout_ms.clamp(1, limits::MAX_HTTP_CALL_TIMEOUT_MS);
    // SAFETY: as above.
    unsafe {
        ngx_add_timer(&mut pc.timer, timeout as _);
        ngx_post_event(&mut pc.kick, ptr::addr_of_mut!(ngx_posted_events));
    }
    pc
}

/// Create the subrequest performing `call` in the call location, sharing `capture`.
fn start_subrequest(
    r: *mut ngx_http_request_t,
    call: &HttpCall,
    capture: &Rc<RefCell<Capture>>,
    done: *mut ngx_event_t,
) -> Result<(), String> {
    let grpc = call.grpc.is_some();
    let Some(location) = call_location(r, grpc) else {
        return Err(missing_location(grpc));
    };
    let scheme = match (grpc, &call.scheme.to_ascii_lowercase()[..]) {
        (true, b"https") => b"grpcs".to_vec(),
        (true, _) => b"grpc".to_vec(),
        (false, s) => s.to_vec(),
    };
    if !grpc && scheme != b"http" && scheme != b"https" {
        return Err(format!(
            "scheme \"{}\" is not http or https",
            String::from_utf8_lossy(&scheme)
        ));
    }
    let Some(target) = call_target(call.upstream.as_bytes()) else {
        return Err("not a host[:port] or an upstream name".into());
    };
    {
        let mut c = capture.borrow_mut();
        // grpc_pass takes the path from the subrequest's URI; proxy_pass from the URL.
        let path: &[u8] = if grpc { b"" } else { &call.path };
        c.url = [&scheme[..], b"://", &target, path].concat();
        c.host = match proxy_wasm_host::http_syntax::host_of(&call.authority) {
            Some(host) => host,
            None => target.clone(),
        };
        c.authority = if call.authority.is_empty() {
            call.upstream.clone().into_bytes()
        } else {
            call.authority.clone()
        };
        c.done = done;
    }
    // SAFETY: `r` is a live request; the subrequest and everything it points to live in its pool; the call
    // location's configuration lives as long as the cycle.
    unsafe {
        let clcf = *(*location.ctx).loc_conf.add(ngx_http_core_module.ctx_index)
            as *mut ngx::ffi::ngx_http_core_loc_conf_t;
        let mut uri = if grpc {
            match RequestBackend::new(r).pool_copy(&call.path) {
                Ok(path) => path,
                Err(_) => return Err("out of memory".into()),
            }
        } else {
            (*clcf).name
        };
        let mut sr: *mut ngx_http_request_t = ptr::null_mut();
        let rc = ngx_http_subrequest(
            r,
            &mut uri,
            ptr::null_mut(),
            &mut sr,
            ptr::addr_of_mut!(POST_SUBREQUEST),
            NGX_HTTP_SUBREQUEST_BACKGROUND as ngx_uint_t,
        );
        if rc != NGX_OK as ngx_int_t || sr.is_null() {
            return Err("cannot create its subrequest".into());
        }
        capture.borrow_mut().started = true;
        // The subrequest runs in the call location whatever the request's server: its configuration is that
        // location's, and it starts at the find-config phase (no server rewrites of either server apply).
        (*sr).main_conf = (*location.ctx).main_conf;
        (*sr).srv_conf = (*location.ctx).srv_conf;
        (*sr).loc_conf = (*location.ctx).loc_conf;
        (*sr).write_event_handler = Some(run_subrequest);
        // Its own variables: values cached while it runs must not leak into the request's.
        let cmcf = *(*location.ctx)
            .main_conf
            .add(ngx_http_core_module.ctx_index)
            as *mut ngx_http_core_main_conf_t;
        let n = (*cmcf).variables.nelts;
        (*sr).variables = ngx_pcalloc(
            (*r).pool,
            n.max(1) * std::mem::size_of::<ngx_http_variable_value_t>(),
        ) as *mut ngx_http_variable_value_t;
        if (*sr).variables.is_null() {
            return Err("out of memory".into());
        }
        let mut backend = RequestBackend::new(sr);
        backend
            .set_call_request(&call.method, &call.headers)
            .map_err(|_| "cannot set its request headers".to_string())?;
        let rb = ngx_pcalloc((*r).pool, std::mem::size_of::<ngx_http_request_body_t>())
            as *mut ngx_http_request_body_t;
        if rb.is_null() {
            return Err("out of memory".into());
        }
        let method = call.method.to_ascii_uppercase();
        if !call.body.is_empty() {
            (*rb).bufs = chain_of(sr, &call.body, true);
            if (*rb).bufs.is_null() {
                return Err("out of memory".into());
            }
            (*sr).headers_in.content_length_n = call.body.len() as _;
        } else if matches!(&method[..], b"POST" | b"PUT" | b"PATCH") {
            (*sr).headers_in.content_length_n = 0;
        }
        (*sr).request_body = rb;
        let Some(sctx) = request_ctx(sr) else {
            return Err("out of memory".into());
        };
        sctx.call = Some(capture.clone());
    }
    Ok(())
}

/// The subrequest's first run: straight to the find-config phase of the call location (as `ngx_http_handler`
/// starts an internal request, minus the server rewrites).
unsafe extern "C" fn run_subrequest(sr: *mut ngx_http_request_t) {
    // SAFETY: nginx runs the write handler of a live subrequest.
    crate::unwind::catch("an HTTP call's subrequest", (), || unsafe {
        let cmcf =
            *(*sr).main_conf.add(ngx_http_core_module.ctx_index) as *mut ngx_http_core_main_conf_t;
        let handlers = (*cmcf).phase_engine.handlers;
        let mut i = 0;
        while let Some(checker) = (*handlers.add(i)).checker {
            if checker as *const () == ngx_http_core_find_config_phase as *const () {
                break;
            }
            i += 1;
        }
        (*sr).phase_handler = i as _;
        (*sr).set_valid_location(1);
        (*sr).write_event_handler = Some(ngx_http_core_run_phases);
        ngx_http_core_run_phases(sr);
    })
}

/// The capture a call's subrequest shares with its call, if `r` is one.
fn capture_of(r: *mut ngx_http_request_t) -> Option<Rc<RefCell<Capture>>> {
    // SAFETY: `r` is live; the reference does not outlive this call.
    unsafe { existing_request_ctx(r) }.and_then(|c| c.call.clone())
}

/// nginx finalizes a call's subrequest: note how it ended and post the completion. Always answers `NGX_OK`, so
/// that nginx neither generates an error page for it nor ends the request it belongs to.
unsafe extern "C" fn subrequest_done(
    sr: *mut ngx_http_request_t,
    _data: *mut c_void,
    rc: ngx_int_t,
) -> ngx_int_t {
    crate::unwind::catch("an HTTP call's end", NGX_OK as ngx_int_t, || {
        let Some(capture) = capture_of(sr) else {
            return NGX_OK as ngx_int_t;
        };
        let mut c = capture.borrow_mut();
        if c.finished {
            return NGX_OK as ngx_int_t;
        }
        c.finished = true;
        if c.status == 0 && c.failure.is_none() {
            c.failure = Some(match rc {
                0 => "no response".to_string(),
                rc if rc > 0 => {
                    format!("no response from the upstream (nginx ended the call with {rc}: see its error line)")
                }
                rc => format!("no response from the upstream (nginx ended the call with {rc})"),
            });
        }
        if c.trailers.is_empty() {
            // SAFETY: `sr` is the live subrequest being finalized; its upstream (if any) is live.
            unsafe {
                let u = (*sr).upstream;
                if !u.is_null() {
                    c.trailers = crate::backend::header_pairs(&mut (*u).headers_in.trailers);
                }
            }
        }
        // SAFETY: a non-null `done` is the event of a live call (the call nulls it when dropped); a non-null
        // `on_end` that of the live owner of the request (freed only after this ran).
        unsafe {
            if !c.done.is_null() {
                ngx_post_event(c.done, ptr::addr_of_mut!(ngx_posted_events));
            }
            if !c.on_end.is_null() {
                ngx_post_event(c.on_end, ptr::addr_of_mut!(ngx_posted_events));
            }
        }
        NGX_OK as ngx_int_t
    })
}

/// The header filter's part: for a call's subrequest, take its status and the upstream's headers and stop
/// (nothing goes to the client). `None` for any other request.
pub(crate) fn capture_header(r: *mut ngx_http_request_t) -> Option<ngx_int_t> {
    let capture = capture_of(r)?;
    let mut c = capture.borrow_mut();
    // SAFETY: `r` is a live subrequest; its upstream (when it has one) is live.
    unsafe {
        let u = (*r).upstream;
        if !u.is_null() && (*u).headers_in.status_n != 0 {
            // The upstream's answer, its headers as it sent them.
            c.status = (*u).headers_in.status_n;
            c.headers = crate::backend::header_pairs(&mut (*u).headers_in.headers);
        } else {
            // An answer of the call location itself (a `return`, a static file).
            c.status = (*r).headers_out.status;
            c.headers = crate::backend::header_pairs(&mut (*r).headers_out.headers);
            let ct = &(*r).headers_out.content_type;
            if ct.len > 0 {
                let value = crate::backend::bytes_raw(ct.data, ct.len).to_vec();
                c.headers.push((b"content-type".to_vec(), value));
            }
            if (*r).headers_out.content_length_n >= 0 {
                let n = (*r).headers_out.content_length_n.to_string().into_bytes();
                c.headers.push((b"content-length".to_vec(), n));
            }
        }
        if (*r).method & ngx::ffi::NGX_HTTP_HEAD as usize != 0 {
            (*r).set_header_only(1);
        }
    }
    Some(NGX_OK as ngx_int_t)
}

/// The body filter's part: for a call's subrequest, keep the body (failing past the limit) and the trailers.
/// `None` for any other request.
pub(crate) fn capture_body(
    r: *mut ngx_http_request_t,
    input: *mut ngx_chain_t,
) -> Option<ngx_int_t> {
    let capture = capture_of(r)?;
    let mut c = capture.borrow_mut();
    // SAFETY: `input` is the chain the filter was given for this live subrequest.
    let (bytes, eos, readable) = unsafe { collect(input) };
    // SAFETY: as above.
    unsafe { consume(input) };
    if !readable {
        c.failure = Some("cannot read its response body".into());
        return Some(NGX_ERROR as ngx_int_t);
    }
    if c.body.len() + bytes.len() > limits::MAX_HTTP_CALL_RESPONSE_BODY {
        c.failure = Some("response too large".into());
        return Some(NGX_ERROR as ngx_int_t);
    }
    c.body.extend_from_slice(&bytes);
    if eos {
        // SAFETY: `r` is live; its trailers list was initialised by ngx_http_subrequest.
        c.trailers = unsafe { crate::backend::header_pairs(&mut (*r).headers_out.trailers) };
    }
    Some(NGX_OK as ngx_int_t)
}

/// The value of `$proxy_wasm_call_url` (`data` 0), `$proxy_wasm_call_authority` (1) or `$proxy_wasm_call_host`
/// (2) for a call's subrequest; not found elsewhere.
pub(crate) unsafe extern "C" fn call_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    crate::unwind::catch("an HTTP call variable", NGX_ERROR as ngx_int_t, || {
        // SAFETY: nginx passes a live request and its variable value slot.
        unsafe {
            let Some(capture) = capture_of(r) else {
                (*v).set_not_found(1);
                return NGX_OK as ngx_int_t;
            };
            let c = capture.borrow();
            let value = match data {
                0 => &c.url,
                1 => &c.authority,
                _ => &c.host,
            };
            let Ok(s) = RequestBackend::new(r).pool_copy(value) else {
                return NGX_ERROR as ngx_int_t;
            };
            (*v).data = s.data;
            (*v).set_len(s.len as _);
            (*v).set_valid(1);
            (*v).set_no_cacheable(1);
            (*v).set_not_found(0);
            NGX_OK as ngx_int_t
        }
    })
}

unsafe extern "C" fn timer_fired(ev: *mut ngx_event_t) {
    // SAFETY: the timer's data is its boxed call, alive while the timer is set.
    crate::unwind::catch("an HTTP call's timeout", (), || unsafe {
        finish((*ev).data as *mut PendingCall, Err("timed out".to_string()))
    })
}

/// Make the connection's log lines those of request `r` again (the subrequest that ran last left its own
/// request and action there).
pub(crate) fn log_as_request(r: *mut ngx_http_request_t) {
    // SAFETY: `r` is a live request; its connection's log context, when set, is the HTTP module's.
    unsafe {
        let log = (*(*r).connection).log;
        if !(*log).data.is_null() {
            (*((*log).data as *mut ngx::ffi::ngx_http_log_ctx_t)).current_request = r;
        }
        (*log).action = ptr::null_mut();
    }
}

unsafe extern "C" fn kick_posted(ev: *mut ngx_event_t) {
    // SAFETY: the event's data is its boxed call, alive while the event is posted; the call lives with its
    // request, so the request's connection is live and serves that request.
    crate::unwind::catch("an HTTP call's start", (), || unsafe {
        let me = (*ev).data as *mut PendingCall;
        ngx_http_run_posted_requests((*(*me).r).connection);
    })
}

unsafe extern "C" fn done_posted(ev: *mut ngx_event_t) {
    // SAFETY: the event's data is its boxed call, alive while the event is posted.
    crate::unwind::catch("an HTTP call's answer", (), || unsafe {
        let me = (*ev).data as *mut PendingCall;
        let result = match (*me).result.take() {
            Some(result) => result,
            None => {
                let mut c = (*me).capture.borrow_mut();
                match c.failure.take() {
                    Some(why) => Err(why),
                    None => {
                        let mut headers =
                            vec![(b":status".to_vec(), c.status.to_string().into_bytes())];
                        headers.append(&mut c.headers);
                        Ok(CallResponse {
                            headers,
                            body: std::mem::take(&mut c.body),
                            trailers: std::mem::take(&mut c.trailers),
                        })
                    }
                }
            }
        };
        finish(me, result)
    })
}

/// The call is over: stop listening, then hand it to the request (which drops it).
///
/// # Safety
/// `me` must be a live call; it must not be used after this returns.
unsafe fn finish(me: *mut PendingCall, result: Result<CallResponse, String>) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let call = &mut *me;
        call.result = Some(result);
        call.close();
        let (r, on_finished) = (call.r, call.on_finished);
        log_as_request(r);
        on_finished(r, me);
    }
}
