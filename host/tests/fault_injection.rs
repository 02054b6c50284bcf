//! The Rust-SDK fault-injection plugin (`t/plugins/fault_injection`, built by `make plugins`) driven through
//! the host core with a fake proxy.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{Action, Error, Plugin};

fn plugin() -> Plugin {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../t/plugins/fault_injection.wasm"
    );
    let wasm =
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (run `make plugins` first)"));
    Plugin::load("fault_injection", &wasm, b"", &mut FakeBackend::default()).expect("plugin loads")
}

#[test]
fn answers_with_configured_status_and_body() {
    let plugin = plugin();
    let mut backend = FakeBackend::default();
    let root = plugin
        .configure(br#"{"body":"hello world","http_status":200}"#, &mut backend)
        .expect("configures");
    let mut req = FakeBackend::with_request(&[(":path", "/t"), ("host", "localhost")]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, true).unwrap();
    assert_eq!(outcome.action, Some(Action::Pause));
    let response = outcome.local_response.expect("a local response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello world");
    http.on_log(&mut req).unwrap();
    assert!(req.logs.is_empty(), "{:?}", req.logs);
}

#[test]
fn refuses_status_below_200_with_a_log_line() {
    let plugin = plugin();
    let mut backend = FakeBackend::default();
    let err = plugin
        .configure(br#"{"body":"x","http_status":100}"#, &mut backend)
        .err()
        .expect("refused");
    assert_eq!(
        err,
        Error::Refused {
            callback: "proxy_on_configure"
        }
    );
    assert!(backend.logged("bad http_status 100"), "{:?}", backend.logs);
}

#[test]
fn refuses_malformed_json() {
    let plugin = plugin();
    let mut backend = FakeBackend::default();
    assert!(plugin.configure(b"{", &mut backend).is_err());
    assert!(backend.logged("bad configuration"), "{:?}", backend.logs);
}

#[test]
fn percentage_lets_some_requests_through() {
    let plugin = plugin();
    let mut backend = FakeBackend::default();
    let root = plugin
        .configure(
            br#"{"body":"x","http_status":403,"percentage":50}"#,
            &mut backend,
        )
        .unwrap();
    let (mut answered, mut passed) = (0, 0);
    for _ in 0..200 {
        let mut req = FakeBackend::with_request(&[(":path", "/")]);
        let mut http = root.new_http_context(&mut req).unwrap();
        match http
            .on_request_headers(&mut req, true)
            .unwrap()
            .local_response
        {
            Some(r) => {
                assert_eq!(r.status, 403);
                answered += 1
            }
            None => passed += 1,
        }
    }
    assert!(
        answered > 20 && passed > 20,
        "answered {answered}, passed {passed}"
    );
}

#[test]
fn contexts_of_two_configurations_are_independent() {
    let plugin = plugin();
    let mut b = FakeBackend::default();
    let a = plugin
        .configure(br#"{"body":"a","http_status":201}"#, &mut b)
        .unwrap();
    let c = plugin
        .configure(br#"{"body":"c","http_status":503}"#, &mut b)
        .unwrap();
    let mut req = FakeBackend::with_request(&[]);
    let ra = a
        .new_http_context(&mut req)
        .unwrap()
        .on_request_headers(&mut req, true)
        .unwrap();
    let rc = c
        .new_http_context(&mut req)
        .unwrap()
        .on_request_headers(&mut req, true)
        .unwrap();
    assert_eq!(ra.local_response.unwrap().body, b"a");
    assert_eq!(rc.local_response.unwrap().status, 503);
}
