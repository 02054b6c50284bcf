//! hostile: a Proxy-Wasm test plugin (Rust SDK 0.2.5) that fails on purpose, for the host's failure semantics.
//!
//! Its plugin configuration (JSON) names the callback to fail in and how:
//!
//! ```json
//! {"fail": "request_headers", "how": "panic", "when": "header"}
//! ```
//!
//! - `fail`: `request_headers`, `request_body`, `response_headers`, `response_body`, `log`, `done`,
//!   `http_call_response`, `tick`, `queue_ready`, or absent (never fails: a well-behaved plugin).
//! - `how`: `panic` (`panic!("hostile: ...")`, a trap with `panic = "abort"`), `spin` (an endless loop, stopped at
//!   the plugin's `time_limit`), `grow` (allocates 8 MiB blocks until the plugin's `memory_limit` traps).
//! - `when`: `every` (default: every request, every tick, every queue event), `header` (only requests that have
//!   the header `x-fail: 1`; ticks and queue events: as `once`), `once` (the first time in the whole nginx,
//!   remembered in shared data, so the fresh instance that replaces the failed one does not fail again).
//! - `body`: for `request_body`/`response_body`, `first` (default: the first call) or `last` (the call with
//!   end_of_stream, after earlier chunks went through).
//! - `upstream`, `path`: for `http_call_response`, the call dispatched from `proxy_on_request_headers`
//!   (`GET path` to `upstream`, 1 s timeout); the request waits for it, and goes on in the response callback.
//! - `tick_ms`: for `tick`, the tick period set in `proxy_on_configure`. After a tick that did not fail the plugin
//!   cancels its ticks (logs `hostile: ticks stopped`), so a log shows a fixed number of ticks.
//! - `queue`: for `queue_ready`, the queue registered in `proxy_on_configure`; events dequeue every item and log
//!   `hostile: dequeued <item>`.
//! - `enqueue`: a producer role: each request's `proxy_on_request_headers` enqueues its query string (or `-`) into
//!   that queue (resolved by name).
//!
//! Every callback logs `hostile: <callback> ran` at info when it is entered (body callbacks on their first call
//! only, so the count does not depend on how nginx chunks a body), and `hostile: failing in <callback>
//! (<how>)` just before it fails: a test can tell which callbacks ran after a failure. The SDK's panic hook (a
//! `[crit]` line) is replaced by one that logs the panic at info, so the host's `[error]` line is the only
//! error a failure leaves.

use std::cell::Cell;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Callback {
    RequestHeaders,
    RequestBody,
    ResponseHeaders,
    ResponseBody,
    Log,
    Done,
    HttpCallResponse,
    Tick,
    QueueReady,
}

impl Callback {
    fn name(self) -> &'static str {
        match self {
            Callback::RequestHeaders => "on_request_headers",
            Callback::RequestBody => "on_request_body",
            Callback::ResponseHeaders => "on_response_headers",
            Callback::ResponseBody => "on_response_body",
            Callback::Log => "on_log",
            Callback::Done => "on_done",
            Callback::HttpCallResponse => "on_http_call_response",
            Callback::Tick => "on_tick",
            Callback::QueueReady => "on_queue_ready",
        }
    }
}

#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum How {
    #[default]
    Panic,
    Spin,
    Grow,
}

#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum When {
    #[default]
    Every,
    Header,
    Once,
}

#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Chunk {
    #[default]
    First,
    Last,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    fail: Option<Callback>,
    #[serde(default)]
    how: How,
    #[serde(default)]
    when: When,
    #[serde(default)]
    body: Chunk,
    upstream: Option<String>,
    #[serde(default = "default_path")]
    path: String,
    #[serde(default = "default_tick")]
    tick_ms: u64,
    queue: Option<String>,
    enqueue: Option<String>,
}

fn default_path() -> String {
    "/".into()
}

fn default_tick() -> u64 {
    20
}

fn info(msg: &str) {
    let _ = hostcalls::log(LogLevel::Info, msg);
}

/// Fail the way `how` says. Never returns.
fn fail(callback: Callback, how: How) -> ! {
    info(&format!(
        "hostile: failing in {} ({how:?})",
        callback.name()
    ));
    match how {
        How::Panic => panic!("hostile: panic in {}", callback.name()),
        How::Spin => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        How::Grow => {
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            loop {
                // Kept, and written to once per block: the allocations are real (the memory grows) and cannot
                // be optimised away, and growing to the cap stays well inside a short time_limit even on a
                // loaded machine (touching every page would not).
                let mut block: Vec<u8> = Vec::with_capacity(8 << 20);
                block.push(0x5a);
                blocks.push(std::hint::black_box(block));
                std::hint::black_box(&blocks);
            }
        }
    }
}

/// True the first time `key` is claimed in this nginx (shared data is shared by every worker and every instance).
fn claim_once(key: &str) -> bool {
    match hostcalls::get_shared_data(key) {
        Ok((Some(_), _)) => false,
        _ => hostcalls::set_shared_data(key, Some(b"1"), None).is_ok(),
    }
}

proxy_wasm::main! {{
    // Not proxy_wasm::set_log_level: its panic hook logs every panic at Critical.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("?");
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = hostcalls::log(LogLevel::Info, &format!("hostile: panicked: {msg}{at}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Default)]
struct Root {
    config: Config,
    queue: Option<u32>,
}

impl Root {
    /// Whether a tick or queue event fails now (`header` counts as `once`: there is no request).
    fn fails_now(&self, callback: Callback) -> bool {
        if self.config.fail != Some(callback) {
            return false;
        }
        match self.config.when {
            When::Every => true,
            When::Header | When::Once => claim_once(&format!("hostile:once:{}", callback.name())),
        }
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let raw = if raw.is_empty() { b"{}".to_vec() } else { raw };
        self.config = match serde_json::from_slice(&raw) {
            Ok(c) => c,
            Err(e) => {
                let _ =
                    hostcalls::log(LogLevel::Error, &format!("hostile: bad configuration: {e}"));
                return false;
            }
        };
        if self.config.fail == Some(Callback::HttpCallResponse) && self.config.upstream.is_none() {
            let _ = hostcalls::log(
                LogLevel::Error,
                "hostile: http_call_response needs an upstream",
            );
            return false;
        }
        if self.config.fail == Some(Callback::Tick) {
            self.set_tick_period(Duration::from_millis(self.config.tick_ms));
        }
        if let Some(q) = &self.config.queue {
            self.queue = Some(self.register_shared_queue(q));
        }
        true
    }

    fn on_tick(&mut self) {
        info("hostile: on_tick ran");
        if self.fails_now(Callback::Tick) {
            fail(Callback::Tick, self.config.how);
        }
        if self.config.when != When::Every {
            self.set_tick_period(Duration::ZERO);
            info("hostile: ticks stopped");
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        info("hostile: on_queue_ready ran");
        if self.fails_now(Callback::QueueReady) {
            fail(Callback::QueueReady, self.config.how);
        }
        loop {
            match self.dequeue_shared_queue(queue_id) {
                Ok(Some(item)) => info(&format!(
                    "hostile: dequeued {}",
                    String::from_utf8_lossy(&item)
                )),
                Ok(None) => return,
                Err(e) => {
                    info(&format!("hostile: dequeue: {e:?}"));
                    return;
                }
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            config: self.config.clone(),
            armed: Cell::new(false),
            request_body_seen: Cell::new(false),
            response_body_seen: Cell::new(false),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    config: Config,
    /// Whether this request is one to fail on (decided in proxy_on_request_headers).
    armed: Cell<bool>,
    /// Whether the request and the response body callbacks were entered before.
    request_body_seen: Cell<bool>,
    response_body_seen: Cell<bool>,
}

impl Http {
    fn check(&self, callback: Callback) {
        if self.config.fail == Some(callback) && self.armed.get() {
            fail(callback, self.config.how);
        }
    }

    fn body(&self, callback: Callback, seen: &Cell<bool>, end_of_stream: bool) {
        if !seen.replace(true) {
            info(&format!("hostile: {} ran", callback.name()));
        }
        if self.config.body == Chunk::First || end_of_stream {
            self.check(callback);
        }
    }
}

impl Context for Http {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        num_headers: usize,
        _body_size: usize,
        _num_trailers: usize,
    ) {
        info(&format!(
            "hostile: on_http_call_response ran ({})",
            if num_headers > 0 {
                "answered"
            } else {
                "no answer"
            }
        ));
        self.check(Callback::HttpCallResponse);
        let _ = hostcalls::resume_http_request();
    }

    fn on_done(&mut self) -> bool {
        info("hostile: on_done ran");
        self.check(Callback::Done);
        true
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        info("hostile: on_request_headers ran");
        let armed = match self.config.when {
            When::Every => true,
            When::Header => self.get_http_request_header("x-fail").as_deref() == Some("1"),
            When::Once => self
                .config
                .fail
                .is_some_and(|cb| claim_once(&format!("hostile:once:{}", cb.name()))),
        };
        self.armed.set(armed);
        if let Some(q) = &self.config.enqueue {
            let path = self.get_http_request_header(":path").unwrap_or_default();
            let item = path
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_else(|| "-".into());
            match self.resolve_shared_queue("", q) {
                Some(token) => match self.enqueue_shared_queue(token, Some(item.as_bytes())) {
                    Ok(()) => info(&format!("hostile: enqueued {item}")),
                    Err(e) => info(&format!("hostile: enqueue: {e:?}")),
                },
                None => info(&format!("hostile: no queue {q}")),
            }
        }
        self.check(Callback::RequestHeaders);
        if self.config.fail == Some(Callback::HttpCallResponse) {
            let upstream = self.config.upstream.clone().unwrap_or_default();
            let headers = vec![
                (":method", "GET"),
                (":path", self.config.path.as_str()),
                (":authority", "hostile"),
            ];
            match self.dispatch_http_call(&upstream, headers, None, vec![], Duration::from_secs(1))
            {
                Ok(_) => return Action::Pause,
                Err(e) => info(&format!("hostile: dispatch: {e:?}")),
            }
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, _body_size: usize, end_of_stream: bool) -> Action {
        self.body(
            Callback::RequestBody,
            &self.request_body_seen,
            end_of_stream,
        );
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        info("hostile: on_response_headers ran");
        self.check(Callback::ResponseHeaders);
        Action::Continue
    }

    fn on_http_response_body(&mut self, _body_size: usize, end_of_stream: bool) -> Action {
        self.body(
            Callback::ResponseBody,
            &self.response_body_seen,
            end_of_stream,
        );
        Action::Continue
    }

    fn on_log(&mut self) {
        info("hostile: on_log ran");
        self.check(Callback::Log);
    }
}
