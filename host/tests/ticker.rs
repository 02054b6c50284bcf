//! The epoch ticker sleeps while the process runs no guest code, and the first call after that still gets its
//! deadline. A test binary of its own: calls from other tests would keep the ticker awake.

mod common;

use std::time::{Duration, Instant};

use common::FakeBackend;
use proxy_wasm_host::{epoch_ticker_parked, start_epoch_ticker, Error, Plugin, PluginOptions};

/// Request headers: loops forever when the request has headers, answers Continue when it has none.
const SPIN: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.gt_u (local.get 1) (i32.const 0)) (then (loop $forever (br $forever))))
    i32.const 0))"#;

#[test]
fn an_idle_ticker_parks_and_the_next_call_still_gets_its_deadline() {
    start_epoch_ticker();
    let options = PluginOptions {
        time_limit_ms: 30,
        ..PluginOptions::default()
    };
    let plugin = Plugin::load_with(
        "spin",
        SPIN.as_bytes(),
        b"",
        options,
        &mut FakeBackend::default(),
    )
    .unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut quiet = FakeBackend::default();
    let mut http = root.new_http_context(&mut quiet).unwrap();
    http.on_request_headers(&mut quiet, true).unwrap();
    assert!(!epoch_ticker_parked(), "parked right after a call");

    // About a second without calls parks the ticker.
    let waited = Instant::now();
    while !epoch_ticker_parked() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the ticker did not park"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut busy = FakeBackend::with_request(&[("a", "1")]);
    let mut http = root.new_http_context(&mut busy).unwrap();
    let started = Instant::now();
    match http.on_request_headers(&mut busy, true) {
        Err(Error::Trap { message, .. }) => {
            assert_eq!(message, "interrupted: ran past its time limit of 30 ms")
        }
        other => panic!("{other:?}"),
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(30), "after {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "after {elapsed:?}");
}
