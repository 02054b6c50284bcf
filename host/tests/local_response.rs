//! A local response's `details` (the reason a plugin gives `proxy_send_local_response`) is logged at debug
//! level, and only formatted when the proxy's log records debug lines.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{Backend, HttpBackend, LogLevel, Plugin};

/// Request headers answer 403 with the details `denied by policy`.
const PLUGIN: &str = r#"(module
  (import "env" "proxy_send_local_response" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "denied by policy")
  (data (i32.const 32) "no")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $send (i32.const 403) (i32.const 0) (i32.const 16) (i32.const 32) (i32.const 2)
                      (i32.const 0) (i32.const 0) (i32.const -1)))
    i32.const 1))"#;

/// The fake proxy with its log at `level`.
struct AtLevel(FakeBackend, LogLevel);

impl Backend for AtLevel {
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]) {
        self.0.log(level, plugin, message)
    }

    fn log_level(&self) -> LogLevel {
        self.1
    }

    fn http(&mut self) -> Option<&mut dyn HttpBackend> {
        self.0.http()
    }
}

fn respond(level: LogLevel) -> Vec<(LogLevel, String)> {
    let plugin = Plugin::load("p", PLUGIN.as_bytes(), b"", &mut FakeBackend::default()).unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = AtLevel(FakeBackend::with_request(&[(":path", "/")]), level);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, true).unwrap();
    let response = outcome.local_response.expect("a local response");
    assert_eq!(
        (response.status, response.details.as_slice()),
        (403, b"denied by policy".as_slice())
    );
    req.0.logs
}

#[test]
fn details_are_logged_at_debug_level() {
    assert_eq!(
        respond(LogLevel::Debug),
        [(
            LogLevel::Debug,
            r#"p: proxy_send_local_response: status 403, details "denied by policy""#.to_string()
        )]
    );
}

#[test]
fn details_are_not_logged_when_the_log_records_no_debug_lines() {
    assert_eq!(respond(LogLevel::Info), []);
}
