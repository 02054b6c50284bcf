//! `HostState`, the data of an instance's `Store`: what host functions reach through `Caller::data()`. It holds
//! the instance's contexts, the state of the callback in progress (its body chunk, local response, dispatched
//! calls, stream controls, the proxy's backend, the deadline), what outlives a callback (outstanding calls,
//! tick periods, queue watches), and the store's resource limiter.
//!
//! Its one unsafe block turns the backend pointer `Vm::call` stores for the duration of a call back into a
//! reference.

use std::ptr::NonNull;
use std::rc::Rc;

use wasmtime::{Memory, ResourceLimiter, StoreLimits, StoreLimitsBuilder, TypedFunc};

use crate::backend::Backend;
use crate::ids::IdMap;
use crate::limits::{PluginOptions, SETUP_TIME_LIMIT_MS};
use crate::messages::{CallResponse, HttpCall, LocalResponse};
use crate::types::{BufferType, LogLevel};

/// A body chunk exposed to the guest through `proxy_get_buffer_bytes` during one callback.
#[derive(Debug, Default)]
pub(crate) struct BodyChunk {
    pub kind: Option<BufferType>,
    pub bytes: Vec<u8>,
    pub end_of_stream: bool,
    pub modified: bool,
}

/// What a context is, so `proxy_set_effective_context` can refuse unknown ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextKind {
    Root,
    Http { root: u32 },
}

/// A shared queue a root context registered, and how many of its items this process has announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueWatch {
    pub queue: u32,
    pub root: u32,
    /// The queue's enqueue count when `proxy_on_queue_ready` was last delivered for it.
    pub seen: u32,
}

/// The data of a plugin's `Store`.
pub(crate) struct HostState {
    pub(crate) plugin: Rc<str>,
    /// What `plugin_root_id` answers (`Plugin::set_root_id`; empty unless the proxy names one).
    pub(crate) root_id: Rc<str>,
    pub(crate) memory: Option<Memory>,
    pub(crate) allocate: Option<TypedFunc<i32, i32>>,
    /// The proxy services of the call in progress; set by `Vm::call` and cleared when it returns.
    pub(super) backend: Option<NonNull<dyn Backend>>,
    pub(crate) vm_configuration: Rc<[u8]>,
    /// The configuration of each root context (by id), from `proxy_on_configure` on for as long as the root
    /// context lives: readable by it and by its HTTP contexts, as api7's host keeps it (its plugins read it in
    /// HTTP callbacks).
    pub(crate) configurations: IdMap<Rc<[u8]>>,
    pub(crate) body: BodyChunk,
    pub(crate) local_response: Option<Box<LocalResponse>>,
    pub(crate) contexts: IdMap<ContextKind>,
    pub(crate) effective_context: u32,
    /// The HTTP context whose callback is running (HTTP calls dispatched now belong to it).
    pub(crate) stream: Option<u32>,
    /// That callback is a response callback: calls dispatched there are refused (the response cannot wait).
    pub(crate) response_callback: bool,
    /// The root context whose tick, queue delivery or call answer is running (calls dispatched now are its).
    pub(crate) running_root: Option<u32>,
    /// HTTP calls dispatched during the current callback.
    pub(crate) dispatched: Vec<HttpCall>,
    /// Outstanding HTTP calls: token -> HTTP context id.
    pub(crate) pending_calls: IdMap<u32>,
    pub(crate) next_token: u32,
    /// The response being delivered (only during `proxy_on_http_call_response`; during the gRPC callbacks, the
    /// initial metadata, the message and the trailing metadata of a gRPC call).
    pub(crate) call_response: Option<CallResponse>,
    /// Outstanding calls that are gRPC calls (their answer goes to the gRPC callbacks).
    pub(crate) grpc_calls: Vec<u32>,
    /// gRPC calls the plugin cancelled while the proxy still performs them: their answers are dropped.
    pub(crate) cancelled_calls: Vec<u32>,
    /// The status of the gRPC call being delivered (only during its callback).
    pub(crate) grpc_status: Option<(u32, Vec<u8>)>,
    /// Set when the plugin called `proxy_continue_stream`/`proxy_continue_request` during the callback.
    pub(crate) resumed: bool,
    /// Set when the plugin called `proxy_close_stream` during the callback.
    pub(crate) close: bool,
    /// HTTP contexts whose paused request another callback continued (`proxy_set_effective_context` then
    /// `proxy_continue_stream`, from a tick, a queue item or another request): the proxy resumes them.
    pub(crate) continued: Vec<u32>,
    /// HTTP contexts whose paused request another callback closed (`proxy_close_stream`).
    pub(crate) closed: Vec<u32>,
    /// What this instance already warned about once: the host functions it refuses (gRPC) and the maps it
    /// does not have (request trailers, gRPC metadata). Each is logged once per instance.
    pub(crate) warned_once: Vec<&'static str>,
    /// Tick periods in milliseconds by root context id (`proxy_set_tick_period_milliseconds`).
    pub(crate) tick_periods: IdMap<u32>,
    /// Log lines the plugin wrote during the current callback (beyond the limit they are counted, not written).
    pub(crate) log_lines: u32,
    /// What the plugin wrote to stdout and stderr after its last newline (WASI `fd_write`): each line is
    /// logged once complete, the rest when the callback ends.
    pub(crate) output: [Vec<u8>; 2],
    /// Shared queues registered by this instance's root contexts (`proxy_on_queue_ready` goes to them).
    pub(crate) queue_watches: Vec<QueueWatch>,
    /// The epoch at which the call in progress is interrupted, and its time limit (set as it starts): host
    /// functions that wait (`poll_oneoff`) never wait past it (`ticker::deadline_at`).
    pub(crate) deadline_epoch: u64,
    pub(crate) time_limit_ms: u64,
    pub(super) limits: Limits,
}

impl HostState {
    /// The state of a new instance of `plugin`; its first deadline is the set-up one (instantiation runs the
    /// start section).
    pub(super) fn new(
        plugin: Rc<str>,
        vm_configuration: Rc<[u8]>,
        options: &PluginOptions,
    ) -> HostState {
        HostState {
            plugin,
            root_id: Rc::from(""),
            memory: None,
            allocate: None,
            backend: None,
            vm_configuration,
            configurations: IdMap::default(),
            body: BodyChunk::default(),
            local_response: None,
            contexts: IdMap::default(),
            effective_context: 0,
            stream: None,
            response_callback: false,
            running_root: None,
            dispatched: Vec::new(),
            pending_calls: IdMap::default(),
            next_token: 0,
            call_response: None,
            grpc_calls: Vec::new(),
            cancelled_calls: Vec::new(),
            grpc_status: None,
            resumed: false,
            close: false,
            continued: Vec::new(),
            closed: Vec::new(),
            warned_once: Vec::new(),
            tick_periods: IdMap::default(),
            log_lines: 0,
            output: [Vec::new(), Vec::new()],
            queue_watches: Vec::new(),
            deadline_epoch: crate::ticker::deadline_epoch(
                options.time_limit_ms.max(SETUP_TIME_LIMIT_MS),
            ),
            time_limit_ms: options.time_limit_ms.max(SETUP_TIME_LIMIT_MS),
            limits: Limits {
                store: StoreLimitsBuilder::new()
                    .memory_size(options.memory_limit)
                    .trap_on_grow_failure(true)
                    .build(),
                memory_bytes: 0,
            },
        }
    }

    /// The backend of the call in progress.
    ///
    /// Host functions only run inside `Vm::call`, which sets the pointer for exactly that duration, so it is
    /// always set and valid here; `None` means a host function ran outside a call (a bug), reported as such.
    pub(crate) fn backend(&mut self) -> Option<&mut dyn Backend> {
        // SAFETY: `Vm::call` stores a pointer to a `&mut dyn Backend` that outlives the guest call and removes it
        // before returning; the store is used by one thread and the reference is not kept past this borrow.
        self.backend.map(|mut p| unsafe { p.as_mut() })
    }

    /// Log a line the plugin itself wrote (`proxy_log`, WASI stdout/stderr), within the per-callback limit
    /// (past it the line is counted, not written).
    pub(crate) fn plugin_line(&mut self, level: LogLevel, message: &[u8]) {
        self.log_lines = self.log_lines.saturating_add(1);
        if self.log_lines <= crate::limits::MAX_LOG_LINES_PER_CALLBACK {
            let plugin = self.plugin.clone();
            if let Some(backend) = self.backend() {
                backend.log(level, &plugin, message);
            }
        }
    }

    /// Log what the plugin wrote to stdout (`stream` 0, info) or stderr (1, error) since its last newline as a
    /// line of its own (nothing for an empty one).
    pub(crate) fn flush_output(&mut self, stream: usize) {
        let line = std::mem::take(&mut self.output[stream]);
        if !line.is_empty() {
            let level = if stream == 0 {
                LogLevel::Info
            } else {
                LogLevel::Error
            };
            self.plugin_line(level, &line);
        }
    }

    /// The root context of context `id` (itself when it is a root).
    pub(crate) fn root_of(&self, id: u32) -> Option<u32> {
        match self.contexts.get(&id)? {
            ContextKind::Root => Some(id),
            ContextKind::Http { root } => Some(*root),
        }
    }
}

/// The store's resource limits, which also note how large linear memory is (wasmtime asks the limiter when a
/// memory is created and whenever it grows), so checking it after each request costs a field read.
pub(super) struct Limits {
    store: StoreLimits,
    pub(super) memory_bytes: usize,
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
