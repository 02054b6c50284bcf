//! shared_state: a Proxy-Wasm test plugin (Rust SDK 0.2.5) for the state a host shares between workers.
//!
//! Its JSON configuration picks the roles of one root context (any combination):
//!
//! ```json
//! {"count":   {"key": "requests", "metric": "requests_total", "pad": 0},
//!  "report":  {"key": "requests", "metric": "requests_total"},
//!  "produce": {"queue": "jobs", "period": 2, "items": 100, "seq_key": "produced"},
//!  "consume": {"queue": "jobs", "metric": "consumed_total", "seen_prefix": "seen:"},
//!  "probe":   true}
//! ```
//!
//! - `count`: every request adds 1 to shared-data `key` (a decimal string, updated with CAS retries) and to
//!   counter `metric`, and logs `shared_state: count <n>`. With `pad` (optional) the string is padded with
//!   spaces to `pad` bytes, so that every update copies that much under the host's lock.
//! - `report`: answers every request itself with `counter=<value of key> metric=<value of metric>` (200).
//! - `produce`: a tick every `period` ms takes the next number from shared-data `seq_key` (CAS) and enqueues it
//!   into `queue`, until `items` numbers were taken by all workers together: items 1..=items, each once.
//! - `consume`: registers `queue`; on `proxy_on_queue_ready` dequeues every item, counts it in shared-data
//!   `seen_prefix<item>` and in counter `metric`, and logs an error for an item seen twice.
//! - `probe`: each request runs the shared-state host calls with arguments the host must refuse, through the raw
//!   ABI (the SDK panics on statuses it does not expect), and logs `shared_state: probe <what> -> <Status>`.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use serde::Deserialize;

mod raw {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn proxy_get_shared_data(
            key: *const u8,
            key_size: usize,
            value: *mut *mut u8,
            value_size: *mut usize,
            cas: *mut u32,
        ) -> u32;
        pub fn proxy_set_shared_data(
            key: *const u8,
            key_size: usize,
            value: *const u8,
            value_size: usize,
            cas: u32,
        ) -> u32;
        pub fn proxy_register_shared_queue(name: *const u8, size: usize, token: *mut u32) -> u32;
        pub fn proxy_resolve_shared_queue(
            vm_id: *const u8,
            vm_id_size: usize,
            name: *const u8,
            size: usize,
            token: *mut u32,
        ) -> u32;
        pub fn proxy_enqueue_shared_queue(token: u32, data: *const u8, size: usize) -> u32;
        pub fn proxy_dequeue_shared_queue(token: u32, data: *mut *mut u8, size: *mut usize) -> u32;
        pub fn proxy_define_metric(kind: u32, name: *const u8, size: usize, id: *mut u32) -> u32;
        pub fn proxy_increment_metric(id: u32, offset: i64) -> u32;
        pub fn proxy_get_metric(id: u32, value: *mut u64) -> u32;
    }
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Count {
    key: String,
    metric: String,
    #[serde(default)]
    pad: usize,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Report {
    key: String,
    metric: String,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Produce {
    queue: String,
    period: u64,
    items: u64,
    seq_key: String,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Consume {
    queue: String,
    metric: String,
    seen_prefix: String,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    count: Option<Count>,
    report: Option<Report>,
    produce: Option<Produce>,
    consume: Option<Consume>,
    #[serde(default)]
    probe: bool,
}

fn log(level: LogLevel, msg: &str) {
    let _ = hostcalls::log(level, msg);
}

/// The decimal number stored under `key` (what follows its digits, such as padding, ignored), and its cas.
fn read_number(key: &str) -> (Option<u64>, Option<u32>) {
    let (value, cas) = hostcalls::get_shared_data(key).unwrap_or((None, None));
    let n = value.and_then(|v| {
        let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&v[..digits]).ok()?.parse::<u64>().ok()
    });
    (n, cas)
}

/// Add 1 to the decimal number stored under `key` (absent = 0) with CAS retries, padded with spaces to `pad`
/// bytes; the new value.
fn increment(key: &str, pad: usize) -> u64 {
    loop {
        let (n, cas) = read_number(key);
        let n = n.unwrap_or(0) + 1;
        let digits = n.to_string();
        let mut value = vec![b' '; digits.len().max(pad)];
        value[..digits.len()].copy_from_slice(digits.as_bytes());
        match hostcalls::set_shared_data(key, Some(&value), cas) {
            Ok(()) => return n,
            Err(Status::CasMismatch) => continue,
            Err(e) => {
                log(
                    LogLevel::Error,
                    &format!("shared_state: set {key} failed: {e:?}"),
                );
                return 0;
            }
        }
    }
}

fn counter(name: &str) -> Option<u32> {
    match hostcalls::define_metric(MetricType::Counter, name) {
        Ok(id) => Some(id),
        Err(e) => {
            log(
                LogLevel::Error,
                &format!("shared_state: define {name} failed: {e:?}"),
            );
            None
        }
    }
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Default)]
struct Root {
    config: Config,
    count_metric: Option<u32>,
    report_metric: Option<u32>,
    consume_metric: Option<u32>,
    queue: Option<u32>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        self.config = match serde_json::from_slice(&raw) {
            Ok(c) => c,
            Err(e) => {
                log(
                    LogLevel::Error,
                    &format!("shared_state: bad configuration: {e}"),
                );
                return false;
            }
        };
        if let Some(c) = &self.config.count {
            self.count_metric = counter(&c.metric);
        }
        if let Some(r) = &self.config.report {
            self.report_metric = counter(&r.metric);
        }
        if let Some(c) = &self.config.consume {
            self.consume_metric = counter(&c.metric);
            self.queue = Some(self.register_shared_queue(&c.queue));
        }
        if let Some(p) = &self.config.produce {
            self.set_tick_period(Duration::from_millis(p.period));
        }
        true
    }

    fn on_tick(&mut self) {
        let Some(p) = self.config.produce.clone() else {
            return;
        };
        if self.queue.is_none() {
            self.queue = self.resolve_shared_queue("", &p.queue);
        }
        let Some(queue) = self.queue else {
            return; // the consumer has not registered the queue yet
        };
        let n = increment(&p.seq_key, 0);
        if n == 0 || n > p.items {
            self.set_tick_period(Duration::ZERO);
            log(LogLevel::Info, "shared_state: producer done");
            return;
        }
        if let Err(e) = self.enqueue_shared_queue(queue, Some(n.to_string().as_bytes())) {
            log(
                LogLevel::Error,
                &format!("shared_state: enqueue {n} failed: {e:?}"),
            );
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        let Some(c) = self.config.consume.clone() else {
            return;
        };
        loop {
            match self.dequeue_shared_queue(queue_id) {
                Ok(Some(item)) => {
                    let item = String::from_utf8_lossy(&item).into_owned();
                    let seen = increment(&format!("{}{item}", c.seen_prefix), 0);
                    if seen != 1 {
                        log(
                            LogLevel::Error,
                            &format!("shared_state: item {item} dequeued {seen} times"),
                        );
                    }
                    if let Some(id) = self.consume_metric {
                        let _ = hostcalls::increment_metric(id, 1);
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    log(
                        LogLevel::Error,
                        &format!("shared_state: dequeue failed: {e:?}"),
                    );
                    return;
                }
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            count: self.config.count.clone(),
            count_metric: self.count_metric,
            report: self.config.report.clone().zip(self.report_metric),
            probe: self.config.probe,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    count: Option<Count>,
    count_metric: Option<u32>,
    report: Option<(Report, u32)>,
    probe: bool,
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(c) = &self.count {
            let n = increment(&c.key, c.pad);
            if let Some(id) = self.count_metric {
                let _ = hostcalls::increment_metric(id, 1);
            }
            log(LogLevel::Info, &format!("shared_state: count {n}"));
        }
        if self.probe {
            probe();
        }
        if let Some((r, id)) = &self.report {
            let counter = read_number(&r.key).0.unwrap_or(0);
            let metric = hostcalls::get_metric(*id).unwrap_or(0);
            let body = format!("counter={counter} metric={metric}\n");
            self.send_http_response(200, vec![], Some(body.as_bytes()));
            return Action::Pause;
        }
        Action::Continue
    }
}

fn status_name(s: u32) -> String {
    match s {
        0 => "Ok".into(),
        1 => "NotFound".into(),
        2 => "BadArgument".into(),
        6 => "InvalidMemoryAccess".into(),
        7 => "Empty".into(),
        8 => "CasMismatch".into(),
        10 => "InternalFailure".into(),
        12 => "Unimplemented".into(),
        n => format!("Status({n})"),
    }
}

fn say(what: &str, status: u32) {
    log(
        LogLevel::Info,
        &format!("shared_state: probe {what} -> {}", status_name(status)),
    );
}

/// Host calls with arguments a host must refuse, and the cas protocol step by step.
fn probe() {
    let mut ptr: *mut u8 = std::ptr::null_mut();
    let mut len: usize = 0;
    let mut cas: u32 = 0;
    let mut token: u32 = 0;
    let mut id: u32 = 0;
    let mut value: u64 = 0;
    let key = b"probe-key";
    // SAFETY (all calls): the pointers are to locals or deliberately out of bounds (the host checks them).
    unsafe {
        let missing = b"probe-missing";
        say(
            "get missing",
            raw::proxy_get_shared_data(
                missing.as_ptr(),
                missing.len(),
                &mut ptr,
                &mut len,
                &mut cas,
            ),
        );
        say(
            "set",
            raw::proxy_set_shared_data(key.as_ptr(), key.len(), b"a".as_ptr(), 1, 0),
        );
        let s = raw::proxy_get_shared_data(key.as_ptr(), key.len(), &mut ptr, &mut len, &mut cas);
        say(&format!("get cas_nonzero={}", cas != 0), s);
        say(
            "set stale cas",
            raw::proxy_set_shared_data(
                key.as_ptr(),
                key.len(),
                b"b".as_ptr(),
                1,
                cas.wrapping_add(1000),
            ),
        );
        say(
            "set current cas",
            raw::proxy_set_shared_data(key.as_ptr(), key.len(), b"c".as_ptr(), 1, cas),
        );
        say(
            "get bad pointer",
            raw::proxy_get_shared_data(0xFFFF_FFF0 as *const u8, 100, &mut ptr, &mut len, &mut cas),
        );
        let q = b"probe-no-queue";
        say(
            "resolve missing",
            raw::proxy_resolve_shared_queue(b"".as_ptr(), 0, q.as_ptr(), q.len(), &mut token),
        );
        say(
            "dequeue unknown",
            raw::proxy_dequeue_shared_queue(999_999, &mut ptr, &mut len),
        );
        say(
            "enqueue unknown",
            raw::proxy_enqueue_shared_queue(999_999, b"x".as_ptr(), 1),
        );
        let q = b"probe-queue";
        say(
            "register",
            raw::proxy_register_shared_queue(q.as_ptr(), q.len(), &mut token),
        );
        say(
            "dequeue empty",
            raw::proxy_dequeue_shared_queue(token, &mut ptr, &mut len),
        );
        say(
            "define bad type",
            raw::proxy_define_metric(7, b"m".as_ptr(), 1, &mut id),
        );
        let c = b"probe_counter";
        say(
            "define counter",
            raw::proxy_define_metric(0, c.as_ptr(), c.len(), &mut id),
        );
        say(
            "increment counter by -1",
            raw::proxy_increment_metric(id, -1),
        );
        say(
            "get with the wrong type",
            raw::proxy_get_metric(id ^ 1, &mut value),
        );
        let h = b"probe_histogram";
        say(
            "define histogram",
            raw::proxy_define_metric(2, h.as_ptr(), h.len(), &mut id),
        );
        say("get histogram", raw::proxy_get_metric(id, &mut value));
    }
}
