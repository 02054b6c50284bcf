//! Unknown imports: an `env.proxy_*` function this host does not define is linked as a stub answering
//! `Unimplemented` (one warning at load names it); any other unknown import still fails the load.

mod common;

use common::FakeBackend;
use proxy_wasm_host::Plugin;

/// Imports an extra host call of an SDK fork and answers request headers with what it returned (Continue when
/// the stub said Unimplemented, 12; an unknown action otherwise).
const FORK: &str = r#"(module
  (import "env" "proxy_redis_call" (func $redis (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_host_features" (func $features (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.ne (call $redis (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                             (i32.const 0) (i32.const 0)) (i32.const 12))
      (then (return (i32.const 7))))
    (if (i32.ne (call $features (i32.const 0) (i32.const 0)) (i32.const 12))
      (then (return (i32.const 7))))
    i32.const 0))"#;

#[test]
fn unknown_proxy_imports_are_stubs_answering_unimplemented() {
    let mut backend = FakeBackend::default();
    let plugin = Plugin::load("fork", FORK.as_bytes(), b"", &mut backend).unwrap();
    let warnings: Vec<&String> = backend.logs.iter().map(|(_, l)| l).collect();
    assert_eq!(
        warnings,
        ["fork: imports host functions this host does not offer, linked as stubs answering Unimplemented: proxy_redis_call, proxy_get_host_features"]
    );
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = FakeBackend::with_request(&[]);
    let mut http = root.new_http_context(&mut req).unwrap();
    let outcome = http.on_request_headers(&mut req, true).unwrap();
    assert_eq!(outcome.action, Some(proxy_wasm_host::Action::Continue));
}

#[test]
fn other_unknown_imports_still_fail_the_load() {
    for (module, name) in [("env", "not_proxy"), ("other", "proxy_x")] {
        let wat = format!(
            r#"(module
  (import "{module}" "{name}" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32)))"#
        );
        let err = Plugin::load("bad", wat.as_bytes(), b"", &mut FakeBackend::default())
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains(&format!("{module}::{name}")),
            "{module}.{name}: {err}"
        );
    }
}
