//! A root context's configuration stays readable after `proxy_on_configure`, by the root context and by the
//! HTTP contexts made from it (as api7's host keeps it; its plugins read it in HTTP callbacks), each context
//! seeing its own root's configuration.

mod common;

use common::FakeBackend;
use proxy_wasm_host::Plugin;

/// Request headers read the plugin configuration and answer with a local response carrying it.
const READS_CONFIG: &str = r#"(module
  (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get 0)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $status i32)
    (local.set $status (call $get (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 100) (i32.const 104)))
    (if (local.get $status)
      (then (drop (call $send (i32.add (i32.const 500) (local.get $status)) (i32.const 0) (i32.const 0)
                              (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
            (return (i32.const 1))))
    (drop (call $send (i32.const 200) (i32.const 0) (i32.const 0)
                      (i32.load (i32.const 100)) (i32.load (i32.const 104))
                      (i32.const 0) (i32.const 0) (i32.const -1)))
    i32.const 1))"#;

#[test]
fn each_http_context_reads_its_root_contexts_configuration() {
    let plugin = Plugin::load(
        "conf",
        READS_CONFIG.as_bytes(),
        b"",
        &mut FakeBackend::default(),
    )
    .unwrap();
    let a = plugin
        .configure(b"first", &mut FakeBackend::default())
        .unwrap();
    let b = plugin
        .configure(b"second", &mut FakeBackend::default())
        .unwrap();
    for (root, want) in [
        (&a, b"first".as_slice()),
        (&b, b"second".as_slice()),
        (&a, b"first".as_slice()),
    ] {
        let mut req = FakeBackend::with_request(&[]);
        let mut http = root.new_http_context(&mut req).unwrap();
        let resp = http
            .on_request_headers(&mut req, true)
            .unwrap()
            .local_response
            .expect("answered");
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (200, want),
            "{:?}",
            req.logs
        );
    }
}
