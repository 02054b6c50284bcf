//! The worker's one timer for root-context work no request drives (`proxy_on_tick`, `proxy_on_queue_ready`):
//! armed for the host core's `next_timeout`, re-armed sooner when a plugin asks (`wake`). It is cancelable, so
//! it never keeps an exiting worker alive.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use ngx::ffi::{
    ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_exiting, ngx_msec_t, ngx_quit, ngx_terminate,
};

use crate::backend::cycle_backend;

static EVENT: AtomicPtr<ngx_event_t> = AtomicPtr::new(ptr::null_mut());

/// What `ngx_event_ident` reads through `ev->data` in debug logs: it takes `data` for a connection and prints
/// its `fd`, the fourth word.
static IDENT: [usize; 4] = [0, 0, 0, 0x5057_4153];

/// Create the worker's timer and arm it for the work already scheduled (directive plugins configured in the
/// master may have asked for ticks or registered queues).
pub(crate) fn init_worker() {
    // SAFETY: an all-zero event is nginx's own initial state for events; fields are set below.
    let mut ev: Box<ngx_event_t> = Box::new(unsafe { std::mem::zeroed() });
    ev.data = ptr::addr_of!(IDENT).cast_mut().cast();
    ev.handler = Some(fire);
    ev.log = ngx::log::ngx_cycle_log().as_ptr();
    ev.set_cancelable(1);
    EVENT.store(Box::into_raw(ev), Ordering::Relaxed);
    proxy_wasm_host::set_waker(wake);
    if let Some(d) = proxy_wasm_host::next_timeout() {
        arm(d, false);
    }
}

fn stopping() -> bool {
    // SAFETY: plain reads of nginx's process flags, in the worker's thread.
    unsafe { ngx_exiting != 0 || ngx_quit != 0 || ngx_terminate != 0 }
}

/// Arm the timer to fire within `after` (sooner than it is armed for, or replacing it when `replace`).
fn arm(after: Duration, replace: bool) {
    let ev = EVENT.load(Ordering::Relaxed);
    if ev.is_null() || stopping() {
        return;
    }
    // Rounded up, and at least 1 ms: nginx runs a timer added with 0 ms again in the same pass of its timer
    // loop, which would never return to the event loop.
    let ms = after.as_micros().div_ceil(1000).clamp(1, u32::MAX as u128) as ngx_msec_t;
    // SAFETY: `ev` is the worker's event, used only on this thread; nginx's timer tree is initialised in a
    // worker (the pointer is only set in init_process).
    unsafe {
        if (*ev).timer_set() != 0 {
            let due = ngx::ffi::ngx_current_msec.wrapping_add(ms);
            if !replace && (*ev).timer.key <= due {
                return;
            }
            ngx_del_timer(ev);
        }
        ngx_add_timer(ev, ms);
    }
}

/// The host core's waker: a plugin asked for work within `after`.
fn wake(after: Duration) {
    arm(after, false);
}

unsafe extern "C" fn fire(_ev: *mut ngx_event_t) {
    if stopping() {
        return;
    }
    crate::unwind::catch("the timer handler", (), || {
        let mut backend = cycle_backend();
        proxy_wasm_host::run_due(&mut *backend);
        crate::root_call::start_root_calls();
    });
    if let Some(d) = crate::unwind::catch("the timer handler", None, proxy_wasm_host::next_timeout)
    {
        arm(d, true);
    }
}
