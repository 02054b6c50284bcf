//! Fault injection with APISIX's `abort` semantics: answer the request with a configured status and body.
//!
//! Configuration: `{"http_status": 403, "body": "...", "percentage": 50}`. `http_status` is required and must be
//! at least 200; `body` defaults to empty (nginx then sends its own error page); `percentage` (1..=100) makes
//! the plugin answer only that share of requests and let the others through.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use std::rc::Rc;

#[derive(Deserialize)]
struct Config {
    http_status: u32,
    #[serde(default)]
    body: String,
    percentage: Option<u32>,
}

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(FaultInjectionRoot { config: None }) });
}}

struct FaultInjectionRoot {
    config: Option<Rc<Config>>,
}

impl Context for FaultInjectionRoot {}

impl RootContext for FaultInjectionRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let Some(raw) = self.get_plugin_configuration() else {
            proxy_wasm::hostcalls::log(LogLevel::Error, "fault injection: missing configuration").ok();
            return false;
        };
        let config: Config = match serde_json::from_slice(&raw) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("fault injection: bad configuration: {e}");
                proxy_wasm::hostcalls::log(LogLevel::Error, &msg).ok();
                return false;
            }
        };
        if config.http_status < 200 {
            let msg = format!("fault injection: bad http_status {}: must be at least 200", config.http_status);
            proxy_wasm::hostcalls::log(LogLevel::Error, &msg).ok();
            return false;
        }
        if let Some(p) = config.percentage {
            if p == 0 || p > 100 {
                let msg = format!("fault injection: bad percentage {p}: must be within 1..=100");
                proxy_wasm::hostcalls::log(LogLevel::Error, &msg).ok();
                return false;
            }
        }
        self.config = Some(Rc::new(config));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(FaultInjection {
            config: self.config.clone()?,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct FaultInjection {
    config: Rc<Config>,
}

impl Context for FaultInjection {}

impl FaultInjection {
    /// A number in 1..=100, from the host's clock (good enough to spread requests; not cryptographic).
    fn roll(&self) -> u32 {
        let nanos = self
            .get_current_time()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut x = nanos ^ 0x9e37_79b9;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x % 100 + 1
    }
}

impl HttpContext for FaultInjection {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(p) = self.config.percentage {
            if self.roll() > p {
                return Action::Continue;
            }
        }
        let body = (!self.config.body.is_empty()).then_some(self.config.body.as_bytes());
        self.send_http_response(self.config.http_status, vec![], body);
        Action::Pause
    }
}
