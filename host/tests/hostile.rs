//! Hostile guests: every host function called with out-of-bounds, overflowing pointers and lengths (and
//! nonsense enum values) must answer a non-Ok status, never trap the guest, never panic the host.

mod common;

use common::{FakeBackend, HOST_FUNCTIONS as FUNCTIONS};
use proxy_wasm_host::Plugin;

/// A plugin whose configure calls `name` with every argument set to `value` and succeeds only when the host
/// answered something other than Ok (0).
fn plugin_calling(module: &str, name: &str, arity: usize, wide: &[usize], value: i64) -> String {
    let ty = |i: usize| if wide.contains(&i) { "i64" } else { "i32" };
    let params: Vec<&str> = (0..arity).map(ty).collect();
    let args: String = (0..arity)
        .map(|i| format!("({}.const {value}) ", ty(i)))
        .collect();
    format!(
        r#"(module
  (import "{module}" "{name}" (func $f (param {params}) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.ne (call $f {args}) (i32.const 0))))"#,
        params = params.join(" ")
    )
}

#[test]
fn every_host_function_refuses_hostile_pointers_without_trapping() {
    // Just below 4 GiB, or the last byte of the 64 KiB memory: any pointer + length overflows or leaves it.
    for value in [-16i64, -1, 65_535] {
        for (module, name, arity, wide) in FUNCTIONS {
            let wat = plugin_calling(module, name, *arity, wide, value);
            let mut backend = FakeBackend::with_request(&[("a", "b")]);
            let plugin = Plugin::load("hostile", wat.as_bytes(), b"", &mut backend)
                .unwrap_or_else(|e| panic!("{module}.{name}: {e}"));
            if let Err(e) = plugin.configure(b"conf", &mut backend) {
                panic!("{module}.{name}({value}, ...) was accepted or trapped: {e}");
            }
        }
    }
}

fn load_and_run(wat: &str) -> (Result<(), proxy_wasm_host::Error>, FakeBackend) {
    let mut backend = FakeBackend::with_request(&[("a", "b")]);
    let plugin = Plugin::load("hostile", wat.as_bytes(), b"", &mut backend).unwrap();
    let root = match plugin.configure(b"conf", &mut backend) {
        Ok(r) => r,
        Err(e) => return (Err(e), backend),
    };
    let r = root
        .new_http_context(&mut backend)
        .and_then(|mut http| http.on_request_headers(&mut backend, true).map(|_| ()));
    (r, backend)
}

/// A plugin whose `proxy_on_request_headers` asks for the header map and answers 0 when it got a non-Ok
/// status (the expected refusal), traps otherwise; its allocator is `ALLOC`.
fn with_allocator(alloc: &str) -> String {
    format!(
        r#"(module
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) {alloc})
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $pairs (i32.const 0) (i32.const 100) (i32.const 104))) (then unreachable))
    i32.const 0))"#
    )
}

#[test]
fn an_allocator_returning_null_or_a_wild_pointer_gets_a_refusal() {
    for alloc in ["i32.const 0", "i32.const -16", "i32.const 65530"] {
        let (r, _) = load_and_run(&with_allocator(alloc));
        assert!(r.is_ok(), "allocator {alloc}: {r:?}");
    }
}

#[test]
fn a_reentrant_allocator_ends_in_a_trap_not_a_crash() {
    // The allocator asks for the header map again, which calls the allocator again, and so on.
    let alloc = "(drop (call $pairs (i32.const 0) (i32.const 100) (i32.const 104))) i32.const 1024";
    let (r, _) = load_and_run(&with_allocator(alloc));
    match r {
        Err(proxy_wasm_host::Error::Trap { message, .. }) => {
            assert!(message.contains("stack"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_module_without_memory_is_refused_at_load() {
    let wat = r#"(module
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_context_create") (param i32 i32)))"#;
    let e = Plugin::load("t", wat.as_bytes(), b"", &mut FakeBackend::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("memory"), "{e}");
}

#[test]
fn an_endless_loop_in_any_callback_is_interrupted() {
    proxy_wasm_host::start_epoch_ticker();
    for callback in [
        "(func (export \"_initialize\") (loop $l (br $l)))",
        "(func (export \"proxy_on_context_create\") (param i32 i32) (loop $l (br $l)))",
        "(func (export \"proxy_on_vm_start\") (param i32 i32) (result i32) (loop $l (br $l)) i32.const 1)",
        "(func (export \"proxy_on_configure\") (param i32 i32) (result i32) (loop $l (br $l)) i32.const 1)",
        "(func (export \"proxy_on_request_headers\") (param i32 i32 i32) (result i32) (loop $l (br $l)) i32.const 0)",
    ] {
        let create = if callback.contains("proxy_on_context_create") {
            ""
        } else {
            "(func (export \"proxy_on_context_create\") (param i32 i32))"
        };
        let wat = format!(
            r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  {create}
  {callback})"#
        );
        let mut backend = FakeBackend::with_request(&[("a", "b")]);
        let started = std::time::Instant::now();
        let r = Plugin::load("loop", wat.as_bytes(), b"", &mut backend).and_then(|p| {
            let root = p.configure(b"", &mut backend)?;
            let mut http = root.new_http_context(&mut backend)?;
            http.on_request_headers(&mut backend, true).map(|_| ())
        });
        let e = r.expect_err(callback).to_string();
        assert!(e.contains("time limit"), "{callback}: {e}");
        assert!(started.elapsed().as_millis() < 2000, "{callback}");
    }
}

#[test]
fn a_flood_of_log_lines_is_cut_at_the_limit_with_one_warning() {
    let wat = r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "flood")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $i i32)
    (loop $l
      (drop (call $log (i32.const 2) (i32.const 16) (i32.const 5)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5000))))
    i32.const 0))"#;
    let (r, backend) = load_and_run(wat);
    assert!(r.is_ok(), "{r:?}");
    let floods = backend
        .logs
        .iter()
        .filter(|(_, l)| l.ends_with("flood"))
        .count();
    assert_eq!(floods, 200);
    assert!(
        backend.logged(
            "proxy_on_request_headers: 4800 more log line(s) dropped (at most 200 per callback)"
        ),
        "{:?}",
        backend.logs.last()
    );
}

#[test]
fn a_giant_local_response_or_header_map_is_refused() {
    // Body length past the limit, then a header map whose count claims a billion pairs.
    let wat = r#"(module
  (import "env" "proxy_send_local_response" (func $respond (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $set (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\00\ca\9a\3b")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $respond (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x7fffffff)
                                (i32.const 0) (i32.const 0) (i32.const -1))) (then unreachable))
    (if (i32.eqz (call $set (i32.const 0) (i32.const 64) (i32.const 4))) (then unreachable))
    i32.const 0))"#;
    let (r, _) = load_and_run(wat);
    assert!(r.is_ok(), "{r:?}");
}
