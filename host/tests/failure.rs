//! One failure semantics: a plugin that fails on a request is finished for it (its later callbacks run nothing
//! and report nothing), whether it failed in a callback or could not even start on the request; and a tick
//! callback that runs past its period never makes ticks queue up.

mod common;

use std::time::{Duration, Instant};

use common::FakeBackend;
use proxy_wasm_host::{next_timeout, run_due, HttpContext, Plugin};

/// Shaped like an SDK plugin: every HTTP callback exported, each logging its name; request headers trap when
/// the request has a header, response headers always trap.
const EVERY_CALLBACK: &str = r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "request_headers")
  (data (i32.const 16) "request_body")
  (data (i32.const 32) "response_body")
  (data (i32.const 48) "log")
  (data (i32.const 64) "done")
  (data (i32.const 80) "delete")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 15)))
    (if (i32.gt_u (local.get 1) (i32.const 0)) (then unreachable))
    i32.const 0)
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 16) (i32.const 12)))
    i32.const 0)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    unreachable)
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 13)))
    i32.const 0)
  (func (export "proxy_on_log") (param i32)
    (drop (call $log (i32.const 2) (i32.const 48) (i32.const 3))))
  (func (export "proxy_on_done") (param i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 64) (i32.const 4)))
    i32.const 1)
  (func (export "proxy_on_delete") (param i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 6)))))"#;

fn plugin() -> Plugin {
    Plugin::load(
        "every",
        EVERY_CALLBACK.as_bytes(),
        b"",
        &mut FakeBackend::default(),
    )
    .unwrap()
}

#[test]
fn a_plugin_that_failed_on_a_request_runs_nothing_more_for_it() {
    let plugin = plugin();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = FakeBackend::with_request(&[]);
    let mut http = root.new_http_context(&mut req).unwrap();
    assert!(http.on_request_headers(&mut req, false).is_ok());
    // The first failure is returned once, for the proxy to report ...
    assert!(http.on_response_headers(&mut req, false).is_err());
    assert!(http.is_failed());
    let before = req.logs.len();
    // ... and every later callback of that request is skipped, silently.
    for outcome in [
        http.on_response_headers(&mut req, false),
        http.on_response_body(&mut req, b"chunk", true),
        http.on_request_body(&mut req, b"late", true),
    ] {
        let outcome = outcome.unwrap();
        assert!(outcome.finished, "{outcome:?}");
    }
    http.on_log(&mut req).unwrap();
    assert_eq!(&req.logs[before..], &[], "later callbacks ran");
}

#[test]
fn a_failed_start_stands_in_for_the_context_and_skips_everything() {
    let plugin = plugin();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    // A request with a header makes request headers trap: the instance is spent.
    let mut req = FakeBackend::with_request(&[("a", "b")]);
    let mut http = root.new_http_context(&mut req).unwrap();
    assert!(http.on_request_headers(&mut req, true).is_err());
    drop(http);
    // A context that could not be created is replaced by a failed one: nothing runs in it, nothing ends in it.
    let mut stand_in = HttpContext::failed(&root);
    assert!(stand_in.is_failed());
    let mut req = FakeBackend::with_request(&[]);
    assert!(
        stand_in
            .on_request_headers(&mut req, true)
            .unwrap()
            .finished
    );
    stand_in.on_log(&mut req).unwrap();
    drop(stand_in);
    assert!(req.logs.is_empty(), "{:?}", req.logs);
}

#[test]
fn ending_a_context_reports_a_failure_of_its_end_callbacks_once() {
    const DONE_TRAPS: &str = r#"(module
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_done") (param i32) (result i32) unreachable)
      (func (export "proxy_on_log") (param i32) unreachable))"#;
    let plugin = Plugin::load(
        "done",
        DONE_TRAPS.as_bytes(),
        b"",
        &mut FakeBackend::default(),
    )
    .unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = FakeBackend::with_request(&[]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let e = http.on_log(&mut req).unwrap_err();
    assert!(e.to_string().contains("proxy_on_done trapped"), "{e}");
    // proxy_on_log did not run after proxy_on_done failed, and the host logged nothing itself.
    assert!(req.logs.is_empty(), "{:?}", req.logs);
    assert!(http.on_log(&mut req).is_ok());
}

/// Ticks every millisecond and spins 5 ms in each tick.
const SLOW_TICK: &str = r#"(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $ticks (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 1)))
    i32.const 1)
  (func (export "proxy_on_tick") (param i32)
    (local $start i64)
    (drop (call $now (i32.const 0)))
    (local.set $start (i64.load (i32.const 0)))
    (loop $spin
      (drop (call $now (i32.const 0)))
      (br_if $spin (i64.lt_u (i64.sub (i64.load (i32.const 0)) (local.get $start)) (i64.const 5000000))))))"#;

#[test]
fn a_tick_that_overruns_its_period_skips_instead_of_queueing() {
    let mut backend = FakeBackend::default();
    let plugin = Plugin::load("slow", SLOW_TICK.as_bytes(), b"", &mut backend).unwrap();
    let _root = plugin.configure(b"", &mut backend).unwrap();
    std::thread::sleep(Duration::from_millis(2));
    run_due(&mut backend);
    // Just after a 5 ms tick of a 1 ms period, the next one is not due at once: the worker gets its events.
    let next = next_timeout().expect("ticking");
    assert!(next >= Duration::from_micros(500), "next tick in {next:?}");
    // Over 100 ms, a 5 ms tick with a 1 ms gap runs about 16 times, never 100 (no backlog of missed ticks).
    let start = Instant::now();
    let mut ran = 0;
    while start.elapsed() < Duration::from_millis(100) {
        if next_timeout().is_some_and(|d| d.is_zero()) {
            ran += 1;
        }
        run_due(&mut backend);
        std::thread::sleep(Duration::from_micros(200));
    }
    assert!((5..=25).contains(&ran), "{ran} ticks in 100 ms");
    assert!(backend.logs.is_empty(), "{:?}", backend.logs);
}
