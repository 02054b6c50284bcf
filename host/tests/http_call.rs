//! HTTP calls (`proxy_http_call`): dispatch, delivery of the response to `proxy_on_http_call_response`, and
//! refusals, with the Rust-SDK hostcalls plugin (`t/plugins/hostcalls`) and a hand-written module.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{Action, CallResponse, Error, Plugin};

fn hostcalls() -> Plugin {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../t/plugins/hostcalls.wasm");
    let wasm =
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (run `make plugins` first)"));
    Plugin::load("hostcalls", &wasm, b"", &mut FakeBackend::default()).expect("plugin loads")
}

fn pairs(p: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    p.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

const CONF: &str = r#"{"on_request_headers": [
    {"op": "dispatch", "upstream": "127.0.0.1:8080", "body": "ping", "timeout": 250,
     "headers": [[":method", "POST"], [":path", "/up"], [":authority", "up.test"], ["x-a", "1"]]},
    {"op": "return", "action": "pause"}],
  "on_http_call_response": [{"op": "get", "map": "http_call_response_headers", "key": ":status"},
    {"op": "get_body"}, {"op": "relay", "headers": ["x-up"]}]}"#;

#[test]
fn a_dispatched_call_is_in_the_outcome_and_its_response_reaches_the_plugin() {
    let plugin = hostcalls();
    let root = plugin
        .configure(CONF.as_bytes(), &mut FakeBackend::default())
        .unwrap();
    let mut req = FakeBackend::with_request(&[(":path", "/t"), ("host", "localhost")]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, false).unwrap();
    assert_eq!(outcome.action, Some(Action::Pause));
    assert_eq!(outcome.calls.len(), 1);
    let call = &outcome.calls[0];
    assert_eq!(call.token, 1);
    assert_eq!(call.context_id, http.id());
    assert_eq!(call.upstream, "127.0.0.1:8080");
    assert_eq!(call.method, b"POST");
    assert_eq!(call.path, b"/up");
    assert_eq!(call.scheme, b"http");
    assert_eq!(call.authority, b"up.test");
    assert_eq!(call.headers, pairs(&[("x-a", "1")]));
    assert_eq!(call.body, b"ping");
    assert_eq!(call.timeout_ms, 250);
    assert!(req.logged("dispatch 127.0.0.1:8080 -> Ok token=1"));

    let response = CallResponse {
        headers: pairs(&[(":status", "201"), ("x-up", "yes"), ("x-other", "no")]),
        body: b"pong".to_vec(),
        trailers: Vec::new(),
    };
    let outcome = http.on_http_call_response(&mut req, 1, response).unwrap();
    assert!(req.logged("on_http_call_response token=1 num_headers=3 body_size=4 num_trailers=0"));
    assert!(req.logged("get http_call_response_headers \":status\" -> Ok \"201\""));
    assert!(req.logged("get_body http_call_response_body -> Ok \"pong\""));
    let local = outcome.local_response.expect("relayed as a local response");
    assert_eq!(local.status, 201);
    assert_eq!(local.body, b"pong");
    assert_eq!(local.headers, pairs(&[("x-up", "yes")]));
    assert!(outcome.calls.is_empty());

    // Delivered once: the token is no longer outstanding.
    match http.on_http_call_response(&mut req, 1, CallResponse::default()) {
        Err(Error::BadArgument(m)) => assert!(m.contains("token 1"), "{m}"),
        other => panic!("{other:?}"),
    }
    http.on_log(&mut req).unwrap();
}

#[test]
fn a_failed_call_runs_the_callback_with_zero_headers() {
    let plugin = hostcalls();
    let root = plugin
        .configure(CONF.as_bytes(), &mut FakeBackend::default())
        .unwrap();
    let mut req = FakeBackend::with_request(&[(":path", "/t")]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, false).unwrap();
    let token = outcome.calls[0].token;
    let outcome = http
        .on_http_call_response(&mut req, token, CallResponse::default())
        .unwrap();
    assert!(req.logged("num_headers=0 body_size=0 num_trailers=0"));
    assert!(req.logged("get http_call_response_headers \":status\" -> NotFound"));
    assert_eq!(outcome.local_response.expect("relay").status, 502);
}

#[test]
fn missing_pseudo_headers_take_api7s_defaults() {
    let plugin = hostcalls();
    let conf = r#"{"on_request_headers": [
        {"op": "dispatch", "upstream": "h:1", "headers": [[":path", "rel?a=1"], [":authority", "a"]]},
        {"op": "dispatch", "upstream": "h:1", "headers": []}]}"#;
    let root = plugin
        .configure(conf.as_bytes(), &mut FakeBackend::default())
        .unwrap();
    let mut req = FakeBackend::with_request(&[(":path", "/t")]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, false).unwrap();
    let got: Vec<(&[u8], &[u8], &[u8])> = outcome
        .calls
        .iter()
        .map(|c| {
            (
                c.method.as_slice(),
                c.path.as_slice(),
                c.authority.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (b"GET".as_slice(), b"/rel?a=1".as_slice(), b"a".as_slice()),
            (b"GET".as_slice(), b"/".as_slice(), b"h:1".as_slice())
        ]
    );
}

/// Dispatches two calls from request headers; the call callback answers with status 200 + the context id it
/// was given, and the body size as the body length.
const WAT: &str = r#"(module
  (import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response"
    (func $respond (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "h:1")
  (data (i32.const 200) "\03\00\00\00\07\00\00\00\03\00\00\00\05\00\00\00\01\00\00\00\0a\00\00\00\01\00\00\00:method\00GET\00:path\00/\00:authority\00a\00")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 4096)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $call (i32.const 100) (i32.const 3) (i32.const 200) (i32.const 61)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 300)))
    (drop (call $call (i32.const 100) (i32.const 3) (i32.const 200) (i32.const 61)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 304)))
    i32.const 1)
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
    (drop (call $respond (i32.add (i32.const 200) (local.get 0)) (i32.const 0) (i32.const 0)
      (i32.const 0) (local.get 3) (i32.const 0) (i32.const 0) (i32.const -1)))))"#;

#[test]
fn the_callback_gets_the_root_context_id_and_tokens_are_unique() {
    let plugin = Plugin::load("wat", WAT.as_bytes(), b"", &mut FakeBackend::default()).unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = FakeBackend::with_request(&[(":path", "/t")]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, false).unwrap();
    let tokens: Vec<u32> = outcome.calls.iter().map(|c| c.token).collect();
    assert_eq!(tokens, vec![1, 2]);
    // timeout 0 means the default
    assert_eq!(
        outcome.calls[0].timeout_ms,
        proxy_wasm_host::limits::DEFAULT_HTTP_CALL_TIMEOUT_MS
    );
    assert_eq!(outcome.calls[1].timeout_ms, 5);
    let response = CallResponse {
        headers: pairs(&[(":status", "200")]),
        body: vec![0; 2],
        trailers: Vec::new(),
    };
    let out = http.on_http_call_response(&mut req, 2, response).unwrap();
    let local = out.local_response.unwrap();
    assert_eq!(local.status, 200 + root.id());
    assert_eq!(local.body, vec![0; 2]);
    // A second HTTP context gets fresh tokens, never one still outstanding.
    let mut req2 = FakeBackend::with_request(&[(":path", "/t")]);
    let mut other = root.new_http_context(&mut req2).unwrap();
    let outcome = other.on_request_headers(&mut req2, false).unwrap();
    let tokens: Vec<u32> = outcome.calls.iter().map(|c| c.token).collect();
    assert_eq!(tokens, vec![3, 4]);
    // Token 1 belongs to the first context, not this one.
    assert!(other
        .on_http_call_response(&mut req2, 1, CallResponse::default())
        .is_err());
}
