//! A unary gRPC callout as Envoy plugins make it (Rust SDK `dispatch_grpc_call`): each request asks
//! `test.Echo/Say` on the upstream `grpcbin` with the request's `x-say` header as the message (raw bytes, no
//! protobuf needed by the test service) and `x-md: m1` as metadata, then answers 200 with the reply, or 502
//! with the gRPC status code in `x-grpc-status` and its message as the body. `x-cancel: 1` cancels the call
//! at once and answers 204 itself (the answer of the cancelled call must never reach the plugin).

use std::time::Duration;

use log::info;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Ask) });
}}

struct Ask;

impl HttpContext for Ask {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let say = self.get_http_request_header("x-say").unwrap_or_default();
        let metadata = vec![("x-md", &b"m1"[..])];
        let timeout = Duration::from_millis(2000);
        match self.dispatch_grpc_call("grpcbin", "test.Echo", "Say", metadata, Some(say.as_bytes()), timeout) {
            Ok(token) => {
                if self.get_http_request_header("x-cancel").is_some() {
                    self.cancel_grpc_call(token);
                    info!("cancelled call {token}");
                    self.send_http_response(204, vec![], None);
                }
                Action::Pause
            }
            Err(status) => {
                info!("cannot call: {status:?}");
                self.send_http_response(500, vec![], Some(b"no call\n"));
                Action::Pause
            }
        }
    }
}

impl Context for Ask {
    fn on_grpc_call_response(&mut self, token: u32, status: u32, size: usize) {
        info!("gRPC call {token} answered: status {status}, {size} bytes");
        if status == 0 {
            let reply = self.get_grpc_call_response_body(0, size).unwrap_or_default();
            self.send_http_response(200, vec![("x-grpc-status", "0")], Some(&reply));
            return;
        }
        let (code, message) = self.get_grpc_status();
        let code = code.to_string();
        let body = message.unwrap_or_default();
        self.send_http_response(502, vec![("x-grpc-status", &code)], Some(body.as_bytes()));
    }
}
