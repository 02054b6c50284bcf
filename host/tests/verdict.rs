//! The one outcome policy (`HttpContext::decide`): what each kind of callback result means for the request in
//! each phase and under each failure policy, and the exact line logged for what it drops or refuses.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{FailurePolicy, HttpContext, Phase, Plugin, RootContext, Verdict};

/// Request and response header callbacks do what the request's first header asks (`x-do: <what>`); a local
/// response carries `hi`.
const PLUGIN: &str = r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-do")
  (data (i32.const 16) "hi")
  (data (i32.const 32) "127.0.0.1:1")
  ;; a call's headers: :method GET, :path /, :authority a
  (data (i32.const 64) "\03\00\00\00\07\00\00\00\03\00\00\00\05\00\00\00\01\00\00\00\0a\00\00\00\01\00\00\00:method\00GET\00:path\00/\00:authority\00a\00")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $act (result i32)
    (local $v i32) (local $c i32)
    (if (call $get (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 200) (i32.const 204))
      (then (return (i32.const 0))))
    (local.set $v (i32.load (i32.const 200)))
    (local.set $c (i32.load8_u (local.get $v)))
    ;; r: local response; c: an HTTP call; b: a call and a local response; x: close with a call; p: pause
    (if (i32.eq (local.get $c) (i32.const 114))
      (then (drop (call $send (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 2)
                              (i32.const 0) (i32.const 0) (i32.const -1)))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 99)) (i32.or (i32.eq (local.get $c) (i32.const 98))
                                                                 (i32.eq (local.get $c) (i32.const 120))))
      (then (drop (call $call (i32.const 32) (i32.const 11) (i32.const 64) (i32.const 61) (i32.const 0)
                              (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 300)))))
    (if (i32.eq (local.get $c) (i32.const 98))
      (then (drop (call $send (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 2)
                              (i32.const 0) (i32.const 0) (i32.const -1)))))
    (if (i32.eq (local.get $c) (i32.const 120)) (then (drop (call $close (i32.const 0)))))
    (i32.eq (local.get $c) (i32.const 112)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $act))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $act))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (drop (call $send (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 2)
                      (i32.const 0) (i32.const 0) (i32.const -1)))
    i32.const 0))"#;

fn root() -> (Plugin, RootContext) {
    let plugin = Plugin::load("p", PLUGIN.as_bytes(), b"", &mut FakeBackend::default()).unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    (plugin, root)
}

/// Run request headers (or response headers) of a request with `x-do: what` and decide.
fn decide(
    what: &str,
    response: bool,
    policy: FailurePolicy,
) -> (Verdict, FakeBackend, HttpContext) {
    let (_plugin, root) = root();
    let mut req = FakeBackend::with_request(&[("x-do", what)]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let (phase, result) = if response {
        req.request
            .as_mut()
            .unwrap()
            .response_headers
            .push((b"x-do".to_vec(), what.as_bytes().to_vec()));
        (
            Phase::ResponseHeaders,
            http.on_response_headers(&mut req, false),
        )
    } else {
        (
            Phase::RequestHeaders,
            http.on_request_headers(&mut req, false),
        )
    };
    let verdict = http.decide(&mut req, phase, result, policy);
    (verdict, req, http)
}

fn lines(req: &FakeBackend) -> Vec<String> {
    req.logs.iter().map(|(_, l)| l.clone()).collect()
}

#[test]
fn nothing_to_do_continues_silently() {
    let (v, req, _) = decide("-", false, FailurePolicy::Closed);
    assert_eq!(v, Verdict::Continue { body: None });
    assert!(req.logs.is_empty(), "{:?}", req.logs);
}

#[test]
fn a_call_from_a_request_callback_is_waited_for() {
    let (v, req, _) = decide("c", false, FailurePolicy::Closed);
    let Verdict::Wait { calls, body: None } = v else {
        panic!("{v:?}")
    };
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].upstream, "127.0.0.1:1");
    assert!(req.logs.is_empty(), "{:?}", req.logs);
}

const REFUSED: &str = "p: proxy_http_call: HTTP calls cannot be dispatched from a response callback (the response cannot wait for them)";

#[test]
fn a_call_from_a_response_callback_is_refused_with_one_line() {
    let (v, req, _) = decide("c", true, FailurePolicy::Closed);
    assert_eq!(v, Verdict::Continue { body: None });
    assert_eq!(lines(&req), [REFUSED]);
}

#[test]
fn a_local_response_wins_over_calls_in_both_header_phases() {
    for response in [false, true] {
        let (v, req, _) = decide("b", response, FailurePolicy::Closed);
        let Verdict::Respond(resp) = v else {
            panic!("{v:?}")
        };
        assert_eq!((resp.status, resp.body.as_slice()), (200, b"hi".as_slice()));
        // (From the response callback the call was refused when dispatched.)
        let why = if response {
            REFUSED
        } else {
            "p: 1 HTTP call(s) dropped: the plugin answered with a local response"
        };
        assert_eq!(lines(&req), [why]);
    }
}

#[test]
fn a_close_wins_over_calls() {
    let (v, req, _) = decide("x", false, FailurePolicy::Open);
    assert_eq!(v, Verdict::Close);
    assert_eq!(
        lines(&req),
        [
            "p: 1 HTTP call(s) dropped: the plugin closed the stream",
            "p: proxy_on_request_headers: the plugin closed the stream"
        ]
    );
}

#[test]
fn pause_holds_a_request_and_a_response_header_phase() {
    // (Where the entrance cannot hold a response, Lua's header filter, it goes on and logs so itself.)
    for response in [false, true] {
        let (v, req, _) = decide("p", response, FailurePolicy::Closed);
        assert_eq!(v, Verdict::Pause { body: None });
        assert!(req.logs.is_empty(), "{:?}", req.logs);
    }
}

#[test]
fn a_local_response_from_the_body_is_a_failure_under_each_policy() {
    for (policy, verdict, consequence) in [
        (
            FailurePolicy::Closed,
            Verdict::Fail,
            "failing the request (proxy_wasm_failure closed)",
        ),
        (
            FailurePolicy::Open,
            Verdict::Continue { body: None },
            "continuing without it (proxy_wasm_failure open)",
        ),
        (FailurePolicy::Caller, Verdict::Fail, "the call fails"),
    ] {
        let (_plugin, root) = root();
        let mut req = FakeBackend::with_request(&[]);
        let mut http = root.new_http_context(&mut req).unwrap();
        let result = http.on_response_body(&mut req, b"chunk", true);
        assert_eq!(
            http.decide(&mut req, Phase::ResponseBody, result, policy),
            verdict
        );
        assert_eq!(
            lines(&req),
            [format!(
                "p: proxy_on_response_body failed: a local response from proxy_on_response_body is refused: the response headers are sent already; {consequence}"
            )]
        );
        // Finished for the request: the next callback runs nothing and says nothing.
        let later = http.on_response_body(&mut req, b"more", true);
        assert_eq!(
            http.decide(&mut req, Phase::ResponseBody, later, policy),
            Verdict::Continue { body: None }
        );
        assert_eq!(req.logs.len(), 1);
    }
}

#[test]
fn a_trap_is_reported_once_with_the_policy() {
    const TRAP: &str = r#"(module
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)
      (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) unreachable))"#;
    let plugin = Plugin::load("t", TRAP.as_bytes(), b"", &mut FakeBackend::default()).unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = FakeBackend::with_request(&[]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let result = http.on_request_headers(&mut req, true);
    assert_eq!(
        http.decide(
            &mut req,
            Phase::RequestHeaders,
            result,
            FailurePolicy::Closed
        ),
        Verdict::Fail
    );
    let result = http.on_response_headers(&mut req, true);
    assert_eq!(
        http.decide(
            &mut req,
            Phase::ResponseHeaders,
            result,
            FailurePolicy::Closed
        ),
        Verdict::Continue { body: None }
    );
    let all = lines(&req);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0]
            .starts_with("t: proxy_on_request_headers failed: proxy_on_request_headers trapped: ")
            && all[0].ends_with("; failing the request (proxy_wasm_failure closed)"),
        "{all:?}"
    );
}
