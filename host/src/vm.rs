//! One plugin instance: its wasmtime `Store`, the guest callbacks resolved once, and the per-call state that
//! host functions reach through `Caller::data()`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::NonNull;
use std::rc::Rc;
use std::time::{Duration, Instant};

use wasmtime::{
    Instance, Memory, Module, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap,
    TypedFunc, WasmParams, WasmResults,
};

use crate::backend::Backend;
use crate::engine::{engine, linker};
use crate::error::Error;
use crate::types::{AbiVersion, BufferType};

/// A local response a plugin asked for with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub headers: Vec<crate::map::Pair>,
    pub body: Vec<u8>,
    /// The `details` string of the call, for the log.
    pub details: Vec<u8>,
}

/// An HTTP call a plugin dispatched with `proxy_http_call`, for the proxy to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// The token the plugin got back; the response is delivered with it.
    pub token: u32,
    /// The HTTP context the call belongs to (its response is delivered there).
    pub context_id: u32,
    /// `host[:port]` as the plugin gave it.
    pub upstream: String,
    pub method: Vec<u8>,
    pub path: Vec<u8>,
    /// `:scheme` of the call's headers, `http` when absent.
    pub scheme: Vec<u8>,
    pub authority: Vec<u8>,
    /// The other headers (pseudo-headers removed), in order.
    pub headers: Vec<crate::map::Pair>,
    pub body: Vec<u8>,
    /// Milliseconds; the plugin's value, or `limits::DEFAULT_HTTP_CALL_TIMEOUT_MS` when it gave 0.
    pub timeout_ms: u32,
}

/// The response of an HTTP call, exposed during `proxy_on_http_call_response` (map types 6 and 7, buffer 4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResponse {
    /// Response headers with `:status` first; empty when the call failed.
    pub headers: Vec<crate::map::Pair>,
    pub body: Vec<u8>,
    pub trailers: Vec<crate::map::Pair>,
}

/// A body chunk exposed to the guest through `proxy_get_buffer_bytes` during one callback.
#[derive(Debug, Default)]
pub(crate) struct BodyChunk {
    pub kind: Option<BufferType>,
    pub bytes: Vec<u8>,
    pub end_of_stream: bool,
    pub modified: bool,
}

/// Context ids and call tokens are small sequential numbers chosen by the host, not by guests: a multiplicative
/// hash spreads them without the cost of the default SipHash.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

/// A map keyed by context id or token.
pub(crate) type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// What a context is, so `proxy_set_effective_context` can refuse unknown ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextKind {
    Root,
    Http { root: u32 },
}

/// The data of a plugin's `Store`.
pub struct HostState {
    pub(crate) plugin: Rc<str>,
    pub(crate) memory: Option<Memory>,
    pub(crate) allocate: Option<TypedFunc<i32, i32>>,
    /// The proxy services of the call in progress; set by `Vm::call` and cleared when it returns.
    backend: Option<NonNull<dyn Backend>>,
    pub(crate) vm_configuration: Rc<[u8]>,
    /// Configuration of the root context being configured (only during `proxy_on_configure`).
    pub(crate) plugin_configuration: Option<Rc<[u8]>>,
    pub(crate) body: BodyChunk,
    pub(crate) local_response: Option<LocalResponse>,
    pub(crate) contexts: IdMap<ContextKind>,
    pub(crate) effective_context: u32,
    /// The HTTP context whose callback is running (HTTP calls dispatched now belong to it).
    pub(crate) stream: Option<u32>,
    /// HTTP calls dispatched during the current callback.
    pub(crate) dispatched: Vec<HttpCall>,
    /// Outstanding HTTP calls: token -> HTTP context id.
    pub(crate) pending_calls: IdMap<u32>,
    pub(crate) next_token: u32,
    /// The response being delivered (only during `proxy_on_http_call_response`).
    pub(crate) call_response: Option<CallResponse>,
    /// Set when the plugin called `proxy_continue_stream`/`proxy_continue_request` during the callback.
    pub(crate) resumed: bool,
    /// Set when the plugin called `proxy_close_stream` during the callback.
    pub(crate) close: bool,
    /// HTTP contexts whose paused request another callback continued (`proxy_set_effective_context` then
    /// `proxy_continue_stream`, from a tick, a queue item or another request): the proxy resumes them.
    pub(crate) continued: Vec<u32>,
    /// HTTP contexts whose paused request another callback closed (`proxy_close_stream`).
    pub(crate) closed: Vec<u32>,
    /// Host functions that returned `Unimplemented` once already (logged once per name).
    pub(crate) warned_unimplemented: Vec<&'static str>,
    /// Tick periods in milliseconds by root context id (`proxy_set_tick_period_milliseconds`).
    pub(crate) tick_periods: IdMap<u32>,
    /// Log lines the plugin wrote during the current callback (beyond the limit they are counted, not written).
    pub(crate) log_lines: u32,
    /// Shared queues registered by this instance's root contexts (`proxy_on_queue_ready` goes to them).
    pub(crate) queue_watches: Vec<QueueWatch>,
    /// When the call in progress reaches its time limit (set as it starts): host functions that wait
    /// (`poll_oneoff`) never wait past it.
    pub(crate) deadline: Instant,
    limits: Limits,
}

/// The store's resource limits, which also note how large linear memory is (wasmtime asks the limiter when a
/// memory is created and whenever it grows), so checking it after each request costs a field read.
struct Limits {
    store: StoreLimits,
    memory_bytes: usize,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.store.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory_bytes = self.memory_bytes.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.store.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.store.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.store.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.store.instances()
    }

    fn tables(&self) -> usize {
        self.store.tables()
    }

    fn memories(&self) -> usize {
        self.store.memories()
    }
}

/// A shared queue a root context registered, and how many of its items this process has announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueWatch {
    pub queue: u32,
    pub root: u32,
    /// The queue's enqueue count when `proxy_on_queue_ready` was last delivered for it.
    pub seen: u32,
}

impl HostState {
    /// The backend of the call in progress.
    ///
    /// Host functions only run inside `Vm::call`, which sets the pointer for exactly that duration, so it is
    /// always set and valid here; `None` means a host function ran outside a call (a bug), reported as such.
    pub(crate) fn backend(&mut self) -> Option<&mut dyn Backend> {
        // SAFETY: `Vm::call` stores a pointer to a `&mut dyn Backend` that outlives the guest call and removes it
        // before returning; the store is used by one thread and the reference is not kept past this borrow.
        self.backend.map(|mut p| unsafe { p.as_mut() })
    }

    /// The root context of context `id` (itself when it is a root).
    pub(crate) fn root_of(&self, id: u32) -> Option<u32> {
        match self.contexts.get(&id)? {
            ContextKind::Root => Some(id),
            ContextKind::Http { root } => Some(*root),
        }
    }
}

/// A guest function, resolved once; shared by reference (cloning a `TypedFunc` clones its type).
pub(crate) type Guest<P, R> = Rc<TypedFunc<P, R>>;

/// The signature of header callbacks differs between ABI 0.1.0 and 0.2.x.
pub(crate) enum HeadersFn {
    V1(Guest<(i32, i32), i32>),
    V2(Guest<(i32, i32, i32), i32>),
}

/// `proxy_on_http_call_response(context_id, token, num_headers, body_size, num_trailers)`.
pub(crate) type CallResponseFn = Guest<(i32, i32, i32, i32, i32), ()>;

/// Guest callbacks resolved once per instance (never looked up by name per call).
pub(crate) struct Callbacks {
    pub on_context_create: Guest<(i32, i32), ()>,
    pub on_vm_start: Option<Guest<(i32, i32), i32>>,
    pub on_configure: Option<Guest<(i32, i32), i32>>,
    pub on_request_headers: Option<HeadersFn>,
    pub on_request_body: Option<Guest<(i32, i32, i32), i32>>,
    pub on_response_headers: Option<HeadersFn>,
    pub on_response_body: Option<Guest<(i32, i32, i32), i32>>,
    pub on_http_call_response: Option<CallResponseFn>,
    pub on_done: Option<Guest<i32, i32>>,
    pub on_log: Option<Guest<i32, ()>>,
    pub on_delete: Option<Guest<i32, ()>>,
    pub on_tick: Option<Guest<i32, ()>>,
    pub on_queue_ready: Option<Guest<(i32, i32), ()>>,
}

/// Limits of one plugin's instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginOptions {
    /// Longest one callback may run before it is interrupted (in epoch ticks of `EPOCH_TICK_MS`).
    pub time_limit_ms: u64,
    /// Most bytes of linear memory an instance may grow to.
    pub memory_limit: usize,
}

impl Default for PluginOptions {
    fn default() -> Self {
        PluginOptions {
            time_limit_ms: crate::limits::DEFAULT_TIME_LIMIT_MS,
            memory_limit: crate::limits::DEFAULT_MEMORY_LIMIT,
        }
    }
}

pub(crate) struct Vm {
    pub store: Store<HostState>,
    pub cb: Callbacks,
    next_context_id: u32,
    /// Why this instance must not run again (it trapped).
    failed: Option<String>,
    /// Set when the instance's memory passed the recycling watermark: new work goes to a fresh instance.
    retired: bool,
    /// Set while the instance starts or a root context is configured: calls get `limits::SETUP_TIME_LIMIT_MS`.
    setup: bool,
    options: PluginOptions,
}

fn typed<P: WasmParams, R: WasmResults>(
    instance: &Instance,
    store: &mut Store<HostState>,
    name: &str,
) -> Result<Option<Guest<P, R>>, Error> {
    match instance.get_func(&mut *store, name) {
        None => Ok(None),
        Some(f) => f
            .typed::<P, R>(&*store)
            .map(|f| Some(Rc::new(f)))
            .map_err(|e| Error::Load(format!("export \"{name}\" has the wrong signature: {e}"))),
    }
}

fn headers_fn(
    instance: &Instance,
    store: &mut Store<HostState>,
    abi: AbiVersion,
    name: &str,
) -> Result<Option<HeadersFn>, Error> {
    Ok(if abi == AbiVersion::V0_1_0 {
        typed(instance, store, name)?.map(HeadersFn::V1)
    } else {
        typed(instance, store, name)?.map(HeadersFn::V2)
    })
}

/// Compile a plugin. Fails with a message naming what is wrong with the file.
pub(crate) fn compile(bytes: &[u8]) -> Result<(Module, AbiVersion), Error> {
    if !bytes.starts_with(b"\0asm") && !bytes.starts_with(b"(module") {
        return Err(Error::Load("not a WebAssembly module".into()));
    }
    let module = Module::new(engine(), bytes).map_err(|e| Error::Load(format!("{e:#}")))?;
    let abi = module
        .exports()
        .filter_map(|e| AbiVersion::from_export(e.name()))
        .max()
        .ok_or_else(|| {
            Error::Load(
                "no proxy_abi_version_0_1_0/0_2_0/0_2_1 export: not a Proxy-Wasm plugin".into(),
            )
        })?;
    Ok((module, abi))
}

impl Vm {
    /// Instantiate `module` and run its start function.
    pub(crate) fn instantiate(
        plugin: Rc<str>,
        module: &Module,
        abi: AbiVersion,
        vm_configuration: Rc<[u8]>,
        options: PluginOptions,
        backend: &mut dyn Backend,
    ) -> Result<Vm, Error> {
        let pre = linker()
            .instantiate_pre(module)
            .map_err(|e| Error::Load(format!("{e:#}")))?;
        let state = HostState {
            plugin,
            memory: None,
            allocate: None,
            backend: None,
            vm_configuration,
            plugin_configuration: None,
            body: BodyChunk::default(),
            local_response: None,
            contexts: IdMap::default(),
            effective_context: 0,
            stream: None,
            dispatched: Vec::new(),
            pending_calls: IdMap::default(),
            next_token: 0,
            call_response: None,
            resumed: false,
            close: false,
            continued: Vec::new(),
            closed: Vec::new(),
            warned_unimplemented: Vec::new(),
            tick_periods: IdMap::default(),
            log_lines: 0,
            queue_watches: Vec::new(),
            deadline: Instant::now()
                + Duration::from_millis(
                    options
                        .time_limit_ms
                        .max(crate::limits::SETUP_TIME_LIMIT_MS),
                ),
            limits: Limits {
                store: StoreLimitsBuilder::new()
                    .memory_size(options.memory_limit)
                    .trap_on_grow_failure(true)
                    .build(),
                memory_bytes: 0,
            },
        };
        let mut store = Store::new(engine(), state);
        store.limiter(|s| &mut s.limits);
        // A start section (AssemblyScript 0.14 puts its top-level code there) runs inside instantiation: give
        // it the same deadline as any call.
        store.set_epoch_deadline(deadline_ticks(&options));
        crate::engine::note_time_limit(
            options
                .time_limit_ms
                .max(crate::limits::SETUP_TIME_LIMIT_MS),
        );
        crate::engine::call_starts();
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| Error::Load(format!("instantiation failed: {e:#}")))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Error::Load("the module exports no \"memory\"".into()))?;
        let allocate =
            match typed::<i32, i32>(&instance, &mut store, "proxy_on_memory_allocate")? {
                Some(f) => Some(f),
                None => typed::<i32, i32>(&instance, &mut store, "malloc")?,
            }
            .map(|f| (*f).clone());
        if allocate.is_none() {
            return Err(Error::Load(
                "the module exports neither proxy_on_memory_allocate nor malloc".into(),
            ));
        }
        store.data_mut().memory = Some(memory);
        store.data_mut().allocate = allocate;

        let on_context_create = typed(&instance, &mut store, "proxy_on_context_create")?
            .ok_or_else(|| Error::Load("the module exports no proxy_on_context_create".into()))?;
        let cb = Callbacks {
            on_context_create,
            on_vm_start: typed(&instance, &mut store, "proxy_on_vm_start")?,
            on_configure: typed(&instance, &mut store, "proxy_on_configure")?,
            on_request_headers: headers_fn(&instance, &mut store, abi, "proxy_on_request_headers")?,
            on_request_body: typed(&instance, &mut store, "proxy_on_request_body")?,
            on_response_headers: headers_fn(
                &instance,
                &mut store,
                abi,
                "proxy_on_response_headers",
            )?,
            on_response_body: typed(&instance, &mut store, "proxy_on_response_body")?,
            on_http_call_response: typed(&instance, &mut store, "proxy_on_http_call_response")?,
            on_done: typed(&instance, &mut store, "proxy_on_done")?,
            on_log: typed(&instance, &mut store, "proxy_on_log")?,
            on_delete: typed(&instance, &mut store, "proxy_on_delete")?,
            on_tick: typed(&instance, &mut store, "proxy_on_tick")?,
            on_queue_ready: typed(&instance, &mut store, "proxy_on_queue_ready")?,
        };
        let mut vm = Vm {
            store,
            cb,
            next_context_id: 0,
            failed: None,
            retired: false,
            setup: true,
            options,
        };
        if let Some(init) = typed::<(), ()>(&instance, &mut vm.store, "_initialize")? {
            vm.call(backend, "_initialize", &init, ())?;
        } else if let Some(start) = typed::<(), ()>(&instance, &mut vm.store, "_start")? {
            vm.call(backend, "_start", &start, ())?;
        }
        vm.setup = false;
        Ok(vm)
    }

    /// A fresh context id, registered as `kind`.
    pub(crate) fn new_context(&mut self, kind: ContextKind) -> u32 {
        self.next_context_id += 1;
        let id = self.next_context_id;
        self.store.data_mut().contexts.insert(id, kind);
        id
    }

    pub(crate) fn forget_context(&mut self, id: u32) {
        let state = self.store.data_mut();
        state.contexts.remove(&id);
        state.continued.retain(|c| *c != id);
        state.closed.retain(|c| *c != id);
        // Most contexts have no calls, ticks or queues: skip the scans then.
        if !state.pending_calls.is_empty() {
            state.pending_calls.retain(|_, ctx| *ctx != id);
        }
        if !state.tick_periods.is_empty() {
            state.tick_periods.remove(&id);
        }
        if !state.queue_watches.is_empty() {
            state.queue_watches.retain(|w| w.root != id);
        }
    }

    pub(crate) fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Mark the calls that follow as set-up work (configuring a root context) or request work.
    pub(crate) fn set_setup(&mut self, setup: bool) {
        self.setup = setup;
    }

    /// The deadline of the next call: the plugin's, or the longer set-up one.
    fn time_limit_ms(&self) -> u64 {
        if self.setup {
            self.options
                .time_limit_ms
                .max(crate::limits::SETUP_TIME_LIMIT_MS)
        } else {
            self.options.time_limit_ms
        }
    }

    /// Whether new work must go to a fresh instance (it trapped, or it was retired).
    pub(crate) fn is_spent(&self) -> bool {
        self.failed.is_some() || self.retired
    }

    /// Bytes of linear memory the instance has now (its initial size, or the size it last grew to).
    pub(crate) fn memory_bytes(&mut self) -> usize {
        self.store.data().limits.memory_bytes
    }

    /// Retire the instance when its memory passed the watermark (`limits::MEMORY_RECYCLE_PERCENT` of its
    /// limit): the contexts it serves finish in it, new ones get a fresh instance. Returns whether it did.
    pub(crate) fn retire_if_grown(&mut self) -> bool {
        let watermark = self.options.memory_limit / 100 * crate::limits::MEMORY_RECYCLE_PERCENT;
        if !self.retired && self.memory_bytes() > watermark {
            self.retired = true;
            return true;
        }
        false
    }

    pub(crate) fn state(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// Call a guest function with `backend` reachable from host functions for the duration of the call.
    /// A trap marks the instance failed: it is never entered again.
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        backend: &mut dyn Backend,
        callback: &'static str,
        func: &TypedFunc<P, R>,
        params: P,
    ) -> Result<R, Error> {
        if let Some(reason) = &self.failed {
            return Err(Error::Unusable(reason.clone()));
        }
        // SAFETY: only the lifetime is erased; the pointer is removed below before `backend` can end.
        let ptr: NonNull<dyn Backend> = unsafe {
            std::mem::transmute::<NonNull<dyn Backend + '_>, NonNull<dyn Backend + 'static>>(
                NonNull::from(&mut *backend),
            )
        };
        self.store.data_mut().backend = Some(ptr);
        let time_limit = self.time_limit_ms();
        self.store.set_epoch_deadline(ticks(time_limit));
        self.store.data_mut().deadline = Instant::now() + Duration::from_millis(time_limit);
        self.store.data_mut().log_lines = 0;
        crate::engine::call_starts();
        let result = func.call(&mut self.store, params);
        let state = self.store.data_mut();
        state.backend = None;
        let over = state
            .log_lines
            .saturating_sub(crate::limits::MAX_LOG_LINES_PER_CALLBACK);
        if over > 0 {
            let plugin = state.plugin.clone();
            let msg = format!(
                "{callback}: {over} more log line(s) dropped (at most {} per callback)",
                crate::limits::MAX_LOG_LINES_PER_CALLBACK
            );
            backend.log(crate::types::LogLevel::Warn, &plugin, msg.as_bytes());
        }
        result.map_err(|e| {
            let message = if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                format!("interrupted: ran past its time limit of {time_limit} ms")
            } else {
                trap_message(&e)
            };
            self.failed = Some(format!("{callback} trapped: {message}"));
            Error::Trap { callback, message }
        })
    }
}

/// The epoch deadline of a call limited to `ms`: the next tick may come at once, so one tick more than the limit
/// holds guarantees the call its whole limit (and at most about one tick more).
fn ticks(ms: u64) -> u64 {
    ms.div_ceil(crate::limits::EPOCH_TICK_MS) + 1
}

/// The deadline of instantiation (the start section runs in it), in epoch ticks.
fn deadline_ticks(options: &PluginOptions) -> u64 {
    ticks(
        options
            .time_limit_ms
            .max(crate::limits::SETUP_TIME_LIMIT_MS),
    )
}

/// The most useful one-line description of a trap: the trap code plus the guest's own message when a host
/// function raised it.
fn trap_message(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    parts.dedup();
    parts.retain(|p| !p.starts_with("error while executing at wasm backtrace"));
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}
