//! The shape of the Rust SDK's `http_auth_random` example, written for this host's tests: every request waits
//! while the plugin asks the cluster `httpbin` (an nginx `upstream {}` of that name here; a cluster on Envoy)
//! for one byte; an even byte lets the request in, anything else (or a failed call) answers 403. Each response
//! gets a `Powered-By` header. Unmodified Envoy-style code: the cluster is named, never addressed.

use std::time::Duration;

use log::info;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Gate) });
}}

struct Gate;

impl HttpContext for Gate {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let headers = vec![
            (":method", "GET"),
            (":path", "/bytes/1"),
            (":authority", "httpbin.org"),
        ];
        match self.dispatch_http_call("httpbin", headers, None, vec![], Duration::from_secs(5)) {
            Ok(_) => Action::Pause,
            Err(status) => {
                info!("cannot ask httpbin: {status:?}");
                self.send_http_response(503, vec![], Some(b"no gate\n"));
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        self.set_http_response_header("Powered-By", Some("proxy-wasm"));
        Action::Continue
    }
}

impl Context for Gate {
    fn on_http_call_response(&mut self, _: u32, _: usize, body_size: usize, _: usize) {
        let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
        if body.first().is_some_and(|b| b % 2 == 0) {
            info!("access granted");
            self.resume_http_request();
            return;
        }
        info!("access forbidden");
        self.send_http_response(403, vec![("Powered-By", "proxy-wasm")], Some(b"Access forbidden.\n"));
    }
}
