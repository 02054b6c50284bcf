//! Requests a plugin paused on the directive path: a request callback returned `Pause` with no HTTP call, local
//! response or close pending (as the SDK's `postpone_requests` does). The request waits in its access phase,
//! the worker does not, until another callback continues it (`proxy_set_effective_context` to its context, then
//! `proxy_continue_stream`, from a tick, a queue item or another request's callback) or closes it
//! (`proxy_close_stream`), or until `proxy_wasm_pause_timeout` passes, which applies the failure policy.
//!
//! The host core calls `wake` from inside the guest call that continued a request; it only posts an event, and
//! the event's handler (`resume_paused`, after the call returned) looks at every paused request of the worker.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use ngx::ffi::{
    ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_http_request_t, ngx_int_t, ngx_msec_t,
    ngx_post_event, ngx_posted_events, NGX_HTTP_CLOSE, NGX_HTTP_INTERNAL_SERVER_ERROR,
};
use proxy_wasm_host::{Continued, FailurePolicy, LogLevel};

use crate::backend::RequestBackend;
use crate::log;
use crate::request::{existing_request_ctx, loc_conf, AccessState};

thread_local! {
    /// The worker's paused requests (each removes itself when its pause ends or its request is freed).
    static PAUSED: std::cell::RefCell<Vec<*mut ngx_http_request_t>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The worker's posted event that resumes continued requests.
static EVENT: AtomicPtr<ngx_event_t> = AtomicPtr::new(ptr::null_mut());

/// What `ngx_event_ident` reads through `ev->data` in debug logs (it takes `data` for a connection).
static IDENT: [usize; 4] = [0, 0, 0, 0x5057_4150];

/// A paused request: which filter of its chain paused it, and the timer of its timeout. Owned by the request's
/// state (`RequestCtx::pause`); dropping it cancels the timer and forgets the request.
pub(crate) struct Pause {
    r: *mut ngx_http_request_t,
    pub(crate) filter: usize,
    timeout_ms: u64,
    timer: ngx_event_t,
    /// Set when the response header phase paused: the response held (`held_response.rs`).
    pub(crate) response: Option<crate::held_response::HeldResponse>,
}

impl Pause {
    /// Register `r` as paused by filter `filter` for at most `timeout_ms` (with its response held, when the
    /// response header phase paused).
    pub(crate) fn start(
        r: *mut ngx_http_request_t,
        filter: usize,
        timeout_ms: u64,
        response: Option<crate::held_response::HeldResponse>,
    ) -> Box<Pause> {
        let mut pause = Box::new(Pause {
            r,
            filter,
            timeout_ms,
            response,
            // SAFETY: an all-zero event is nginx's own initial state for events; fields are set below.
            timer: unsafe { std::mem::zeroed() },
        });
        let data = ptr::addr_of_mut!(*pause) as *mut std::ffi::c_void;
        pause.timer.data = data;
        pause.timer.handler = Some(timed_out);
        // SAFETY: `r` is live; its connection's log outlives the pause (the pause dies with the request).
        pause.timer.log = unsafe { (*(*r).connection).log };
        // SAFETY: the event lives in the box, which the request state owns until the timer is deleted in drop.
        unsafe {
            ngx_add_timer(
                &mut pause.timer,
                timeout_ms.clamp(1, u32::MAX as u64) as ngx_msec_t,
            )
        };
        PAUSED.with(|p| p.borrow_mut().push(r));
        pause
    }
}

impl Drop for Pause {
    fn drop(&mut self) {
        if self.timer.timer_set() != 0 {
            // SAFETY: the timer was added in `start` and is still in nginx's timer tree.
            unsafe { ngx_del_timer(&mut self.timer) };
        }
        let r = self.r;
        PAUSED.with(|p| p.borrow_mut().retain(|x| *x != r));
    }
}

/// Create the worker's resume event and register the host core's waker.
pub(crate) fn init_worker() {
    // SAFETY: an all-zero event is nginx's own initial state for events; fields are set below.
    let mut ev: Box<ngx_event_t> = Box::new(unsafe { std::mem::zeroed() });
    ev.data = ptr::addr_of!(IDENT).cast_mut().cast();
    ev.handler = Some(resume_paused);
    ev.log = ngx::log::ngx_cycle_log().as_ptr();
    EVENT.store(Box::into_raw(ev), Ordering::Relaxed);
    proxy_wasm_host::set_paused_waker(wake);
}

/// The host core's waker: a plugin continued or closed another context's stream. Runs inside that guest call,
/// so it only posts the event.
fn wake() {
    let ev = EVENT.load(Ordering::Relaxed);
    if ev.is_null() {
        return;
    }
    // SAFETY: the event is the worker's own, used on this thread only; the posted queue is nginx's.
    unsafe { ngx_post_event(ev, ptr::addr_of_mut!(ngx_posted_events)) };
}

unsafe extern "C" fn resume_paused(_ev: *mut ngx_event_t) {
    crate::unwind::catch("the paused-request handler", (), || {
        let paused: Vec<*mut ngx_http_request_t> = PAUSED.with(|p| p.borrow().clone());
        for r in paused {
            // A request resumed by an earlier one of this loop (it ran its phases) is no longer listed.
            if PAUSED.with(|p| p.borrow().contains(&r)) {
                match continued(r) {
                    Some(Then::Access(then)) => resume(r, then),
                    Some(Then::Response(how)) => crate::held_response::resume(r, how),
                    None => {}
                }
            }
        }
    });
}

/// Where a paused request goes on.
enum Then {
    /// Its access phase, at this state.
    Access(AccessState),
    /// Its held response ends so.
    Response(crate::held_response::End),
}

/// Whether the plugin that paused `r` continued or closed it: where it goes on then.
fn continued(r: *mut ngx_http_request_t) -> Option<Then> {
    let lc = loc_conf(r)?;
    let filters = lc.filters.as_ref()?;
    // SAFETY: `r` is a live paused request (listed in PAUSED); the reference does not outlive this call.
    let rctx = unsafe { existing_request_ctx(r) }?;
    let filter = filters.get(rctx.pause.as_ref()?.filter)?;
    // SAFETY: `r` is live.
    let mut backend = unsafe { RequestBackend::new(r) };
    let http = rctx.context(&filter.root, &mut backend).ok()?;
    let what = http.take_continued()?;
    if rctx.pause.as_ref()?.response.is_some() {
        return Some(Then::Response(match what {
            Continued::Continue => crate::held_response::End::Continue,
            Continued::Close => crate::held_response::End::Close,
        }));
    }
    rctx.pause = None;
    match what {
        Continued::Continue => match std::mem::take(&mut rctx.access) {
            AccessState::Waiting(then) => Some(Then::Access(*then)),
            other => Some(Then::Access(other)),
        },
        Continued::Close => {
            log::plugin_line(
                backend.log_ptr(),
                LogLevel::Info,
                filter.root.plugin_name(),
                b"the plugin closed the paused stream",
            );
            Some(Then::Access(AccessState::Done(NGX_HTTP_CLOSE as ngx_int_t)))
        }
    }
}

/// Go on with `r`'s access phase at `then`.
fn resume(r: *mut ngx_http_request_t, then: AccessState) {
    // SAFETY: `r` is a live paused request; the reference does not outlive this statement.
    if let Some(rctx) = unsafe { existing_request_ctx(r) } {
        rctx.access = then;
    }
    crate::access::run_phases(r);
}

/// The pause timed out: the failure policy decides.
unsafe extern "C" fn timed_out(ev: *mut ngx_event_t) {
    crate::unwind::catch("the pause timer", (), || {
        // SAFETY: the timer's data is its boxed pause, alive while the timer is set (nginx just unset it).
        let (r, filter, timeout_ms, response) = unsafe {
            let p = (*ev).data as *mut Pause;
            (
                (*p).r,
                (*p).filter,
                (*p).timeout_ms,
                (*p).response.is_some(),
            )
        };
        if response {
            crate::held_response::resume(
                r,
                crate::held_response::End::Failed(format!(
                    "the response it paused was not continued within {timeout_ms} ms (proxy_wasm_pause_timeout)"
                )),
            );
            return;
        }
        let Some(lc) = loc_conf(r) else { return };
        // SAFETY: `r` is live (its pause, which owns this timer, dies with it).
        let Some(rctx) = (unsafe { existing_request_ctx(r) }) else {
            return;
        };
        let policy = lc.policy();
        let closed = policy == FailurePolicy::Closed;
        let name = lc
            .filters
            .as_ref()
            .and_then(|f| f.get(filter))
            .map_or("?", |f| f.root.plugin_name());
        // SAFETY: `r` is live.
        let backend = unsafe { RequestBackend::new(r) };
        log::plugin_line(
            backend.log_ptr(),
            LogLevel::Error,
            name,
            format!(
                "the request it paused was not continued within {timeout_ms} ms (proxy_wasm_pause_timeout); {}",
                policy.consequence()
            )
            .as_bytes(),
        );
        rctx.pause = None;
        if let Some(filter) = lc.filters.as_ref().and_then(|f| f.get(filter)) {
            // Timed out is failed: the plugin is finished for this request, whatever the policy.
            let mut backend = unsafe { RequestBackend::new(r) };
            if let Ok(http) = rctx.context(&filter.root, &mut backend) {
                http.fail();
            }
        }
        let then = if closed {
            rctx.host_error = true;
            AccessState::Done(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t)
        } else {
            match std::mem::take(&mut rctx.access) {
                AccessState::Waiting(then) => *then,
                other => other,
            }
        };
        resume(r, then);
    });
}
