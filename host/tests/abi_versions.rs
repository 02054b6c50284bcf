//! ABI versions: plugins built for Proxy-Wasm 0.1.0, 0.2.0 and 0.2.1 are recognised by their marker export and
//! called with the callback signatures of their version; `malloc` serves as the allocator when
//! `proxy_on_memory_allocate` is absent; 0.1.0's `proxy_get_configuration` and `proxy_continue_request` work.

mod common;

use common::FakeBackend;
use proxy_wasm_host::types::AbiVersion;
use proxy_wasm_host::{Action, Plugin};

/// A plugin for ABI `version` whose request-headers callback takes `params` parameters; configure asks for the
/// configuration through `get_configuration` (a WAT call) and refuses when it does not get 4 bytes.
fn plugin(
    version: &str,
    allocator: &str,
    params: &str,
    get_configuration: &str,
    headers_body: &str,
) -> String {
    format!(
        r#"(module
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_configuration" (func $get_configuration (param i32 i32) (result i32)))
  (import "env" "proxy_continue_request" (func $continue_request (result i32)))
  (import "env" "proxy_continue_stream" (func $continue_stream (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_{version}"))
  (func (export "{allocator}") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop {get_configuration})
    ;; the size written at 104 must be the configuration's 4 bytes
    (i32.eq (i32.load (i32.const 104)) (i32.const 4)))
  (func (export "proxy_on_request_headers") (param {params}) (result i32)
    {headers_body}
    i32.const 0))"#
    )
}

fn run(wat: &str) -> (Plugin, Result<Option<Action>, proxy_wasm_host::Error>) {
    let mut backend = FakeBackend::with_request(&[("a", "b")]);
    let plugin = Plugin::load("abi", wat.as_bytes(), b"", &mut backend).unwrap();
    let root = plugin.configure(b"conf", &mut backend).expect("configured");
    let mut http = root.new_http_context(&mut backend).unwrap();
    let r = http
        .on_request_headers(&mut backend, true)
        .map(|o| o.action);
    (plugin, r)
}

const V1_CONFIG: &str = "(call $get_configuration (i32.const 100) (i32.const 104))";
const V2_CONFIG: &str =
    "(call $get_buffer (i32.const 7) (i32.const 0) (i32.const 100) (i32.const 100) (i32.const 104))";

#[test]
fn abi_0_1_0_plugins_use_two_argument_header_callbacks_and_their_own_calls() {
    let wat = plugin(
        "0_1_0",
        "proxy_on_memory_allocate",
        "i32 i32",
        V1_CONFIG,
        "(if (i32.ne (call $continue_request) (i32.const 0)) (then unreachable))",
    );
    let (plugin, r) = run(&wat);
    assert_eq!(plugin.abi_version(), AbiVersion::V0_1_0);
    assert_eq!(r.unwrap(), Some(Action::Continue));
}

#[test]
fn abi_0_2_0_and_0_2_1_plugins_use_three_argument_header_callbacks() {
    for (version, abi) in [("0_2_0", AbiVersion::V0_2_0), ("0_2_1", AbiVersion::V0_2_1)] {
        let wat = plugin(
            version,
            "proxy_on_memory_allocate",
            "i32 i32 i32",
            V2_CONFIG,
            "(if (i32.ne (call $continue_stream (i32.const 0)) (i32.const 0)) (then unreachable))",
        );
        let (plugin, r) = run(&wat);
        assert_eq!(plugin.abi_version(), abi);
        assert_eq!(r.unwrap(), Some(Action::Continue), "{version}");
    }
}

#[test]
fn a_header_callback_with_the_other_versions_signature_is_refused_at_load() {
    let wat = plugin(
        "0_1_0",
        "proxy_on_memory_allocate",
        "i32 i32 i32",
        V1_CONFIG,
        "",
    );
    let e = Plugin::load("abi", wat.as_bytes(), b"", &mut FakeBackend::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("proxy_on_request_headers"), "{e}");
}

#[test]
fn malloc_serves_as_the_allocator() {
    let wat = plugin("0_2_1", "malloc", "i32 i32 i32", V2_CONFIG, "");
    let (_, r) = run(&wat);
    assert_eq!(r.unwrap(), Some(Action::Continue));
}
