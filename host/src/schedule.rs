//! Root-context work that no request drives, run by the proxy's own timer in each worker:
//! `proxy_on_tick` at each root context's tick period, and `proxy_on_queue_ready` for items enqueued (by any
//! worker) into shared queues a root context registered, noticed by polling every `QUEUE_POLL_MS`.
//!
//! The proxy calls `run_due` when its timer fires and re-arms the timer with `next_timeout`; the host calls the
//! proxy's waker when a plugin asks for work sooner (a new tick period, an enqueue). The root contexts of this
//! thread are registered here (weakly) when they are configured; each one's tick period, next tick and queue
//! watches are read here, and its `proxy_on_tick` / `proxy_on_queue_ready` calls made here.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::error::Error;
use crate::limits::{MIN_TICK_GAP_MS, QUEUE_POLL_MS};
use crate::root::RootInner;
use crate::types::LogLevel;
use crate::vm::QueueWatch;

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

impl RootInner {
    /// When the next tick is due, and whether the context watches shared queues.
    fn schedule(&self, now: Instant) -> (Option<Instant>, bool) {
        let bound = self.bound.borrow();
        let Ok(mut vm) = bound.vm.try_borrow_mut() else {
            return (self.tick.get().1, false);
        };
        let state = vm.state();
        let period = state.tick_periods.get(&bound.id).copied().unwrap_or(0);
        let watches = state.queue_watches.iter().any(|w| w.root == bound.id);
        let (seen, next) = self.tick.get();
        let next = if period != seen {
            let next = (period > 0).then(|| now + Duration::from_millis(period as u64));
            self.tick.set((period, next));
            next
        } else {
            next
        };
        (next, watches)
    }

    /// Run the tick if it is due, then deliver `proxy_on_queue_ready` for queue items that arrived.
    fn run_scheduled(&self, now: Instant, backend: &mut dyn Backend) {
        let (next, watches) = self.schedule(now);
        let tick_due = next.is_some_and(|t| t <= now);
        if !tick_due && !watches {
            return;
        }
        let log = |backend: &mut dyn Backend, e: Error| {
            // A held-back plugin was reported when it trapped; do not repeat it at every poll.
            if !matches!(e, Error::Unusable(_)) {
                backend.log(LogLevel::Error, &self.plugin.name, e.to_string().as_bytes());
            }
        };
        let (vm_rc, id) = match self.current(backend) {
            Ok(bound) => bound,
            Err(e) => return log(backend, e),
        };
        let mut vm = vm_rc.borrow_mut();
        if tick_due {
            let (period, due) = self.tick.get();
            let result = match vm.cb.on_tick.clone() {
                Some(f) => {
                    crate::root_calls::allow(&mut vm, id);
                    let r = vm.call(backend, "proxy_on_tick", &f, id as i32).map(|_| ());
                    if r.is_err() {
                        vm.state().dispatched.clear();
                    }
                    crate::root_calls::collect(&vm_rc, &mut vm, id);
                    r
                }
                None => Ok(()),
            };
            // The next tick is one period after this one was due, but never sooner than a little after this one
            // returned: a tick that ran past its period skips the ticks it overran (they never queue up), and no
            // period, however short, keeps the worker from its other events.
            let after = Instant::now() + Duration::from_millis(MIN_TICK_GAP_MS);
            let next = due.unwrap_or(now) + Duration::from_millis(period as u64);
            self.tick.set((period, Some(next.max(after))));
            if let Err(e) = result {
                return log(backend, e);
            }
        }
        let watches: Vec<QueueWatch> = vm
            .state()
            .queue_watches
            .iter()
            .filter(|w| w.root == id)
            .copied()
            .collect();
        for w in watches {
            let Ok((waiting, enqueued)) = crate::shared::queue_state(w.queue) else {
                continue;
            };
            let arrived = enqueued.wrapping_sub(w.seen);
            if arrived == 0 {
                continue;
            }
            if let Some(x) = vm
                .state()
                .queue_watches
                .iter_mut()
                .find(|x| x.queue == w.queue && x.root == id)
            {
                x.seen = enqueued;
            }
            let Some(f) = vm.cb.on_queue_ready.clone() else {
                continue;
            };
            // One call per item that arrived and may still wait (other workers dequeue too).
            for _ in 0..arrived.min(waiting) {
                crate::root_calls::allow(&mut vm, id);
                let r = vm.call(
                    backend,
                    "proxy_on_queue_ready",
                    &f,
                    (id as i32, w.queue as i32),
                );
                if r.is_err() {
                    vm.state().dispatched.clear();
                }
                crate::root_calls::collect(&vm_rc, &mut vm, id);
                if let Err(e) = r {
                    return log(backend, e);
                }
                if crate::shared::queue_state(w.queue).map_or(true, |(n, _)| n == 0) {
                    break;
                }
            }
        }
    }
}
