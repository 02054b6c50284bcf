//! Root-context work that no request drives, run by the proxy's own timer in each worker:
//! `proxy_on_tick` at each root context's tick period, and `proxy_on_queue_ready` for items enqueued (by any
//! worker) into shared queues a root context registered, noticed by polling every `QUEUE_POLL_MS`.
//!
//! The proxy calls `run_due` when its timer fires and re-arms the timer with `next_timeout`; the host calls the
//! proxy's waker when a plugin asks for work sooner (a new tick period, an enqueue).

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::limits::QUEUE_POLL_MS;
use crate::plugin::RootInner;

thread_local! {
    static ROOTS: RefCell<Vec<Weak<RootInner>>> = const { RefCell::new(Vec::new()) };
}

static WAKER: OnceLock<fn(Duration)> = OnceLock::new();

/// Register the proxy's waker: asked to run `run_due` within the given time. The first registration wins.
pub fn set_waker(f: fn(Duration)) {
    let _ = WAKER.set(f);
}

static PAUSED_WAKER: OnceLock<fn()> = OnceLock::new();

/// Register the proxy's waker for paused requests: called (from inside a guest call) when a plugin continued or
/// closed another context's stream; the proxy looks at its paused requests once the call returned
/// (`HttpContext::take_continued`). The first registration wins.
pub fn set_paused_waker(f: fn()) {
    let _ = PAUSED_WAKER.set(f);
}

pub(crate) fn wake_paused() {
    if let Some(f) = PAUSED_WAKER.get() {
        f();
    }
}

pub(crate) fn wake(after: Duration) {
    if let Some(f) = WAKER.get() {
        f(after);
    }
}

pub(crate) fn register(root: &Rc<RootInner>) {
    ROOTS.with(|r| {
        let mut roots = r.borrow_mut();
        roots.retain(|w| w.strong_count() > 0);
        roots.push(Rc::downgrade(root));
    });
}

fn live_roots() -> Vec<Rc<RootInner>> {
    ROOTS.with(|r| r.borrow().iter().filter_map(Weak::upgrade).collect())
}

/// How long until `run_due` has work; `None` when no root context ticks or watches a queue.
pub fn next_timeout() -> Option<Duration> {
    let now = Instant::now();
    let mut next: Option<Duration> = None;
    for root in live_roots() {
        let (tick, watches) = root.schedule(now);
        let mut due = tick.map(|t| t.saturating_duration_since(now));
        if watches {
            let poll = Duration::from_millis(QUEUE_POLL_MS);
            due = Some(due.map_or(poll, |d| d.min(poll)));
        }
        if let Some(d) = due {
            next = Some(next.map_or(d, |n| n.min(d)));
        }
    }
    next
}

/// Configure every root context of this thread in its plugin's current instance (after `start_worker`).
pub(crate) fn configure_all(backend: &mut dyn Backend) {
    for root in live_roots() {
        root.configure_now(backend);
    }
}

/// Run every tick that is due and deliver queue items that arrived, logging failures through `backend`.
pub fn run_due(backend: &mut dyn Backend) {
    let now = Instant::now();
    for root in live_roots() {
        root.run_scheduled(now, backend);
    }
}
