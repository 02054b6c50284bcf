//! hostcalls: a configuration-driven Proxy-Wasm test plugin (Rust SDK 0.2.5).
//!
//! The plugin configuration (JSON) lists, per callback, the host calls to make and in which order:
//!
//! ```json
//! {"on_request_headers": [{"op": "log_pairs", "map": "request_headers"},
//!                         {"op": "add", "map": "response_headers", "key": "x-a", "value": "1"}],
//!  "on_response_body":   [{"op": "set_body", "mode": "append", "value": "!", "if_eos": true}]}
//! ```
//!
//! Callbacks: `on_configure`, `on_request_headers`, `on_request_body`, `on_response_headers`,
//! `on_response_body`, `on_log`. Every callback logs its entry, and every operation logs its result, at info,
//! in one fixed format that `.t` blocks match with `error_log` / `grep_error_log`:
//!
//! ```text
//! hostcalls: on_request_headers num_headers=5 end_of_stream=false       (callback entry)
//! hostcalls: on_request_headers: get request_headers "x-a" -> Ok "1"      (result: status, then value)
//! hostcalls: on_request_headers: get request_headers "x-b" -> NotFound
//! hostcalls: on_request_headers: request_headers: x-a: 1                  (log_pairs: one line per pair)
//! hostcalls: on_request_headers: request_headers: 6 pairs
//! ```
//!
//! Host calls that can fail are made through the raw ABI imports (not the SDK wrappers, which panic on a status
//! they do not expect), so a test sees the exact status the host returned. Map and buffer types may be given by
//! name or as a raw number (to send the host an unknown type); `local_response` takes any status number.
//!
//! Operations (`"op"`), each accepting `"if_eos": true` to run only when the callback's `end_of_stream` is set:
//! - `log` {`msg`, `level`?: trace|debug|info|warn|error|critical}
//! - `log_pairs` {`map`}, `size` {`map`} (`proxy_get_header_map_size`), `get` {`map`, `key`},
//!   `add` / `replace` {`map`, `key`, `value`}, `remove` {`map`, `key`}, `set_pairs` {`map`, `pairs`: [[k, v]]}
//! - `get_property` {`path`: [segments]}, `set_property` {`path`, `value`?}
//! - `get_body` {`buffer`?, `start`?, `max`?} (default buffer: the callback's body; logs bytes and status)
//! - `buffer_status` {`buffer`?} (`proxy_get_buffer_status`: length and flags)
//! - `set_body` {`buffer`?, `value`, `mode`?: replace|prepend|append (of the buffer as it is now), or `start`/`size`}
//! - `local_response` {`status`, `body`?, `headers`?: [[k, v]], `details`?}
//! - `return` {`action`: continue|pause}: what the callback returns (default continue)
//! - `dispatch` {`upstream`, `headers`: [[k, v]] (pseudo-headers included), `body`?, `timeout`? (ms, default
//!   1000)}: `dispatch_http_call` through the SDK (so the SDK routes the response back here); logs
//!   `dispatch <upstream> -> Ok token=<n>` or the error status
//! - `relay` {`headers`?: [names]}: in `on_http_call_response`, a local response made of the call's response:
//!   its `:status` (502 when the call failed), its body, and the named headers copied
//! - `continue`: `proxy_continue_stream(HttpRequest)`; logs the status
//! - `postpone`: remember this HTTP context (return `pause` after it, as the SDK's `postpone_requests` does);
//!   `resume_postponed` {`stream`?: 0 request (default), 1 response, `close`?: bool}, from a tick or another
//!   request: for each remembered context, `set_effective_context` and the SDK's `resume_http_request` /
//!   `resume_http_response` (or `proxy_close_stream`); logs `resume -> Ok(()) Ok(())` (`close -> Ok(()) Ok`)
//! - `status`: `proxy_get_status`; logs `status -> Ok <code> "<message>"` or the status
//! - `close` {`stream`?: 0 request (default), 1 response}: `proxy_close_stream`; logs the status
//! - `foreign` {`name`, `args`?}: `proxy_call_foreign_function`; logs `foreign "<name>" -> Ok "<result>"` or
//!   the status
//! - `define_metric` {`kind`: counter|gauge|histogram, `name`}: logs `define_metric <kind> "<name>" -> Ok id=<n>`
//!   (the id is kept by kind and name for the next three) or the status; `increment_metric` {`kind`, `name`,
//!   `by`}, `record_metric` {`kind`, `name`, `value`}, `get_metric` {`kind`, `name`}: log the status (and
//!   `get_metric`'s value)
//! - `context_id`: logs `context_id=<this HTTP context> root_id=<its root context>` (`root_id=<n>` alone in root
//!   callbacks)
//! - `write_file` {`path`, `data`}: `std::fs::write` through WASI; logs `write_file "<path>" -> Ok` or
//!   `-> Err <the error>`; `stderr` {`msg`}: writes `msg` and a newline to standard error
//!
//! `on_done` steps run in the root context's `proxy_on_done` (logged as `root on_done root_id=<n>`), which
//! answers `done_result` (default true).
//!
//! `tick_period_ms` asks for ticks; `on_tick` steps run at each (`"if_call": k` at the k-th); a call dispatched
//! there is the root context's, and its answer runs `on_root_http_call_response` (logged as `root
//! on_http_call_response token=...`).
//!
//! `on_http_call_response` logs `on_http_call_response token=<t> num_headers=<h> body_size=<b>
//! num_trailers=<n> call=<k>` (k counts the responses this context received, from 1) and runs its steps; a
//! step with `"if_call": k` runs only for the k-th response.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use std::ptr::null_mut;
use std::rc::Rc;

thread_local! {
    /// The HTTP contexts `postpone` remembered, for `resume_postponed`.
    static POSTPONED: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The ids `define_metric` got, by kind and name.
    static METRICS: std::cell::RefCell<std::collections::HashMap<(MetricKind, String), u32>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

mod raw {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
        pub fn proxy_get_header_map_size(map: u32, size: *mut usize) -> u32;
        pub fn proxy_set_header_map_pairs(map: u32, data: *const u8, size: usize) -> u32;
        pub fn proxy_get_header_map_value(
            map: u32,
            key: *const u8,
            key_size: usize,
            value: *mut *mut u8,
            value_size: *mut usize,
        ) -> u32;
        pub fn proxy_add_header_map_value(
            map: u32,
            key: *const u8,
            key_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map: u32,
            key: *const u8,
            key_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
        pub fn proxy_get_property(
            path: *const u8,
            path_size: usize,
            value: *mut *mut u8,
            value_size: *mut usize,
        ) -> u32;
        pub fn proxy_set_property(
            path: *const u8,
            path_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_get_buffer_bytes(
            buffer: u32,
            start: usize,
            max: usize,
            data: *mut *mut u8,
            size: *mut usize,
        ) -> u32;
        pub fn proxy_get_buffer_status(buffer: u32, length: *mut usize, flags: *mut u32) -> u32;
        pub fn proxy_set_buffer_bytes(
            buffer: u32,
            start: usize,
            size: usize,
            data: *const u8,
            data_size: usize,
        ) -> u32;
        pub fn proxy_continue_stream(stream: u32) -> u32;
        pub fn proxy_close_stream(stream: u32) -> u32;
        pub fn proxy_get_status(
            code: *mut u32,
            message: *mut *mut u8,
            message_size: *mut usize,
        ) -> u32;
        pub fn proxy_call_foreign_function(
            name: *const u8,
            name_size: usize,
            args: *const u8,
            args_size: usize,
            results: *mut *mut u8,
            results_size: *mut usize,
        ) -> u32;
        pub fn proxy_define_metric(
            kind: u32,
            name: *const u8,
            name_size: usize,
            id: *mut u32,
        ) -> u32;
        pub fn proxy_increment_metric(id: u32, offset: i64) -> u32;
        pub fn proxy_record_metric(id: u32, value: u64) -> u32;
        pub fn proxy_get_metric(id: u32, value: *mut u64) -> u32;
        pub fn proxy_send_local_response(
            status: u32,
            details: *const u8,
            details_size: usize,
            body: *const u8,
            body_size: usize,
            headers: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
    }
}

/// A map or buffer type: a name from the spec, or a raw number.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
enum TypeRef {
    Num(u32),
    Name(String),
}

const MAPS: [&str; 8] = [
    "request_headers",
    "request_trailers",
    "response_headers",
    "response_trailers",
    "grpc_receive_initial_metadata",
    "grpc_receive_trailing_metadata",
    "http_call_response_headers",
    "http_call_response_trailers",
];

const BUFFERS: [&str; 9] = [
    "request_body",
    "response_body",
    "downstream_data",
    "upstream_data",
    "http_call_response_body",
    "grpc_receive_buffer",
    "vm_configuration",
    "plugin_configuration",
    "call_data",
];

impl TypeRef {
    fn resolve(&self, names: &[&str]) -> Result<u32, String> {
        match self {
            TypeRef::Num(n) => Ok(*n),
            TypeRef::Name(s) => names
                .iter()
                .position(|n| n == s)
                .map(|i| i as u32)
                .ok_or_else(|| format!("unknown type name {s:?}")),
        }
    }

    fn label(&self) -> String {
        match self {
            TypeRef::Num(n) => format!("type {n}"),
            TypeRef::Name(s) => s.clone(),
        }
    }
}

#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
enum ActionRef {
    Num(u32),
    Name(String),
}

#[derive(Deserialize, Clone, Debug)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Log {
        msg: String,
        level: Option<String>,
    },
    LogPairs {
        map: TypeRef,
    },
    Size {
        map: TypeRef,
    },
    Get {
        map: TypeRef,
        key: String,
    },
    Add {
        map: TypeRef,
        key: String,
        value: String,
    },
    Replace {
        map: TypeRef,
        key: String,
        value: String,
    },
    Remove {
        map: TypeRef,
        key: String,
    },
    SetPairs {
        map: TypeRef,
        pairs: Vec<(String, String)>,
    },
    GetProperty {
        path: Vec<String>,
    },
    SetProperty {
        path: Vec<String>,
        value: Option<String>,
    },
    GetBody {
        buffer: Option<TypeRef>,
        start: Option<u32>,
        max: Option<u32>,
    },
    BufferStatus {
        buffer: Option<TypeRef>,
    },
    SetBody {
        buffer: Option<TypeRef>,
        value: String,
        mode: Option<String>,
        start: Option<u32>,
        size: Option<u32>,
    },
    LocalResponse {
        status: i64,
        body: Option<String>,
        #[serde(default)]
        headers: Vec<(String, String)>,
        details: Option<String>,
    },
    Return {
        action: ActionRef,
    },
    Dispatch {
        upstream: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
        body: Option<String>,
        timeout: Option<u64>,
    },
    Relay {
        #[serde(default)]
        headers: Vec<String>,
    },
    Continue,
    Postpone,
    ResumePostponed {
        #[serde(default)]
        stream: u32,
        /// Close the streams instead (`proxy_close_stream`).
        #[serde(default)]
        close: bool,
    },
    Foreign {
        name: String,
        #[serde(default)]
        args: String,
    },
    Close {
        #[serde(default)]
        stream: u32,
    },
    Status,
    DefineMetric {
        kind: MetricKind,
        name: String,
    },
    IncrementMetric {
        kind: MetricKind,
        name: String,
        by: i64,
    },
    RecordMetric {
        kind: MetricKind,
        name: String,
        value: u64,
    },
    GetMetric {
        kind: MetricKind,
        name: String,
    },
    ContextId,
    WriteFile {
        path: String,
        data: String,
    },
    Stderr {
        msg: String,
    },
}

/// A metric type, named as in the spec (its number is the position).
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    fn label(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

#[derive(Deserialize, Clone, Debug)]
struct Step {
    #[serde(flatten)]
    op: Op,
    #[serde(default)]
    if_eos: bool,
    if_call: Option<u32>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    on_configure: Vec<Step>,
    #[serde(default)]
    on_request_headers: Vec<Step>,
    #[serde(default)]
    on_request_body: Vec<Step>,
    #[serde(default)]
    on_response_headers: Vec<Step>,
    #[serde(default)]
    on_response_body: Vec<Step>,
    #[serde(default)]
    on_log: Vec<Step>,
    #[serde(default)]
    on_http_call_response: Vec<Step>,
    /// Ask for ticks at this period (set in `on_configure`).
    tick_period_ms: Option<u64>,
    #[serde(default)]
    on_tick: Vec<Step>,
    /// The steps for the answer of a call the root context dispatched (from `on_tick`).
    #[serde(default)]
    on_root_http_call_response: Vec<Step>,
    /// The steps of the root context's `proxy_on_done`, and what it answers.
    #[serde(default)]
    on_done: Vec<Step>,
    done_result: Option<bool>,
}

impl Config {
    /// Refuse names that do not resolve, so a typo fails `on_configure` instead of a test silently passing.
    fn check(&self) -> Result<(), String> {
        let all = [
            &self.on_configure,
            &self.on_request_headers,
            &self.on_request_body,
            &self.on_response_headers,
            &self.on_response_body,
            &self.on_log,
            &self.on_http_call_response,
            &self.on_tick,
            &self.on_root_http_call_response,
            &self.on_done,
        ];
        for step in all.into_iter().flatten() {
            match &step.op {
                Op::LogPairs { map }
                | Op::Size { map }
                | Op::Get { map, .. }
                | Op::Add { map, .. }
                | Op::Replace { map, .. }
                | Op::Remove { map, .. }
                | Op::SetPairs { map, .. } => {
                    map.resolve(&MAPS)?;
                }
                Op::GetBody {
                    buffer: Some(b), ..
                }
                | Op::BufferStatus { buffer: Some(b) }
                | Op::SetBody {
                    buffer: Some(b), ..
                } => {
                    b.resolve(&BUFFERS)?;
                }
                Op::Return {
                    action: ActionRef::Name(a),
                } if a != "continue" && a != "pause" => {
                    return Err(format!("unknown action {a:?}"));
                }
                Op::Log { level: Some(l), .. } => {
                    level(l)?;
                }
                Op::SetBody { mode: Some(m), .. }
                    if !matches!(m.as_str(), "replace" | "prepend" | "append") =>
                {
                    return Err(format!("unknown set_body mode {m:?}"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn level(name: &str) -> Result<LogLevel, String> {
    Ok(match name {
        "trace" => LogLevel::Trace,
        "debug" => LogLevel::Debug,
        "info" => LogLevel::Info,
        "warn" => LogLevel::Warn,
        "error" => LogLevel::Error,
        "critical" => LogLevel::Critical,
        other => return Err(format!("unknown log level {other:?}")),
    })
}

fn status_name(s: u32) -> String {
    match s {
        0 => "Ok".into(),
        1 => "NotFound".into(),
        2 => "BadArgument".into(),
        3 => "SerializationFailure".into(),
        4 => "ParseFailure".into(),
        6 => "InvalidMemoryAccess".into(),
        7 => "Empty".into(),
        8 => "CasMismatch".into(),
        10 => "InternalFailure".into(),
        12 => "Unimplemented".into(),
        n => format!("Status({n})"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn log(level: LogLevel, msg: &str) {
    let _ = proxy_wasm::hostcalls::log(level, msg);
}

/// Take ownership of a buffer the host allocated through `proxy_on_memory_allocate`.
fn owned(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() || size == 0 {
        Vec::new()
    } else {
        // SAFETY: the host allocated `size` bytes with this module's allocator (a `Vec<u8>` of that capacity).
        unsafe { Vec::from_raw_parts(data, size, size) }
    }
}

fn encode_map(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

fn decode_map(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let n = u32_at(0)?;
    let mut data = 4 + n * 8;
    let mut pairs = Vec::with_capacity(n);
    for i in 0..n {
        let (kl, vl) = (u32_at(4 + i * 8)?, u32_at(8 + i * 8)?);
        let k = bytes.get(data..data + kl)?.to_vec();
        data += kl + 1;
        let v = bytes.get(data..data + vl)?.to_vec();
        data += vl + 1;
        pairs.push((k, v));
    }
    Some(pairs)
}

/// The callback being run and its arguments, for defaults and log lines.
struct Call {
    name: &'static str,
    body_size: usize,
    end_of_stream: bool,
    body_buffer: Option<u32>,
    /// In `on_http_call_response`: which response of this context this is (from 1).
    call: Option<u32>,
    /// The HTTP context running the steps (none in root callbacks).
    context_id: Option<u32>,
    /// The root context the steps belong to.
    root_id: u32,
}

impl Call {
    fn say(&self, what: &str) {
        log(LogLevel::Info, &format!("hostcalls: {}: {what}", self.name));
    }
}

/// Run `steps`; returns the action the callback must return.
fn run(steps: &[Step], call: &Call) -> u32 {
    let mut action = 0;
    for step in steps {
        if step.if_eos && !call.end_of_stream {
            continue;
        }
        if step.if_call.is_some() && step.if_call != call.call {
            continue;
        }
        if let Some(a) = run_op(&step.op, call) {
            action = a;
        }
    }
    action
}

fn run_op(op: &Op, call: &Call) -> Option<u32> {
    match op {
        Op::DefineMetric { kind, name } => {
            let mut id = 0;
            // SAFETY: the name is a live string, the out-pointer a local.
            let s = unsafe {
                raw::proxy_define_metric(*kind as u32, name.as_ptr(), name.len(), &mut id)
            };
            if s == 0 {
                METRICS.with(|m| m.borrow_mut().insert((*kind, name.clone()), id));
                call.say(&format!(
                    "define_metric {} {name:?} -> Ok id={id}",
                    kind.label()
                ));
            } else {
                call.say(&format!(
                    "define_metric {} {name:?} -> {}",
                    kind.label(),
                    status_name(s)
                ));
            }
        }
        Op::IncrementMetric { kind, name, by } => {
            let id = metric_id(*kind, name);
            // SAFETY: a plain call without pointers.
            let s = unsafe { raw::proxy_increment_metric(id, *by) };
            call.say(&format!(
                "increment_metric {} {name:?} by {by} -> {}",
                kind.label(),
                status_name(s)
            ));
        }
        Op::RecordMetric { kind, name, value } => {
            let id = metric_id(*kind, name);
            // SAFETY: a plain call without pointers.
            let s = unsafe { raw::proxy_record_metric(id, *value) };
            call.say(&format!(
                "record_metric {} {name:?} {value} -> {}",
                kind.label(),
                status_name(s)
            ));
        }
        Op::GetMetric { kind, name } => {
            let id = metric_id(*kind, name);
            let mut value = 0;
            // SAFETY: the out-pointer is a local.
            let s = unsafe { raw::proxy_get_metric(id, &mut value) };
            if s == 0 {
                call.say(&format!(
                    "get_metric {} {name:?} -> Ok {value}",
                    kind.label()
                ));
            } else {
                call.say(&format!(
                    "get_metric {} {name:?} -> {}",
                    kind.label(),
                    status_name(s)
                ));
            }
        }
        Op::ContextId => match call.context_id {
            Some(id) => call.say(&format!("context_id={id} root_id={}", call.root_id)),
            None => call.say(&format!("root_id={}", call.root_id)),
        },
        Op::WriteFile { path, data } => match std::fs::write(path, data) {
            Ok(()) => call.say(&format!("write_file {path:?} -> Ok")),
            Err(e) => call.say(&format!("write_file {path:?} -> Err {e}")),
        },
        Op::Stderr { msg } => eprintln!("{msg}"),
        Op::Status => {
            let mut code: u32 = 0;
            let mut data: *mut u8 = null_mut();
            let mut size: usize = 0;
            // SAFETY: the pointers are to locals; the host allocates the message.
            let s = unsafe { raw::proxy_get_status(&mut code, &mut data, &mut size) };
            let message = owned(data, size);
            if s == 0 {
                call.say(&format!("status -> Ok {code} {:?}", text(&message)));
            } else {
                call.say(&format!("status -> {}", status_name(s)));
            }
        }
        Op::Close { stream } => {
            // SAFETY: a plain call without pointers.
            let s = unsafe { raw::proxy_close_stream(*stream) };
            call.say(&format!("close {stream} -> {}", status_name(s)));
        }
        Op::Foreign { name, args } => {
            let mut data: *mut u8 = null_mut();
            let mut size: usize = 0;
            // SAFETY: the pointers are to live strings and locals; the host allocates the result.
            let s = unsafe {
                raw::proxy_call_foreign_function(
                    name.as_ptr(),
                    name.len(),
                    args.as_ptr(),
                    args.len(),
                    &mut data,
                    &mut size,
                )
            };
            let result = owned(data, size);
            if s == 0 {
                call.say(&format!("foreign {name:?} -> Ok {:?}", text(&result)));
            } else {
                call.say(&format!("foreign {name:?} -> {}", status_name(s)));
            }
        }
        Op::Log { msg, level: l } => {
            let lvl = l
                .as_deref()
                .map(level)
                .transpose()
                .ok()
                .flatten()
                .unwrap_or(LogLevel::Info);
            log(lvl, &format!("hostcalls: {}: {msg}", call.name));
        }
        Op::LogPairs { map } => {
            let kind = map.resolve(&MAPS).ok()?;
            let (mut data, mut size) = (null_mut(), 0);
            // SAFETY: out-pointers are valid locals.
            let s = unsafe { raw::proxy_get_header_map_pairs(kind, &mut data, &mut size) };
            let bytes = owned(data, size);
            if s != 0 {
                call.say(&format!("{}: -> {}", map.label(), status_name(s)));
                return None;
            }
            match decode_map(&bytes) {
                Some(pairs) => {
                    for (k, v) in &pairs {
                        call.say(&format!("{}: {}: {}", map.label(), text(k), text(v)));
                    }
                    call.say(&format!("{}: {} pairs", map.label(), pairs.len()));
                }
                None => call.say(&format!("{}: malformed map from the host", map.label())),
            }
        }
        Op::Size { map } => {
            let kind = map.resolve(&MAPS).ok()?;
            let mut size = 0;
            // SAFETY: out-pointer is a valid local.
            let s = unsafe { raw::proxy_get_header_map_size(kind, &mut size) };
            let value = if s == 0 {
                format!(" {size}")
            } else {
                String::new()
            };
            call.say(&format!(
                "size {} -> {}{value}",
                map.label(),
                status_name(s)
            ));
        }
        Op::Get { map, key } => {
            let kind = map.resolve(&MAPS).ok()?;
            let (mut data, mut size) = (null_mut(), 0);
            // SAFETY: pointers are valid for the call.
            let s = unsafe {
                raw::proxy_get_header_map_value(kind, key.as_ptr(), key.len(), &mut data, &mut size)
            };
            let bytes = owned(data, size);
            let value = if s == 0 {
                format!(" {:?}", text(&bytes))
            } else {
                String::new()
            };
            call.say(&format!(
                "get {} {key:?} -> {}{value}",
                map.label(),
                status_name(s)
            ));
        }
        Op::Add { map, key, value } | Op::Replace { map, key, value } => {
            let kind = map.resolve(&MAPS).ok()?;
            let (verb, f) = if matches!(op, Op::Add { .. }) {
                (
                    "add",
                    raw::proxy_add_header_map_value as unsafe extern "C" fn(_, _, _, _, _) -> _,
                )
            } else {
                ("replace", raw::proxy_replace_header_map_value as _)
            };
            // SAFETY: pointers are valid for the call.
            let s = unsafe { f(kind, key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
            call.say(&format!(
                "{verb} {} {key:?} {value:?} -> {}",
                map.label(),
                status_name(s)
            ));
        }
        Op::Remove { map, key } => {
            let kind = map.resolve(&MAPS).ok()?;
            // SAFETY: pointers are valid for the call.
            let s = unsafe { raw::proxy_remove_header_map_value(kind, key.as_ptr(), key.len()) };
            call.say(&format!(
                "remove {} {key:?} -> {}",
                map.label(),
                status_name(s)
            ));
        }
        Op::SetPairs { map, pairs } => {
            let kind = map.resolve(&MAPS).ok()?;
            let bytes = encode_map(pairs);
            // SAFETY: pointers are valid for the call.
            let s = unsafe { raw::proxy_set_header_map_pairs(kind, bytes.as_ptr(), bytes.len()) };
            call.say(&format!(
                "set_pairs {} ({} pairs) -> {}",
                map.label(),
                pairs.len(),
                status_name(s)
            ));
        }
        Op::GetProperty { path } => {
            let raw_path = path.join("\0");
            let (mut data, mut size) = (null_mut(), 0);
            // SAFETY: pointers are valid for the call.
            let s = unsafe {
                raw::proxy_get_property(raw_path.as_ptr(), raw_path.len(), &mut data, &mut size)
            };
            let bytes = owned(data, size);
            let value = if s == 0 {
                format!(" {:?}", text(&bytes))
            } else {
                String::new()
            };
            call.say(&format!(
                "get_property {} -> {}{value}",
                path.join("."),
                status_name(s)
            ));
        }
        Op::SetProperty { path, value } => {
            let raw_path = path.join("\0");
            let (ptr, len) = value
                .as_ref()
                .map_or((std::ptr::null(), 0), |v| (v.as_ptr(), v.len()));
            // SAFETY: pointers are valid for the call.
            let s = unsafe { raw::proxy_set_property(raw_path.as_ptr(), raw_path.len(), ptr, len) };
            call.say(&format!(
                "set_property {} {:?} -> {}",
                path.join("."),
                value.as_deref().unwrap_or(""),
                status_name(s)
            ));
        }
        Op::GetBody { buffer, start, max } => {
            let (kind, label) = buffer_of(buffer, call)?;
            let (mut data, mut size) = (null_mut(), 0);
            let start = start.unwrap_or(0) as usize;
            let max = max.map_or(call.body_size.max(u32::MAX as usize), |m| m as usize);
            // SAFETY: pointers are valid for the call.
            let s = unsafe { raw::proxy_get_buffer_bytes(kind, start, max, &mut data, &mut size) };
            let bytes = owned(data, size);
            let value = if s == 0 {
                format!(" {:?}", text(&bytes))
            } else {
                String::new()
            };
            call.say(&format!("get_body {label} -> {}{value}", status_name(s)));
        }
        Op::BufferStatus { buffer } => {
            let (kind, label) = buffer_of(buffer, call)?;
            let (mut length, mut flags) = (0usize, 0u32);
            // SAFETY: out-pointers are valid locals.
            let s = unsafe { raw::proxy_get_buffer_status(kind, &mut length, &mut flags) };
            let value = if s == 0 {
                format!(" length={length} flags={flags}")
            } else {
                String::new()
            };
            call.say(&format!(
                "buffer_status {label} -> {}{value}",
                status_name(s)
            ));
        }
        Op::SetBody {
            buffer,
            value,
            mode,
            start,
            size,
        } => {
            let (kind, label) = buffer_of(buffer, call)?;
            // The buffer's current length (earlier operations of this callback may have changed it).
            let (mut current, mut flags) = (0usize, 0u32);
            // SAFETY: out-pointers are valid locals.
            if unsafe { raw::proxy_get_buffer_status(kind, &mut current, &mut flags) } != 0 {
                current = call.body_size;
            }
            let (s0, n0) = match mode.as_deref() {
                Some("prepend") => (0, 0),
                Some("append") => (current, 0),
                _ => (0, current),
            };
            let start = start.map_or(s0, |v| v as usize);
            let size = size.map_or(n0, |v| v as usize);
            // SAFETY: pointers are valid for the call.
            let s = unsafe {
                raw::proxy_set_buffer_bytes(kind, start, size, value.as_ptr(), value.len())
            };
            call.say(&format!(
                "set_body {label} {}:{} {value:?} -> {}",
                start,
                size,
                status_name(s)
            ));
        }
        Op::LocalResponse {
            status,
            body,
            headers,
            details,
        } => {
            let hdrs = encode_map(headers);
            let details = details.as_deref().unwrap_or("");
            let (bptr, blen) = body
                .as_ref()
                .map_or((std::ptr::null(), 0), |b| (b.as_ptr(), b.len()));
            // SAFETY: pointers are valid for the call.
            let s = unsafe {
                raw::proxy_send_local_response(
                    *status as u32,
                    details.as_ptr(),
                    details.len(),
                    bptr,
                    blen,
                    hdrs.as_ptr(),
                    hdrs.len(),
                    -1,
                )
            };
            call.say(&format!("local_response {status} -> {}", status_name(s)));
        }
        Op::Dispatch {
            upstream,
            headers,
            body,
            timeout,
        } => {
            let hdrs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let r = proxy_wasm::hostcalls::dispatch_http_call(
                upstream,
                hdrs,
                body.as_ref().map(|b| b.as_bytes()),
                vec![],
                std::time::Duration::from_millis(timeout.unwrap_or(1000)),
            );
            match r {
                Ok(token) => call.say(&format!("dispatch {upstream} -> Ok token={token}")),
                Err(s) => call.say(&format!("dispatch {upstream} -> {s:?}")),
            }
        }
        Op::Relay { headers } => {
            let (mut data, mut size) = (null_mut(), 0);
            // SAFETY: out-pointers are valid locals.
            let s = unsafe { raw::proxy_get_header_map_pairs(6, &mut data, &mut size) };
            let pairs = if s == 0 {
                decode_map(&owned(data, size)).unwrap_or_default()
            } else {
                Vec::new()
            };
            let status = pairs
                .iter()
                .find(|(k, _)| k == b":status")
                .and_then(|(_, v)| text(v).parse::<u32>().ok())
                .unwrap_or(502);
            let copied: Vec<(String, String)> = pairs
                .iter()
                .filter(|(k, _)| headers.iter().any(|h| h.as_bytes().eq_ignore_ascii_case(k)))
                .map(|(k, v)| (text(k), text(v)))
                .collect();
            let (mut bdata, mut bsize) = (null_mut(), 0);
            // SAFETY: out-pointers are valid locals.
            let bs = unsafe {
                raw::proxy_get_buffer_bytes(4, 0, u32::MAX as usize, &mut bdata, &mut bsize)
            };
            let body = if bs == 0 {
                owned(bdata, bsize)
            } else {
                Vec::new()
            };
            let hdrs = encode_map(&copied);
            // SAFETY: pointers are valid for the call.
            let s = unsafe {
                raw::proxy_send_local_response(
                    status,
                    std::ptr::null(),
                    0,
                    body.as_ptr(),
                    body.len(),
                    hdrs.as_ptr(),
                    hdrs.len(),
                    -1,
                )
            };
            call.say(&format!("relay {status} -> {}", status_name(s)));
        }
        Op::Postpone => {
            if let Some(id) = call.context_id {
                POSTPONED.with(|p| p.borrow_mut().push(id));
                call.say("postpone");
            }
        }
        Op::ResumePostponed { stream, close } => {
            for id in POSTPONED.with(|p| std::mem::take(&mut *p.borrow_mut())) {
                // The SDK's own calls, as its postpone_requests example makes them from a tick.
                let set = proxy_wasm::hostcalls::set_effective_context(id);
                if *close {
                    // SAFETY: a plain call without pointers.
                    let s = unsafe { raw::proxy_close_stream(*stream) };
                    call.say(&format!("close -> {set:?} {}", status_name(s)));
                    continue;
                }
                let resumed = match stream {
                    1 => proxy_wasm::hostcalls::resume_http_response(),
                    _ => proxy_wasm::hostcalls::resume_http_request(),
                };
                call.say(&format!("resume -> {set:?} {resumed:?}"));
            }
        }
        Op::Continue => {
            // SAFETY: no pointers.
            let s = unsafe { raw::proxy_continue_stream(0) };
            call.say(&format!("continue -> {}", status_name(s)));
        }
        Op::Return { action } => {
            return Some(match action {
                ActionRef::Num(n) => *n,
                ActionRef::Name(a) if a == "pause" => 1,
                ActionRef::Name(_) => 0,
            })
        }
    }
    None
}

/// The id `define_metric` got for `kind` and `name` (an id no metric has when it was not defined).
fn metric_id(kind: MetricKind, name: &str) -> u32 {
    METRICS.with(|m| {
        m.borrow()
            .get(&(kind, name.to_string()))
            .copied()
            .unwrap_or(u32::MAX)
    })
}

fn buffer_of(buffer: &Option<TypeRef>, call: &Call) -> Option<(u32, String)> {
    match buffer {
        Some(b) => Some((b.resolve(&BUFFERS).ok()?, b.label())),
        None => match call.body_buffer {
            Some(k) => Some((k, BUFFERS[k as usize].to_string())),
            None => {
                call.say("no body in this callback: name a buffer");
                None
            }
        },
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|id| -> Box<dyn RootContext> {
        Box::new(Root { config: Rc::default(), id, ticks: 0, responses: 0 })
    });
}}

struct Root {
    config: Rc<Config>,
    /// This root context's id.
    id: u32,
    /// Ticks so far (`"if_call": k` in `on_tick` runs at the k-th).
    ticks: u32,
    /// Answers of the root context's own calls so far.
    responses: u32,
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    ) {
        self.responses += 1;
        log(
            LogLevel::Info,
            &format!(
                "hostcalls: root on_http_call_response token={token_id} num_headers={num_headers} body_size={body_size} num_trailers={num_trailers} call={}",
                self.responses
            ),
        );
        let call = Call {
            name: "on_root_http_call_response",
            body_size,
            end_of_stream: true,
            body_buffer: Some(4),
            call: Some(self.responses),
            context_id: None,
            root_id: self.id,
        };
        let config = self.config.clone();
        run(&config.on_root_http_call_response, &call);
    }

    fn on_done(&mut self) -> bool {
        if !self.config.on_done.is_empty() || self.config.done_result.is_some() {
            log(
                LogLevel::Info,
                &format!("hostcalls: root on_done root_id={}", self.id),
            );
            let call = Call {
                name: "on_done",
                body_size: 0,
                end_of_stream: true,
                body_buffer: None,
                call: None,
                context_id: None,
                root_id: self.id,
            };
            let config = self.config.clone();
            run(&config.on_done, &call);
        }
        self.config.done_result.unwrap_or(true)
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let config: Config = match serde_json::from_slice(&raw) {
            Ok(c) => c,
            Err(e) => {
                log(
                    LogLevel::Error,
                    &format!("hostcalls: bad configuration: {e}"),
                );
                return false;
            }
        };
        if let Err(e) = config.check() {
            log(
                LogLevel::Error,
                &format!("hostcalls: bad configuration: {e}"),
            );
            return false;
        }
        let call = Call {
            name: "on_configure",
            body_size: size,
            end_of_stream: true,
            body_buffer: Some(7),
            call: None,
            context_id: None,
            root_id: self.id,
        };
        if !config.on_configure.is_empty() {
            log(
                LogLevel::Info,
                &format!("hostcalls: on_configure configuration_size={size}"),
            );
            run(&config.on_configure, &call);
        }
        if let Some(ms) = config.tick_period_ms {
            self.set_tick_period(std::time::Duration::from_millis(ms));
        }
        self.config = Rc::new(config);
        true
    }

    fn on_tick(&mut self) {
        if self.config.on_tick.is_empty() {
            return;
        }
        self.ticks += 1;
        let call = Call {
            name: "on_tick",
            body_size: 0,
            end_of_stream: true,
            body_buffer: None,
            call: Some(self.ticks),
            context_id: None,
            root_id: self.id,
        };
        let config = self.config.clone();
        run(&config.on_tick, &call);
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            config: self.config.clone(),
            id: context_id,
            root_id: self.id,
            responses: 0,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    config: Rc<Config>,
    /// This context's id (what `postpone` remembers).
    id: u32,
    /// Its root context's id.
    root_id: u32,
    /// HTTP-call responses received so far.
    responses: u32,
}

impl Context for Http {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    ) {
        self.responses += 1;
        log(
            LogLevel::Info,
            &format!(
                "hostcalls: on_http_call_response token={token_id} num_headers={num_headers} body_size={body_size} num_trailers={num_trailers} call={}",
                self.responses
            ),
        );
        let call = Call {
            name: "on_http_call_response",
            body_size,
            end_of_stream: true,
            body_buffer: Some(4),
            call: Some(self.responses),
            context_id: Some(self.id),
            root_id: self.root_id,
        };
        let config = self.config.clone();
        run(&config.on_http_call_response, &call);
    }
}

/// Turn the configured action number into the SDK's `Action` (the SDK can only return Continue and Pause).
fn action(n: u32) -> Action {
    match n {
        1 => Action::Pause,
        _ => Action::Continue,
    }
}

impl Http {
    fn stream(
        &self,
        name: &'static str,
        steps: &[Step],
        size: usize,
        eos: bool,
        body: Option<u32>,
        what: &str,
    ) -> Action {
        log(
            LogLevel::Info,
            &format!("hostcalls: {name} {what}={size} end_of_stream={eos}"),
        );
        let call = Call {
            name,
            body_size: size,
            end_of_stream: eos,
            body_buffer: body,
            call: None,
            context_id: Some(self.id),
            root_id: self.root_id,
        };
        let n = run(steps, &call);
        if n > 1 {
            log(
                LogLevel::Info,
                &format!("hostcalls: {name}: action {n} is not expressible through the SDK; returning Continue"),
            );
        }
        action(n)
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        let config = self.config.clone();
        self.stream(
            "on_request_headers",
            &config.on_request_headers,
            num_headers,
            end_of_stream,
            None,
            "num_headers",
        )
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let config = self.config.clone();
        self.stream(
            "on_request_body",
            &config.on_request_body,
            body_size,
            end_of_stream,
            Some(0),
            "body_size",
        )
    }

    fn on_http_response_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        let config = self.config.clone();
        self.stream(
            "on_response_headers",
            &config.on_response_headers,
            num_headers,
            end_of_stream,
            None,
            "num_headers",
        )
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let config = self.config.clone();
        self.stream(
            "on_response_body",
            &config.on_response_body,
            body_size,
            end_of_stream,
            Some(1),
            "body_size",
        )
    }

    fn on_log(&mut self) {
        if self.config.on_log.is_empty() {
            return;
        }
        log(LogLevel::Info, "hostcalls: on_log");
        let call = Call {
            name: "on_log",
            body_size: 0,
            end_of_stream: true,
            body_buffer: None,
            call: None,
            context_id: None,
            root_id: self.root_id,
        };
        run(&self.config.on_log, &call);
    }
}
