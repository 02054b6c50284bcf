//! Every limit the host enforces, in one place: the constants below, and `PluginOptions`, the limits a proxy
//! sets per plugin (with their defaults here). A refusal or truncation caused by one of these logs a line.

/// Most pairs a header map may hold when a plugin sends it to the host (local response, set pairs, calls).
pub const MAX_MAP_PAIRS: usize = 1024;
/// Most bytes of an encoded header map a plugin may hand to the host.
pub const MAX_MAP_BYTES: usize = 1024 * 1024;
/// Most bytes of a local response body.
pub const MAX_LOCAL_RESPONSE_BODY: usize = 16 * 1024 * 1024;
/// Most bytes of response body held while a plugin pauses it (`proxy_on_response_body` returning Pause).
pub const MAX_PAUSED_BODY: usize = 16 * 1024 * 1024;
/// Most bytes a single `proxy_log` message may carry before it is truncated.
pub const MAX_LOG_MESSAGE: usize = 8 * 1024;
/// Most log lines a plugin may write during one callback; the rest are counted in one warning.
pub const MAX_LOG_LINES_PER_CALLBACK: u32 = 200;
/// Most HTTP calls one HTTP context may have outstanding at once (`proxy_http_call` refuses more).
pub const MAX_HTTP_CALLS_PER_CONTEXT: usize = 64;
/// Most bytes of an HTTP call's request body a plugin may send.
pub const MAX_HTTP_CALL_BODY: usize = 16 * 1024 * 1024;
/// Most bytes of an HTTP call's response body the proxy reads; a larger response fails the call.
pub const MAX_HTTP_CALL_RESPONSE_BODY: usize = 16 * 1024 * 1024;
/// Timeout of an HTTP call whose plugin passed 0, and the longest timeout honoured.
pub const DEFAULT_HTTP_CALL_TIMEOUT_MS: u32 = 60_000;
pub const MAX_HTTP_CALL_TIMEOUT_MS: u32 = 10 * 60_000;
/// Most bytes of the arguments a plugin may pass to a foreign function.
pub const MAX_FOREIGN_ARGUMENTS: usize = 1024 * 1024;
/// Most bytes of a property path or value.
pub const MAX_PROPERTY_BYTES: usize = 64 * 1024;
/// Most bytes one WASI `random_get` may ask for: a larger request answers `EINVAL` (nothing is filled).
pub const MAX_RANDOM_GET: usize = 1024 * 1024;

/// Longest request method a plugin may set through `:method`.
pub const MAX_METHOD_NAME: usize = 32;
/// Longest proxy variable name a property path may look up (longer names exist in no sane configuration).
pub const MAX_VARIABLE_NAME: usize = 256;
/// Least memory limit a plugin may be given: one wasm page.
pub const MIN_MEMORY_LIMIT: usize = 64 * 1024;
/// How long a request a plugin paused waits to be continued, unless configured.
pub const DEFAULT_PAUSE_TIMEOUT_MS: u64 = 60_000;

/// The limits of one plugin's instances, set by the proxy per plugin (`Plugin::load_with`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginOptions {
    /// Longest one callback may run before it is interrupted, in milliseconds. Enforced in epoch ticks of
    /// `EPOCH_TICK_MS`: a call is stopped within one tick after its limit.
    pub time_limit_ms: u64,
    /// Most bytes of linear memory an instance may grow to.
    pub memory_limit: usize,
}

impl Default for PluginOptions {
    fn default() -> Self {
        PluginOptions {
            time_limit_ms: DEFAULT_TIME_LIMIT_MS,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// Default longest time one guest callback may run before it is interrupted (`PluginOptions::time_limit_ms`).
pub const DEFAULT_TIME_LIMIT_MS: u64 = 10;
/// The deadline of one-time set-up calls (start function, `_initialize`/`_start`, `proxy_on_vm_start`,
/// `proxy_on_configure`) when the plugin's own limit is shorter: start-up work is not request work, and a
/// loaded machine must not fail a plugin's start.
pub const SETUP_TIME_LIMIT_MS: u64 = 1000;
/// Default most linear memory one instance may grow to (`PluginOptions::memory_limit`).
pub const DEFAULT_MEMORY_LIMIT: usize = 128 * 1024 * 1024;
/// An instance whose linear memory passed this share of its limit is recycled once its current request ends:
/// the next requests get a fresh instance (guests that leak, such as TinyGo's, stay bounded).
pub const MEMORY_RECYCLE_PERCENT: usize = 75;
/// How often the per-process ticker advances wasmtime's epoch; deadlines are counted in these ticks. A call is
/// interrupted once its time limit, rounded up to whole ticks, has passed, within one more tick.
pub const EPOCH_TICK_MS: u64 = 5;
/// Time without any guest call starting after which the ticker parks until the next call (an idle worker
/// sleeps); never shorter than the longest deadline in use.
pub const EPOCH_IDLE_MS: u64 = 1000;
/// How often a parked ticker looks for a call whose wake-up it missed.
pub const EPOCH_PARKED_CHECK_MS: u64 = 100;
/// A plugin whose instances trap more than `CRASH_LOOP_LIMIT` times within `CRASH_LOOP_WINDOW_MS` is not
/// re-instantiated for `CRASH_LOOP_BACKOFF_MS`: its calls fail at once (per the failure policy) meanwhile.
pub const CRASH_LOOP_LIMIT: usize = 10;
pub const CRASH_LOOP_WINDOW_MS: u64 = 10_000;
pub const CRASH_LOOP_BACKOFF_MS: u64 = 5_000;

/// Size of the shared memory (shared data, queues, metrics) when the proxy does not set one.
pub const DEFAULT_SHARED_MEMORY: usize = 4 * 1024 * 1024;
/// Smallest and largest shared memory a proxy may ask for.
pub const MIN_SHARED_MEMORY: usize = 256 * 1024;
pub const MAX_SHARED_MEMORY: usize = 1024 * 1024 * 1024;
/// Most bytes of a shared-data key, and of a queue name.
pub const MAX_SHARED_KEY: usize = 4 * 1024;
/// Most shared queues, and most items waiting in one queue (enqueue refuses more).
pub const MAX_SHARED_QUEUES: u32 = 1024;
pub const MAX_QUEUE_ITEMS: u32 = 100_000;
/// Most metrics all plugins together may define, and the longest metric name.
pub const MAX_METRICS: u32 = 1024;
pub const MAX_METRIC_NAME: usize = 256;
/// How often a worker looks for items enqueued (by any worker) into queues its plugins registered.
pub const QUEUE_POLL_MS: u64 = 10;
/// Shortest tick period honoured (`proxy_set_tick_period_milliseconds` with less is raised to it).
pub const MIN_TICK_PERIOD_MS: u64 = 1;
/// Least time between a tick callback's return and the next tick of that root context: however short the
/// period and however long the callback ran, the worker gets back to its other events in between.
pub const MIN_TICK_GAP_MS: u64 = 1;
/// Most unknown `env.proxy_*` imports one plugin may have linked as stubs answering `Unimplemented`.
pub const MAX_STUBBED_IMPORTS: usize = 64;
