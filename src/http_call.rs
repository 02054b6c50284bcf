//! HTTP calls on the directive path: each call a plugin dispatches is one HTTP/1.1 request on its own nginx
//! connection (`ngx_event_connect_peer`, the machinery nginx's upstreams and Lua's cosockets use), driven by
//! the event loop, with one deadline (a timer) for the whole exchange. The request waits; the worker does not.
//! The request bytes and the response parsing are the host core's (`proxy_wasm_host::http1`).
//!
//! A `PendingCall` is boxed (nginx keeps pointers to it) and owned by the request's state; dropping it closes its
//! connection and its timer, so a request that ends early leaves nothing behind.

use std::ffi::c_void;
use std::ptr;

use ngx::ffi::{
    ngx_add_timer, ngx_close_connection, ngx_connection_log_error_e_NGX_ERROR_INFO,
    ngx_connection_t, ngx_del_timer, ngx_event_connect_peer, ngx_event_get_peer, ngx_event_t,
    ngx_handle_read_event, ngx_handle_write_event, ngx_http_request_t, ngx_peer_connection_t,
    ngx_post_event, ngx_posted_events, ngx_str_t, NGX_AGAIN, NGX_OK,
};
use proxy_wasm_host::{http1, limits, CallResponse, HttpCall};

/// What the request-level code does when a call finished (its result is in `PendingCall::result`).
pub(crate) type OnFinished = fn(*mut ngx_http_request_t, *mut PendingCall);

pub(crate) struct PendingCall {
    pub r: *mut ngx_http_request_t,
    /// Index of the plugin in the location's chain that dispatched the call.
    pub filter: usize,
    pub token: u32,
    pub upstream: String,
    head: bool,
    peer: ngx_peer_connection_t,
    name: ngx_str_t,
    addr: libc::sockaddr_storage,
    out: Vec<u8>,
    sent: usize,
    input: Vec<u8>,
    timer: ngx_event_t,
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
    fn close(&mut self) {
        // SAFETY: the connection and the timer are ours and live until closed/deleted here.
        unsafe {
            if !self.peer.connection.is_null() {
                ngx_close_connection(self.peer.connection);
                self.peer.connection = ptr::null_mut();
            }
            if self.timer.timer_set() != 0 {
                ngx_del_timer(&mut self.timer);
            }
        }
    }
}

fn sockaddr(addr: std::net::SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid; the concrete address is written over it.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        std::net::SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Start `call` for request `r`; `on_finished` runs (from the event loop, never from here) when it is done.
pub(crate) fn start(
    r: *mut ngx_http_request_t,
    filter: usize,
    call: &HttpCall,
    on_finished: OnFinished,
) -> Box<PendingCall> {
    // SAFETY: all-zero is the initial state nginx itself gives these structures.
    let mut pc: Box<PendingCall> = Box::new(PendingCall {
        r,
        filter,
        token: call.token,
        upstream: call.upstream.clone(),
        head: call.method.eq_ignore_ascii_case(b"HEAD"),
        peer: unsafe { std::mem::zeroed() },
        name: ngx_str_t::default(),
        // SAFETY: as above.
        addr: unsafe { std::mem::zeroed() },
        out: http1::request(call),
        sent: 0,
        input: Vec::new(),
        // SAFETY: as above.
        timer: unsafe { std::mem::zeroed() },
        on_finished,
        result: None,
    });
    let me: *mut PendingCall = &mut *pc;
    // SAFETY: `r` is live; `pc` is boxed, so the pointers nginx keeps (timer data, peer name, connection
    // data) stay valid until it is dropped, which closes the connection and deletes the timer first.
    unsafe {
        let log = (*(*r).connection).log;
        pc.timer.handler = Some(timer_fired);
        pc.timer.data = me as *mut c_void;
        pc.timer.log = log;
        let timeout = call.timeout_ms.clamp(1, limits::MAX_HTTP_CALL_TIMEOUT_MS);
        let addr = match http1::address(&call.upstream, &call.scheme) {
            Ok(a) if call.scheme.eq_ignore_ascii_case(b"http") => a,
            Ok(_) => return pc.fail_soon("https is not supported for this call"),
            Err(e) => return pc.fail_soon(&e),
        };
        let (storage, len) = sockaddr(addr);
        pc.addr = storage;
        pc.name = ngx_str_t {
            len: pc.upstream.len(),
            data: pc.upstream.as_ptr() as *mut u8,
        };
        pc.peer.sockaddr = &mut pc.addr as *mut _ as *mut ngx::ffi::sockaddr;
        pc.peer.socklen = len;
        pc.peer.name = &mut pc.name;
        pc.peer.get = Some(ngx_event_get_peer);
        pc.peer.log = log;
        pc.peer
            .set_log_error(ngx_connection_log_error_e_NGX_ERROR_INFO);
        let rc = ngx_event_connect_peer(&mut pc.peer);
        if rc != NGX_OK as isize && rc != NGX_AGAIN as isize {
            pc.peer.connection = ptr::null_mut();
            return pc.fail_soon("connect() failed");
        }
        let c = pc.peer.connection;
        (*c).data = me as *mut c_void;
        (*(*c).read).handler = Some(read_ready);
        (*(*c).write).handler = Some(write_ready);
        ngx_add_timer(&mut pc.timer, timeout as _);
        if rc == NGX_OK as isize {
            // Connected at once: send from the event loop (results are never delivered from here).
            ngx_post_event((*c).write, ptr::addr_of_mut!(ngx_posted_events));
        }
    }
    pc
}

impl PendingCall {
    /// Fail on the next turn of the event loop (results are always delivered from there). Only `start` calls
    /// it, after setting the timer up.
    fn fail_soon(mut self: Box<Self>, why: &str) -> Box<Self> {
        self.result = Some(Err(why.to_string()));
        // SAFETY: `start` set the timer up (handler, data, log) and has not armed it yet.
        unsafe { ngx_add_timer(&mut self.timer, 0) };
        self
    }

    /// The call is over: close everything, then hand it to the request (which drops it).
    ///
    /// # Safety
    /// `me` must be a live call; it must not be used after this returns.
    unsafe fn finish(me: *mut PendingCall, result: Result<CallResponse, String>) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            let call = &mut *me;
            if call.result.is_none() {
                call.result = Some(result);
            }
            call.close();
            (call.on_finished)(call.r, me);
        }
    }

    fn try_complete(&self, eof: bool) -> Option<Result<CallResponse, String>> {
        match http1::response(
            &self.input,
            eof,
            self.head,
            limits::MAX_HTTP_CALL_RESPONSE_BODY,
        ) {
            Ok(Some(resp)) => Some(Ok(resp)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

unsafe extern "C" fn timer_fired(ev: *mut ngx_event_t) {
    // SAFETY: nginx calls event handlers with the event they were set on.
    crate::unwind::catch("http call timer fired", (), || unsafe {
        timer_fired_event(ev)
    })
}

/// # Safety
/// `ev` must be an event of a pending call (its timer, or its connection's).
unsafe fn timer_fired_event(ev: *mut ngx_event_t) {
    // SAFETY: the timer's data is its boxed call, alive while the timer is set.
    unsafe {
        let me = (*ev).data as *mut PendingCall;
        let result = match (*me).result.take() {
            Some(r) => r,
            None => Err("timed out".to_string()),
        };
        PendingCall::finish(me, result);
    }
}

unsafe extern "C" fn write_ready(wev: *mut ngx_event_t) {
    // SAFETY: nginx calls event handlers with the event they were set on.
    crate::unwind::catch("http call write ready", (), || unsafe {
        write_ready_event(wev)
    })
}

/// # Safety
/// `wev` must be an event of a pending call (its timer, or its connection's).
unsafe fn write_ready_event(wev: *mut ngx_event_t) {
    // SAFETY: the connection's data is its boxed call while the connection is open.
    unsafe {
        let c = (*wev).data as *mut ngx_connection_t;
        let me = (*c).data as *mut PendingCall;
        let call = &mut *me;
        let Some(send) = (*c).send else {
            return PendingCall::finish(me, Err("no send function".into()));
        };
        while call.sent < call.out.len() {
            let rest = &call.out[call.sent..];
            let n = send(c, rest.as_ptr() as *mut u8, rest.len());
            if n > 0 {
                call.sent += n as usize;
            } else if n == NGX_AGAIN as isize {
                if ngx_handle_write_event(wev, 0) != NGX_OK as isize {
                    return PendingCall::finish(me, Err("cannot wait to send".into()));
                }
                return;
            } else {
                let why = std::io::Error::last_os_error();
                return PendingCall::finish(me, Err(format!("cannot send the request: {why}")));
            }
        }
        read_ready_event((*c).read);
    }
}

unsafe extern "C" fn read_ready(rev: *mut ngx_event_t) {
    // SAFETY: nginx calls event handlers with the event they were set on.
    crate::unwind::catch("http call read ready", (), || unsafe {
        read_ready_event(rev)
    })
}

/// # Safety
/// `rev` must be an event of a pending call (its timer, or its connection's).
unsafe fn read_ready_event(rev: *mut ngx_event_t) {
    // SAFETY: the connection's data is its boxed call while the connection is open.
    unsafe {
        let c = (*rev).data as *mut ngx_connection_t;
        let me = (*c).data as *mut PendingCall;
        let call = &mut *me;
        if call.sent < call.out.len() {
            return; // still sending; the write handler reads when done
        }
        let Some(recv) = (*c).recv else {
            return PendingCall::finish(me, Err("no recv function".into()));
        };
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = recv(c, buf.as_mut_ptr(), buf.len());
            if n > 0 {
                call.input.extend_from_slice(&buf[..n as usize]);
                if call.input.len() > limits::MAX_HTTP_CALL_RESPONSE_BODY + 64 * 1024 {
                    return PendingCall::finish(me, Err("response too large".into()));
                }
                if let Some(result) = call.try_complete(false) {
                    return PendingCall::finish(me, result);
                }
            } else if n == 0 {
                let result = call
                    .try_complete(true)
                    .unwrap_or_else(|| Err("connection closed".into()));
                return PendingCall::finish(me, result);
            } else if n == NGX_AGAIN as isize {
                if ngx_handle_read_event(rev, 0) != NGX_OK as isize {
                    return PendingCall::finish(me, Err("cannot wait to read".into()));
                }
                return;
            } else {
                let why = std::io::Error::last_os_error();
                return PendingCall::finish(me, Err(format!("cannot read the response: {why}")));
            }
        }
    }
}
