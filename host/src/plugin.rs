//! The public face of the host core: a loaded `Plugin`, its configured `RootContext`s (one per configuration,
//! the "plugin ctx" of the Lua API) and the `HttpContext` each request gets from a root context.
//!
//! Recovery: an instance that traps is never entered again. The next context that needs the plugin gets a
//! fresh instance, in which every root context re-runs its configuration on first use; HTTP contexts of the
//! trapped instance fail (per the proxy's failure policy). A plugin that keeps trapping is held back for a
//! while (`limits::CRASH_LOOP_*`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::cache::Compiled;
use crate::error::Error;
use crate::limits::{CRASH_LOOP_BACKOFF_MS, CRASH_LOOP_LIMIT, CRASH_LOOP_WINDOW_MS};
use crate::types::{AbiVersion, Action, BufferType, LogLevel, MapType};
use crate::vm::{
    self, CallResponse, ContextKind, HeadersFn, HttpCall, LocalResponse, PluginOptions, QueueWatch,
    Vm,
};

/// Where log lines go when a context ends outside any request (dropped by Lua's GC, for example).
pub type DefaultBackend = fn() -> Box<dyn Backend>;

static DEFAULT_BACKEND: OnceLock<DefaultBackend> = OnceLock::new();

/// Register the proxy's process-wide backend (the nginx cycle log). The first registration wins.
pub fn set_default_backend(f: DefaultBackend) {
    let _ = DEFAULT_BACKEND.set(f);
}

fn default_backend() -> Box<dyn Backend> {
    match DEFAULT_BACKEND.get() {
        Some(f) => f(),
        None => Box::new(crate::backend_stderr::StderrBackend),
    }
}

type SharedVm = Rc<RefCell<Vm>>;

/// What all handles of one plugin share: the compiled module and its current instance.
struct Shared {
    name: Rc<str>,
    compiled: Arc<Compiled>,
    vm_configuration: Rc<[u8]>,
    options: PluginOptions,
    current: RefCell<SharedVm>,
    /// Bumped each time a fresh instance replaces a trapped one.
    generation: Cell<u64>,
    crashes: RefCell<VecDeque<Instant>>,
    /// Instances replaced after a trap since the plugin was loaded.
    traps: Cell<u64>,
    held_until: Cell<Option<Instant>>,
    /// The process the current instance was started in (a forked worker starts its own: `start_worker`).
    started_in: Cell<u32>,
}

thread_local! {
    /// Every loaded plugin of this thread, for `start_worker`.
    static PLUGINS: RefCell<Vec<std::rc::Weak<Shared>>> = const { RefCell::new(Vec::new()) };
}

/// Give this process its own instance of every plugin loaded before it was forked, configured again: a
/// worker must not continue the instance the master started (every worker would draw the same "random"
/// values, nonces and tokens from the state the master seeded). The master's instances validated the
/// configuration (`nginx -t`); each worker starts its plugins (start function, `proxy_on_vm_start`,
/// `proxy_on_configure`) itself, and failures are logged. Call once in each worker, before any request.
pub fn start_worker(backend: &mut dyn Backend) {
    let me = std::process::id();
    let plugins: Vec<Rc<Shared>> = PLUGINS.with(|p| {
        p.borrow()
            .iter()
            .filter_map(std::rc::Weak::upgrade)
            .collect()
    });
    for plugin in plugins {
        if plugin.started_in.get() == me {
            continue;
        }
        match plugin.instantiate(backend) {
            Ok(vm) => {
                *plugin.current.borrow_mut() = Rc::new(RefCell::new(vm));
                plugin.generation.set(plugin.generation.get() + 1);
                plugin.started_in.set(me);
            }
            Err(e) => {
                let msg = format!("cannot start in this worker: {e}");
                backend.log(LogLevel::Error, &plugin.name, msg.as_bytes());
            }
        }
    }
    crate::schedule::configure_all(backend);
}

impl Shared {
    fn instantiate(&self, backend: &mut dyn Backend) -> Result<Vm, Error> {
        Vm::instantiate(
            self.name.clone(),
            &self.compiled.module,
            self.compiled.abi,
            self.vm_configuration.clone(),
            self.options,
            backend,
        )
    }

    /// The instance to use now: the current one, or a fresh one when it trapped or was retired.
    fn instance(&self, backend: &mut dyn Backend) -> Result<(SharedVm, u64), Error> {
        let current = self.current.borrow().clone();
        if !current.borrow().is_spent() {
            return Ok((current, self.generation.get()));
        }
        if !current.borrow().is_failed() {
            // Retired for its memory: replace it without counting a crash.
            let vm = Rc::new(RefCell::new(self.instantiate(backend)?));
            *self.current.borrow_mut() = vm.clone();
            self.generation.set(self.generation.get() + 1);
            return Ok((vm, self.generation.get()));
        }
        let now = Instant::now();
        if let Some(until) = self.held_until.get() {
            if now < until {
                return Err(Error::Unusable(format!(
                    "held back after {CRASH_LOOP_LIMIT} traps within {CRASH_LOOP_WINDOW_MS} ms; retrying in {} ms",
                    (until - now).as_millis()
                )));
            }
            self.held_until.set(None);
        }
        {
            let mut crashes = self.crashes.borrow_mut();
            crashes.push_back(now);
            let window = Duration::from_millis(CRASH_LOOP_WINDOW_MS);
            while crashes
                .front()
                .is_some_and(|t| now.duration_since(*t) > window)
            {
                crashes.pop_front();
            }
            if crashes.len() > CRASH_LOOP_LIMIT {
                crashes.clear();
                self.held_until
                    .set(Some(now + Duration::from_millis(CRASH_LOOP_BACKOFF_MS)));
                let msg = format!(
                    "more than {CRASH_LOOP_LIMIT} traps within {CRASH_LOOP_WINDOW_MS} ms: not restarted for {CRASH_LOOP_BACKOFF_MS} ms"
                );
                backend.log(LogLevel::Error, &self.name, msg.as_bytes());
                return Err(Error::Unusable(msg));
            }
        }
        let vm = Rc::new(RefCell::new(self.instantiate(backend)?));
        *self.current.borrow_mut() = vm.clone();
        self.generation.set(self.generation.get() + 1);
        self.traps.set(self.traps.get() + 1);
        let msg = format!(
            "a fresh instance replaces the one that trapped ({} trap(s) in the last {CRASH_LOOP_WINDOW_MS} ms, {} since the plugin was loaded)",
            self.crashes.borrow().len(),
            self.traps.get()
        );
        backend.log(LogLevel::Warn, &self.name, msg.as_bytes());
        Ok((vm, self.generation.get()))
    }
}

/// A compiled and instantiated plugin.
pub struct Plugin {
    shared: Rc<Shared>,
}

impl Plugin {
    /// Compile `wasm` (binary, or text for tests), instantiate it and run its start function, with the
    /// default limits.
    pub fn load(
        name: &str,
        wasm: &[u8],
        vm_configuration: &[u8],
        backend: &mut dyn Backend,
    ) -> Result<Plugin, Error> {
        Plugin::load_with(
            name,
            wasm,
            vm_configuration,
            PluginOptions::default(),
            backend,
        )
    }

    /// As `load`, with explicit limits.
    pub fn load_with(
        name: &str,
        wasm: &[u8],
        vm_configuration: &[u8],
        options: PluginOptions,
        backend: &mut dyn Backend,
    ) -> Result<Plugin, Error> {
        let compiled = crate::cache::compile(wasm)?;
        let name: Rc<str> = Rc::from(name);
        let vm_configuration: Rc<[u8]> = Rc::from(vm_configuration);
        let vm = Vm::instantiate(
            name.clone(),
            &compiled.module,
            compiled.abi,
            vm_configuration.clone(),
            options,
            backend,
        )?;
        Ok(Plugin {
            shared: Rc::new(Shared {
                name,
                compiled,
                vm_configuration,
                options,
                current: RefCell::new(Rc::new(RefCell::new(vm))),
                generation: Cell::new(0),
                crashes: RefCell::new(VecDeque::new()),
                traps: Cell::new(0),
                held_until: Cell::new(None),
                started_in: Cell::new(std::process::id()),
            }),
        })
        .inspect(|plugin| {
            PLUGINS.with(|p| {
                let mut all = p.borrow_mut();
                all.retain(|w| w.strong_count() > 0);
                all.push(Rc::downgrade(&plugin.shared));
            })
        })
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn abi_version(&self) -> AbiVersion {
        self.shared.compiled.abi
    }

    /// Create a root context and configure it with `configuration`
    /// (`proxy_on_context_create`, `proxy_on_vm_start`, `proxy_on_configure`).
    pub fn configure(
        &self,
        configuration: &[u8],
        backend: &mut dyn Backend,
    ) -> Result<RootContext, Error> {
        let (vm, generation) = self.shared.instance(backend)?;
        let configuration: Rc<[u8]> = Rc::from(configuration);
        let id = configure_root(&mut vm.borrow_mut(), &configuration, backend)?;
        let inner = Rc::new(RootInner {
            plugin: self.shared.clone(),
            configuration,
            bound: RefCell::new(Bound { vm, id, generation }),
            tick: Cell::new((0, None)),
        });
        crate::schedule::register(&inner);
        Ok(RootContext { inner })
    }
}

/// Create a root context in `vm` and configure it; on failure the context is forgotten.
fn configure_root(
    vm: &mut Vm,
    configuration: &[u8],
    backend: &mut dyn Backend,
) -> Result<u32, Error> {
    let id = vm.new_context(ContextKind::Root);
    vm.set_setup(true);
    let result = (|| {
        vm.state().effective_context = id;
        let create = vm.cb.on_context_create.clone();
        vm.call(backend, "proxy_on_context_create", &create, (id as i32, 0))?;
        if let Some(start) = vm.cb.on_vm_start.clone() {
            let size = vm.state().vm_configuration.len() as i32;
            if vm.call(backend, "proxy_on_vm_start", &start, (id as i32, size))? == 0 {
                return Err(Error::Refused {
                    callback: "proxy_on_vm_start",
                });
            }
        }
        if let Some(configure) = vm.cb.on_configure.clone() {
            vm.state().plugin_configuration = Some(Rc::from(configuration));
            let r = vm.call(
                backend,
                "proxy_on_configure",
                &configure,
                (id as i32, configuration.len() as i32),
            );
            vm.state().plugin_configuration = None;
            if r? == 0 {
                return Err(Error::Refused {
                    callback: "proxy_on_configure",
                });
            }
        }
        Ok(id)
    })();
    vm.set_setup(false);
    if result.is_err() {
        vm.forget_context(id);
    }
    result
}

/// Where a root context lives now: its instance, its id there, and that instance's generation.
struct Bound {
    vm: SharedVm,
    id: u32,
    generation: u64,
}

pub(crate) struct RootInner {
    plugin: Rc<Shared>,
    configuration: Rc<[u8]>,
    bound: RefCell<Bound>,
    /// The tick period last seen (ms, 0 = none) and when the next tick is due.
    tick: Cell<(u32, Option<Instant>)>,
}

impl RootInner {
    /// The instance and id to use for new work, re-configuring in a fresh instance after a trap.
    fn current(&self, backend: &mut dyn Backend) -> Result<(SharedVm, u32), Error> {
        let (vm, generation) = self.plugin.instance(backend)?;
        let mut bound = self.bound.borrow_mut();
        if bound.generation != generation {
            let id = configure_root(&mut vm.borrow_mut(), &self.configuration, backend)?;
            *bound = Bound { vm, id, generation };
        }
        Ok((bound.vm.clone(), bound.id))
    }

    /// Configure the root context in its plugin's current instance now if it is not configured there yet (a
    /// worker's fresh instance), logging a failure.
    pub(crate) fn configure_now(&self, backend: &mut dyn Backend) {
        if let Err(e) = self.current(backend) {
            let msg = format!("cannot configure in this worker: {e}");
            backend.log(LogLevel::Error, &self.plugin.name, msg.as_bytes());
        }
    }

    /// When the next tick is due, and whether the context watches shared queues.
    pub(crate) fn schedule(&self, now: Instant) -> (Option<Instant>, bool) {
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
    pub(crate) fn run_scheduled(&self, now: Instant, backend: &mut dyn Backend) {
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
                    vm.state().effective_context = id;
                    vm.call(backend, "proxy_on_tick", &f, id as i32).map(|_| ())
                }
                None => Ok(()),
            };
            // The next tick is one period after this one was due, but never sooner than a little after this one
            // returned: a tick that ran past its period skips the ticks it overran (they never queue up), and no
            // period, however short, keeps the worker from its other events.
            let after = Instant::now() + Duration::from_millis(crate::limits::MIN_TICK_GAP_MS);
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
                vm.state().effective_context = id;
                let r = vm.call(
                    backend,
                    "proxy_on_queue_ready",
                    &f,
                    (id as i32, w.queue as i32),
                );
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

impl Drop for RootInner {
    fn drop(&mut self) {
        let bound = self.bound.borrow();
        let mut backend = default_backend();
        let mut vm = bound.vm.borrow_mut();
        if let Err(e) = end_context(&mut vm, &mut *backend, bound.id, false) {
            let plugin = vm.state().plugin.clone();
            backend.log(LogLevel::Error, &plugin, e.to_string().as_bytes());
        }
    }
}

/// Run the end of a context: `proxy_on_done`, then (HTTP contexts) `proxy_on_log`, then `proxy_on_delete`,
/// stopping at the first that fails (its error is returned for the proxy to report once). The context is
/// forgotten regardless. Nothing runs in an instance that trapped.
fn end_context(vm: &mut Vm, backend: &mut dyn Backend, id: u32, log: bool) -> Result<(), Error> {
    if vm.is_failed() {
        vm.forget_context(id);
        return Ok(());
    }
    vm.state().effective_context = id;
    let result = (|| {
        if let Some(done) = vm.cb.on_done.clone() {
            vm.call(backend, "proxy_on_done", &done, id as i32)?;
        }
        if log {
            if let Some(on_log) = vm.cb.on_log.clone() {
                vm.call(backend, "proxy_on_log", &on_log, id as i32)?;
            }
        }
        if let Some(delete) = vm.cb.on_delete.clone() {
            vm.call(backend, "proxy_on_delete", &delete, id as i32)?;
        }
        Ok(())
    })();
    if vm.state().local_response.take().is_some() {
        let plugin = vm.state().plugin.clone();
        backend.log(
            LogLevel::Error,
            &plugin,
            b"a local response at the end of a context (proxy_on_done/on_log/on_delete) is refused: the response is gone",
        );
    }
    vm.forget_context(id);
    if log && vm.retire_if_grown() {
        let plugin = vm.state().plugin.clone();
        let msg = format!(
            "instance recycled: its memory grew to {} KiB (past {}% of its limit); the next request gets a fresh instance",
            vm.memory_bytes() / 1024,
            crate::limits::MEMORY_RECYCLE_PERCENT
        );
        backend.log(LogLevel::Info, &plugin, msg.as_bytes());
    }
    result
}

/// A configured root context. Cloning shares it; the context ends when the last clone and the last HTTP
/// context made from it are gone.
#[derive(Clone)]
pub struct RootContext {
    inner: Rc<RootInner>,
}

impl RootContext {
    /// The context id in the instance the root context currently lives in.
    pub fn id(&self) -> u32 {
        self.inner.bound.borrow().id
    }

    /// The name of the plugin this context runs.
    pub fn plugin_name(&self) -> &str {
        &self.inner.plugin.name
    }

    /// Whether the plugin exports `proxy_on_request_body` (a proxy reads the body only for plugins that do).
    pub fn has_request_body_callback(&self) -> bool {
        self.exports(|cb| cb.on_request_body.is_some())
    }

    /// Whether the plugin exports `proxy_on_response_body` (a proxy can skip body work when it does not).
    pub fn has_response_body_callback(&self) -> bool {
        self.exports(|cb| cb.on_response_body.is_some())
    }

    fn exports(&self, f: impl FnOnce(&vm::Callbacks) -> bool) -> bool {
        f(&self.inner.bound.borrow().vm.borrow().cb)
    }

    /// A new HTTP context for one request (`proxy_on_context_create(id, root_id)`).
    pub fn new_http_context(&self, backend: &mut dyn Backend) -> Result<HttpContext, Error> {
        let (vm_rc, root_id) = self.inner.current(backend)?;
        let mut vm = vm_rc.borrow_mut();
        let id = vm.new_context(ContextKind::Http { root: root_id });
        vm.state().effective_context = id;
        let create = vm.cb.on_context_create.clone();
        if let Err(e) = vm.call(
            backend,
            "proxy_on_context_create",
            &create,
            (id as i32, root_id as i32),
        ) {
            vm.forget_context(id);
            return Err(e);
        }
        drop(vm);
        Ok(HttpContext {
            root: self.inner.clone(),
            vm: vm_rc,
            id,
            ended: false,
            paused_body: None,
            failed: false,
        })
    }
}

/// What the host must do after a stream callback.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `Pause` asks the host to stop the stream until the plugin continues it.
    pub action: Option<Action>,
    /// Set when the plugin called `proxy_send_local_response`.
    pub local_response: Option<LocalResponse>,
    /// The body chunk, when the plugin changed it with `proxy_set_buffer_bytes`.
    pub body: Option<Vec<u8>>,
    /// HTTP calls the plugin dispatched during the callback, for the proxy to perform; each response goes back
    /// through `HttpContext::on_http_call_response` (a failed call with an empty `CallResponse`).
    pub calls: Vec<HttpCall>,
    /// The plugin called `proxy_continue_stream(HttpRequest)` / `proxy_continue_request` during the callback.
    pub resumed: bool,
    /// The plugin called `proxy_close_stream`: the proxy closes the connection without a (further) response.
    pub close: bool,
    /// Nothing ran: the plugin failed earlier on this request and is finished for it. The proxy goes on as if
    /// the plugin were absent (the failure was reported once, when it happened).
    pub finished: bool,
}

/// What another callback did to a paused request (`HttpContext::take_continued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continued {
    /// `proxy_continue_stream`: the request goes on.
    Continue,
    /// `proxy_close_stream`: the request is dropped.
    Close,
}

/// The Proxy-Wasm context of one request for one root context.
pub struct HttpContext {
    root: Rc<RootInner>,
    /// The instance this context was created in (a trap there ends it with that instance).
    vm: SharedVm,
    id: u32,
    ended: bool,
    /// The response body held while the plugin pauses it (`on_response_body`).
    paused_body: Option<Vec<u8>>,
    /// Set when a callback of this context failed (or the proxy refused what it asked for): the plugin is
    /// finished for this request and none of its later callbacks run.
    failed: bool,
}

impl HttpContext {
    /// The context of a request whose plugin could not even start on it (`new_http_context` failed, and the
    /// proxy reported that error): every callback is skipped as for a failed context, nothing ends in the
    /// instance.
    pub fn failed(root: &RootContext) -> HttpContext {
        HttpContext {
            root: root.inner.clone(),
            vm: root.inner.bound.borrow().vm.clone(),
            id: 0,
            ended: true,
            paused_body: None,
            failed: true,
        }
    }

    /// Whether the outcome of a request callback holds the request until the plugin continues it from another
    /// callback: it returned `Pause` with no HTTP call, local response or close pending, and did not continue
    /// it already.
    pub fn pauses(outcome: &Outcome) -> bool {
        outcome.action == Some(Action::Pause)
            && outcome.calls.is_empty()
            && outcome.local_response.is_none()
            && !outcome.close
            && !outcome.resumed
            && !outcome.finished
    }

    /// Whether another callback continued or closed this context's paused request since the last look (a
    /// close wins). A context whose instance trapped meanwhile is closed.
    pub fn take_continued(&mut self) -> Option<Continued> {
        let Ok(mut vm) = self.vm.try_borrow_mut() else {
            return None;
        };
        if vm.is_failed() {
            return Some(Continued::Close);
        }
        let id = self.id;
        let state = vm.state();
        let closed = take_id(&mut state.closed, id);
        let continued = take_id(&mut state.continued, id);
        if closed {
            Some(Continued::Close)
        } else if continued {
            Some(Continued::Continue)
        } else {
            None
        }
    }

    /// Whether the plugin failed on this request (it is finished for it: later callbacks are skipped).
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Finish the plugin for this request after the proxy refused what a callback asked for (reported by the
    /// proxy): its later callbacks are skipped, as after a trap.
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// The one gate of every stream callback: a failed context runs nothing (`Outcome::finished`); a callback
    /// that fails finishes the context. The proxy reports the error it gets, once, and applies its policy.
    fn gate(
        &mut self,
        f: impl FnOnce(&mut HttpContext) -> Result<Outcome, Error>,
    ) -> Result<Outcome, Error> {
        if self.failed {
            return Ok(Outcome {
                finished: true,
                ..Outcome::default()
            });
        }
        let r = f(self);
        if r.is_err() {
            self.failed = true;
            self.paused_body = None;
        }
        r
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// The name of the plugin this context runs.
    pub fn plugin_name(&self) -> &str {
        &self.root.plugin.name
    }

    /// Whether this context was made from `root`.
    pub fn belongs_to(&self, root: &RootContext) -> bool {
        Rc::ptr_eq(&self.root, &root.inner)
    }

    fn headers(
        &mut self,
        backend: &mut dyn Backend,
        map: MapType,
        request: bool,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        let count = match backend.http() {
            Some(http) => http.map_count(map).unwrap_or(0),
            None => 0,
        } as i32;
        let mut vm = self.vm.borrow_mut();
        let vm = &mut *vm;
        let (name, f) = if request {
            ("proxy_on_request_headers", &vm.cb.on_request_headers)
        } else {
            ("proxy_on_response_headers", &vm.cb.on_response_headers)
        };
        let id = self.id as i32;
        vm.store.data_mut().effective_context = self.id;
        let state = vm.store.data_mut();
        state.stream = Some(self.id);
        state.dispatched.clear();
        state.resumed = false;
        state.close = false;
        let action = match f {
            None => Ok(0),
            Some(HeadersFn::V1(f)) => {
                let f = f.clone();
                vm.call(backend, name, &f, (id, count))
            }
            Some(HeadersFn::V2(f)) => {
                let f = f.clone();
                vm.call(backend, name, &f, (id, count, end_of_stream as i32))
            }
        };
        vm.state().stream = None;
        finish(vm, name, action?, None)
    }

    /// `proxy_on_request_headers`.
    pub fn on_request_headers(
        &mut self,
        backend: &mut dyn Backend,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.headers(backend, MapType::HttpRequestHeaders, true, end_of_stream))
    }

    /// `proxy_on_response_headers`.
    pub fn on_response_headers(
        &mut self,
        backend: &mut dyn Backend,
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.headers(backend, MapType::HttpResponseHeaders, false, end_of_stream))
    }

    fn body(
        &mut self,
        backend: &mut dyn Backend,
        kind: BufferType,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        let mut vm = self.vm.borrow_mut();
        let vm = &mut *vm;
        let (name, f) = if kind == BufferType::HttpRequestBody {
            ("proxy_on_request_body", vm.cb.on_request_body.clone())
        } else {
            ("proxy_on_response_body", vm.cb.on_response_body.clone())
        };
        let Some(f) = f else {
            return Ok(Outcome::default());
        };
        begin(vm, self.id);
        let state = vm.state();
        state.body.kind = Some(kind);
        state.body.bytes.clear();
        state.body.bytes.extend_from_slice(chunk);
        state.body.end_of_stream = end_of_stream;
        state.body.modified = false;
        let r = vm.call(
            backend,
            name,
            &f,
            (self.id as i32, chunk.len() as i32, end_of_stream as i32),
        );
        let state = vm.state();
        state.stream = None;
        state.body.kind = None;
        let body = if state.body.modified {
            Some(std::mem::take(&mut state.body.bytes))
        } else {
            None
        };
        finish(vm, name, r?, body)
    }

    /// `proxy_on_request_body` with one chunk of the request body.
    pub fn on_request_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.body(backend, BufferType::HttpRequestBody, chunk, end_of_stream))
    }

    /// `proxy_on_response_body` with one chunk of the response body.
    ///
    /// A plugin that returns `Pause` before the end of the body has the body buffered (as Envoy does): the
    /// outcome's body is empty (nothing goes out yet) and the next call sees everything buffered so far plus
    /// the new chunk; the buffer goes out when a call returns `Continue` or at the end of the body. At most
    /// `limits::MAX_PAUSED_BODY` bytes are held; past that the call fails.
    pub fn on_response_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.response_body(backend, chunk, end_of_stream))
    }

    fn response_body(
        &mut self,
        backend: &mut dyn Backend,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<Outcome, Error> {
        if chunk.is_empty() && !end_of_stream {
            // A flush carries no data: nothing for the plugin to see (as in Envoy).
            return Ok(Outcome::default());
        }
        let held = self.paused_body.take();
        let data: std::borrow::Cow<[u8]> = match held {
            Some(mut buffered) => {
                buffered.extend_from_slice(chunk);
                std::borrow::Cow::Owned(buffered)
            }
            None => std::borrow::Cow::Borrowed(chunk),
        };
        let was_paused = matches!(data, std::borrow::Cow::Owned(_));
        let mut outcome = self.body(backend, BufferType::HttpResponseBody, &data, end_of_stream)?;
        let pause = outcome.action == Some(Action::Pause)
            && !end_of_stream
            && outcome.local_response.is_none()
            && !outcome.close;
        if pause {
            let keep = outcome.body.take().unwrap_or_else(|| data.into_owned());
            if keep.len() > crate::limits::MAX_PAUSED_BODY {
                return Err(Error::BadArgument(format!(
                    "proxy_on_response_body paused past {} buffered bytes",
                    crate::limits::MAX_PAUSED_BODY
                )));
            }
            self.paused_body = Some(keep);
            outcome.body = Some(Vec::new());
        } else if was_paused && outcome.body.is_none() {
            outcome.body = Some(data.into_owned());
        }
        Ok(outcome)
    }

    /// Deliver the response of HTTP call `token` (dispatched by this context): runs
    /// `proxy_on_http_call_response(root_id, token, headers, body_size, trailers)`, with map types 6/7 and
    /// buffer type 4 served from `response`. A failed call is delivered as an empty `CallResponse`.
    ///
    /// The root context id is passed, as Envoy and api7 do (the AssemblyScript SDK looks the call up on the
    /// root context; the Rust SDK ignores the id and routes by token to the context that dispatched it).
    /// The outcome carries a local response, further calls, and `resumed`; its `action` is `None`.
    pub fn on_http_call_response(
        &mut self,
        backend: &mut dyn Backend,
        token: u32,
        response: CallResponse,
    ) -> Result<Outcome, Error> {
        self.gate(|c| c.call_response(backend, token, response))
    }

    fn call_response(
        &mut self,
        backend: &mut dyn Backend,
        token: u32,
        response: CallResponse,
    ) -> Result<Outcome, Error> {
        let mut vm = self.vm.borrow_mut();
        let vm = &mut *vm;
        if vm.state().pending_calls.get(&token) != Some(&self.id) {
            return Err(Error::BadArgument(format!(
                "no HTTP call with token {token} is outstanding for this context"
            )));
        }
        vm.state().pending_calls.remove(&token);
        let Some(f) = vm.cb.on_http_call_response.clone() else {
            return Ok(Outcome::default());
        };
        let root = match vm.state().contexts.get(&self.id) {
            Some(ContextKind::Http { root }) => *root,
            _ => return Err(Error::BadArgument("the HTTP context is gone".to_string())),
        };
        let counts = (
            response.headers.len() as i32,
            response.body.len() as i32,
            response.trailers.len() as i32,
        );
        begin(vm, self.id);
        vm.state().call_response = Some(response);
        let r = vm.call(
            backend,
            "proxy_on_http_call_response",
            &f,
            (root as i32, token as i32, counts.0, counts.1, counts.2),
        );
        let state = vm.state();
        state.stream = None;
        state.call_response = None;
        r?;
        let mut outcome = finish(vm, "proxy_on_http_call_response", 0, None)?;
        outcome.action = None;
        Ok(outcome)
    }

    /// Forget an outstanding HTTP call the proxy will not perform (its callback never runs).
    pub fn cancel_http_call(&mut self, token: u32) {
        let mut vm = self.vm.borrow_mut();
        let state = vm.state();
        if state.pending_calls.get(&token) == Some(&self.id) {
            state.pending_calls.remove(&token);
        }
    }

    /// End the request: `proxy_on_done`, `proxy_on_log`, `proxy_on_delete` (none of them after a failure: the
    /// context is only forgotten). Returns the failure of one of them, which the proxy reports; the context is
    /// ended regardless.
    pub fn on_log(&mut self, backend: &mut dyn Backend) -> Result<(), Error> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        let mut vm = self.vm.borrow_mut();
        if self.failed {
            vm.forget_context(self.id);
            return Ok(());
        }
        end_context(&mut vm, backend, self.id, true)
    }
}

impl Drop for HttpContext {
    fn drop(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut vm = self.vm.borrow_mut();
            if self.failed {
                vm.forget_context(self.id);
                return;
            }
            let mut backend = default_backend();
            if let Err(e) = end_context(&mut vm, &mut *backend, self.id, false) {
                let plugin = vm.state().plugin.clone();
                backend.log(LogLevel::Error, &plugin, e.to_string().as_bytes());
            }
        }
    }
}

fn take_id(ids: &mut Vec<u32>, id: u32) -> bool {
    match ids.iter().position(|x| *x == id) {
        Some(at) => {
            ids.swap_remove(at);
            true
        }
        None => false,
    }
}

/// Prepare the state for a callback of HTTP context `id`.
fn begin(vm: &mut Vm, id: u32) {
    let state = vm.state();
    state.effective_context = id;
    state.stream = Some(id);
    state.dispatched.clear();
    state.resumed = false;
    state.close = false;
}

fn finish(
    vm: &mut Vm,
    callback: &'static str,
    action: i32,
    body: Option<Vec<u8>>,
) -> Result<Outcome, Error> {
    let state = vm.state();
    let local_response = state.local_response.take();
    let calls = std::mem::take(&mut state.dispatched);
    let resumed = std::mem::take(&mut state.resumed);
    let close = std::mem::take(&mut state.close);
    let action = match action {
        0 => Action::Continue,
        1 => Action::Pause,
        other => {
            return Err(Error::BadArgument(format!(
                "{callback} returned the unknown action {other}"
            )))
        }
    };
    Ok(Outcome {
        action: Some(action),
        local_response,
        body,
        calls,
        resumed,
        close,
        finished: false,
    })
}
