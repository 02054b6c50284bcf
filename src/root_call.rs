//! Calls no request carries: those a root context dispatches from `proxy_on_tick`, `proxy_on_queue_ready` or
//! the answer of such a call (`proxy_wasm_host::take_root_calls`). A subrequest needs a request to hang on, so
//! each call gets one of its own: a connection on one end of a socket pair (a real descriptor the event loop
//! can watch; nothing is ever sent on it) and a request allocated as nginx allocates one, in the server of the
//! call location, never logged. The call then runs exactly as a request's call does (`http_call.rs`); its
//! answer goes back to the root context, and the request and connection are freed once the answer was
//! delivered and the subrequest ended (a posted event, never from inside nginx's finalization).
//!
//! The unsafe here is that request and connection: their allocation, their events, their release.

use std::cell::RefCell;
use std::ffi::c_void;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::ptr;

use ngx::ffi::{
    ngx_close_connection, ngx_connection_log_error_e_NGX_ERROR_INFO, ngx_connection_t,
    ngx_create_pool, ngx_cycle, ngx_delete_posted_event, ngx_destroy_pool, ngx_event_t,
    ngx_get_connection, ngx_http_block_reading, ngx_http_conf_ctx_t, ngx_http_connection_t,
    ngx_http_core_main_conf_t, ngx_http_core_module, ngx_http_core_srv_conf_t,
    ngx_http_free_request, ngx_http_log_ctx_t, ngx_http_max_module, ngx_http_request_empty_handler,
    ngx_http_request_t, ngx_http_run_posted_requests, ngx_http_variable_value_t, ngx_list_init,
    ngx_log_t, ngx_palloc, ngx_pcalloc, ngx_post_event, ngx_posted_events, ngx_str_t,
    ngx_table_elt_t, ngx_timeofday, NGX_HTTP_GET, NGX_HTTP_MAX_SUBREQUESTS,
    NGX_HTTP_MAX_URI_CHANGES, NGX_HTTP_MODULE, NGX_HTTP_VERSION_11, NGX_OK,
};
use proxy_wasm_host::{CallResponse, LogLevel, RootCall};

use crate::backend::cycle_backend;
use crate::http_call::{self, PendingCall};
use crate::log;

/// Most calls one turn of root-context work may start (a plugin that dispatches again from every failed
/// answer cannot loop the worker).
const MAX_STARTS_PER_TURN: usize = 64;

/// A call in flight for a root context, with the request and connection it runs on.
struct Detached {
    c: *mut ngx_connection_t,
    /// The other end of the socket pair: kept open so the connection never sees an end of file.
    peer: Option<OwnedFd>,
    r: *mut ngx_http_request_t,
    call: Option<Box<PendingCall>>,
    root_call: Option<RootCall>,
    delivered: bool,
    /// Posted to free everything once delivered and the subrequest ended.
    free: ngx_event_t,
}

thread_local! {
    /// Boxed: nginx holds pointers to each one's `free` event while the vector moves.
    #[allow(clippy::vec_box)]
    static DETACHED: RefCell<Vec<Box<Detached>>> = const { RefCell::new(Vec::new()) };
}

/// Start every call root contexts dispatched since the last turn (after the timer's work, after an answer).
pub(crate) fn start_root_calls() {
    for _ in 0..MAX_STARTS_PER_TURN {
        let calls = proxy_wasm_host::take_root_calls();
        if calls.is_empty() {
            return;
        }
        for rc in calls {
            if let Err(why) = start(rc) {
                let (rc, why) = *why;
                let call = rc.call();
                let response = http_call::answer(
                    Err(why),
                    log_ptr(),
                    rc.plugin_name(),
                    call.token,
                    &call.upstream,
                );
                rc.deliver(&mut *cycle_backend(), response);
            }
        }
    }
    let left = proxy_wasm_host::take_root_calls();
    if let Some(rc) = left.first() {
        log::plugin_line(
            log_ptr(),
            LogLevel::Error,
            rc.plugin_name(),
            format!(
                "{} HTTP call(s) dropped: more than {MAX_STARTS_PER_TURN} rounds of calls in one turn",
                left.len()
            )
            .as_bytes(),
        );
    }
}

fn log_ptr() -> *mut ngx_log_t {
    ngx::log::ngx_cycle_log().as_ptr()
}

type StartError = Box<(RootCall, String)>;

fn start(rc: RootCall) -> Result<(), StartError> {
    let (a, b) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => return Err(Box::new((rc, format!("no socket pair: {e}")))),
    };
    if a.set_nonblocking(true).is_err() {
        return Err(Box::new((rc, "no socket pair".into())));
    }
    let grpc = rc.call().grpc.is_some();
    let Some(server) = http_call::first_call_server(grpc) else {
        return Err(Box::new((rc, http_call::missing_location(grpc))));
    };
    // SAFETY: the request and connection are built below from nginx's own allocators, as nginx builds a
    // client's; every pointer kept lives in their pools or in the boxed `Detached`, freed together in `free`.
    unsafe {
        let Some((c, r)) = fake_request(a.into_raw_fd(), server) else {
            return Err(Box::new((rc, "cannot allocate a request for it".into())));
        };
        let mut d = Box::new(Detached {
            c,
            peer: Some(OwnedFd::from(b)),
            r,
            call: None,
            root_call: None,
            delivered: false,
            free: std::mem::zeroed(),
        });
        let me: *mut Detached = &mut *d;
        d.free.data = me as *mut c_void;
        d.free.handler = Some(free_posted);
        d.free.log = (*c).log;
        let mut pending = http_call::start(r, 0, rc.call(), finished);
        pending.set_cancelable();
        pending.capture_on_end(&mut d.free);
        d.call = Some(pending);
        d.root_call = Some(rc);
        DETACHED.with(|list| list.borrow_mut().push(d));
    }
    Ok(())
}

/// A connection on `fd` and a request on it in the server whose configuration is `server`.
///
/// # Safety
/// `fd` must be an open non-blocking socket the caller gives away; `server` a server's configuration context.
unsafe fn fake_request(
    fd: i32,
    server: *mut ngx_http_conf_ctx_t,
) -> Option<(*mut ngx_connection_t, *mut ngx_http_request_t)> {
    // SAFETY: guaranteed by the caller; every allocation is checked before use.
    unsafe {
        let cycle_log = (*ngx_cycle).log;
        let c = ngx_get_connection(fd, cycle_log);
        if c.is_null() {
            libc_close(fd);
            return None;
        }
        let fail = |c: *mut ngx_connection_t| {
            if !(*c).pool.is_null() {
                ngx_destroy_pool((*c).pool);
            }
            ngx_close_connection(c);
            None
        };
        (*c).pool = ngx_create_pool(1024, cycle_log);
        if (*c).pool.is_null() {
            return fail(c);
        }
        let log = ngx_palloc((*c).pool, std::mem::size_of::<ngx_log_t>()) as *mut ngx_log_t;
        let lctx = ngx_pcalloc((*c).pool, std::mem::size_of::<ngx_http_log_ctx_t>())
            as *mut ngx_http_log_ctx_t;
        let hc = ngx_pcalloc((*c).pool, std::mem::size_of::<ngx_http_connection_t>())
            as *mut ngx_http_connection_t;
        if log.is_null() || lctx.is_null() || hc.is_null() {
            return fail(c);
        }
        *log = *cycle_log;
        (*log).connection = (*c).number;
        (*log).handler = None;
        (*log).data = lctx as *mut c_void;
        (*log).action = ptr::null_mut();
        (*lctx).connection = c;
        (*c).log = log;
        (*(*c).read).log = log;
        (*(*c).write).log = log;
        (*c).set_log_error(ngx_connection_log_error_e_NGX_ERROR_INFO);
        (*(*c).read).handler = Some(connection_event);
        (*(*c).write).handler = Some(connection_event);
        (*c).addr_text = ngx_str_t {
            len: 5,
            data: b"unix:".as_ptr() as *mut u8,
        };
        (*hc).conf_ctx = server;

        let cscf = *(*server).srv_conf.add(ngx_http_core_module.ctx_index)
            as *mut ngx_http_core_srv_conf_t;
        let pool = ngx_create_pool((*cscf).request_pool_size, log);
        if pool.is_null() {
            return fail(c);
        }
        let r =
            ngx_pcalloc(pool, std::mem::size_of::<ngx_http_request_t>()) as *mut ngx_http_request_t;
        let cmcf = *(*server).main_conf.add(ngx_http_core_module.ctx_index)
            as *mut ngx_http_core_main_conf_t;
        let ok = !r.is_null() && {
            (*r).pool = pool;
            (*r).ctx = ngx_pcalloc(
                pool,
                std::mem::size_of::<*mut c_void>() * ngx_http_max_module,
            ) as *mut *mut c_void;
            (*r).variables = ngx_pcalloc(
                pool,
                (*cmcf).variables.nelts.max(1) * std::mem::size_of::<ngx_http_variable_value_t>(),
            ) as *mut ngx_http_variable_value_t;
            let size = std::mem::size_of::<ngx_table_elt_t>();
            !(*r).ctx.is_null()
                && !(*r).variables.is_null()
                && ngx_list_init(&mut (*r).headers_in.headers, pool, 1, size) == NGX_OK as isize
                && ngx_list_init(&mut (*r).headers_out.headers, pool, 1, size) == NGX_OK as isize
                && ngx_list_init(&mut (*r).headers_out.trailers, pool, 1, size) == NGX_OK as isize
        };
        if !ok {
            ngx_destroy_pool(pool);
            return fail(c);
        }
        (*r).http_connection = hc;
        (*r).signature = NGX_HTTP_MODULE as _;
        (*r).connection = c;
        (*r).main_conf = (*server).main_conf;
        (*r).srv_conf = (*server).srv_conf;
        (*r).loc_conf = (*server).loc_conf;
        (*r).read_event_handler = Some(ngx_http_block_reading);
        (*r).write_event_handler = Some(ngx_http_request_empty_handler);
        (*r).main = r;
        (*r).set_count(1);
        let tp = ngx_timeofday();
        (*r).start_sec = tp.sec;
        (*r).start_msec = tp.msec;
        (*r).method = NGX_HTTP_GET as usize;
        (*r).method_name = ngx_str_t {
            len: 3,
            data: b"GET".as_ptr() as *mut u8,
        };
        (*r).http_version = NGX_HTTP_VERSION_11 as usize;
        (*r).http_protocol = ngx_str_t {
            len: 8,
            data: b"HTTP/1.1".as_ptr() as *mut u8,
        };
        (*r).uri = ngx_str_t {
            len: 1,
            data: b"/".as_ptr() as *mut u8,
        };
        (*r).unparsed_uri = (*r).uri;
        (*r).request_line = ngx_str_t {
            len: 16,
            data: b"proxy-wasm calls".as_ptr() as *mut u8,
        };
        (*r).headers_in.content_length_n = -1;
        (*r).headers_in.keep_alive_n = -1;
        (*r).headers_out.content_length_n = -1;
        (*r).headers_out.last_modified_time = -1;
        (*r).set_uri_changes(NGX_HTTP_MAX_URI_CHANGES + 1);
        (*r).set_subrequests(NGX_HTTP_MAX_SUBREQUESTS + 1);
        // Never in the access log.
        (*r).set_logged(1);
        (*lctx).request = r;
        (*lctx).current_request = r;
        (*c).data = r as *mut c_void;
        Some((c, r))
    }
}

fn libc_close(fd: i32) {
    // SAFETY: `fd` is ours (from the socket pair) and not used again.
    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
}

/// Events of the connection: as nginx's request handler, to the request's handlers, then its subrequests.
unsafe extern "C" fn connection_event(ev: *mut ngx_event_t) {
    // SAFETY: the connection's events carry it as data; its data is its request while it lives.
    crate::unwind::catch("a root call's connection", (), || unsafe {
        let c = (*ev).data as *mut ngx_connection_t;
        let r = (*c).data as *mut ngx_http_request_t;
        if r.is_null() {
            return;
        }
        let handler = if (*ev).write() != 0 {
            (*r).write_event_handler
        } else {
            (*r).read_event_handler
        };
        if let Some(h) = handler {
            h(r);
        }
        ngx_http_run_posted_requests(c);
    })
}

/// The call is answered (or failed): deliver to the root context, start what it dispatched, free later.
fn finished(r: *mut ngx_http_request_t, _me: *mut PendingCall) {
    let Some((rc, result, free)) = DETACHED.with(|list| {
        let mut list = list.borrow_mut();
        let d = list.iter_mut().find(|d| d.r == r)?;
        let mut call = d.call.take()?;
        d.delivered = true;
        let result = call.result.take();
        let free = call
            .capture_ended()
            .then_some(&mut d.free as *mut ngx_event_t);
        // The call stays alive until here: dropping it now only stops listening.
        drop(call);
        Some((d.root_call.take()?, result, free))
    }) else {
        return;
    };
    let response = match result {
        Some(result) => {
            let call = rc.call();
            http_call::answer(
                result,
                log_ptr(),
                rc.plugin_name(),
                call.token,
                &call.upstream,
            )
        }
        None => CallResponse::default(),
    };
    rc.deliver(&mut *cycle_backend(), response);
    if let Some(free) = free {
        // SAFETY: the event belongs to a live `Detached`; it is removed from the queue if freed otherwise.
        unsafe { ngx_post_event(free, ptr::addr_of_mut!(ngx_posted_events)) };
    }
    start_root_calls();
}

/// Free a call's request and connection once it was delivered and its subrequest ended.
unsafe extern "C" fn free_posted(ev: *mut ngx_event_t) {
    crate::unwind::catch("a root call's end", (), || {
        let me = {
            // SAFETY: the event's data is its `Detached`, alive while it is in the list.
            unsafe { (*ev).data as *mut Detached }
        };
        let Some(d) = DETACHED.with(|list| {
            let mut list = list.borrow_mut();
            let pos = list.iter().position(|d| ptr::eq(&**d, me))?;
            if !list[pos].delivered {
                return None;
            }
            Some(list.swap_remove(pos))
        }) else {
            return;
        };
        free(d);
    })
}

fn free(mut d: Box<Detached>) {
    // SAFETY: the subrequest ended and the answer was delivered: nothing else uses the request or the
    // connection; the request's pool cleanups (the subrequest's state among them) run in ngx_http_free_request.
    unsafe {
        if d.free.posted() != 0 {
            ngx_delete_posted_event(&mut d.free);
        }
        drop(d.call.take());
        ngx_http_free_request(d.r, 0);
        let pool = (*d.c).pool;
        ngx_close_connection(d.c);
        ngx_destroy_pool(pool);
        drop(d.peer.take());
    }
}
