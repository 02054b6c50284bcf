//! Loading hostile or broken modules: every failure is an `Error` naming the cause, never a panic.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{Error, Plugin};

fn load(wat: &str) -> Result<Plugin, Error> {
    Plugin::load("t", wat.as_bytes(), b"", &mut FakeBackend::default())
}

const MINIMAL: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
"#;

fn module(extra: &str) -> String {
    format!("{MINIMAL}{extra})")
}

fn load_err(wat: &str) -> String {
    match load(wat) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn not_wasm_is_refused() {
    let e = Plugin::load("t", b"hello", b"", &mut FakeBackend::default())
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "not a WebAssembly module");
}

#[test]
fn missing_abi_marker_is_refused() {
    let e = load_err(r#"(module (memory (export "memory") 1))"#);
    assert!(e.contains("not a Proxy-Wasm plugin"), "{e}");
}

#[test]
fn unknown_import_is_named() {
    let e = load_err(
        &module(r#"(import "env" "teleport" (func (param i32) (result i32)))"#)
            .replacen(
                "(module",
                "(module (import \"env\" \"teleport\" (func (param i32) (result i32)))",
                1,
            )
            .replacen(
                r#"(import "env" "teleport" (func (param i32) (result i32))))"#,
                ")",
                1,
            ),
    );
    assert!(e.contains("teleport"), "{e}");
}

#[test]
fn wrong_callback_signature_is_refused() {
    let e = load_err(&module(
        r#"(func (export "proxy_on_configure") (param i32) (result i32) i32.const 1)"#,
    ));
    assert!(
        e.contains("proxy_on_configure") && e.contains("wrong signature"),
        "{e}"
    );
}

#[test]
fn minimal_plugin_loads_and_configures() {
    let p = load(&module("")).expect("loads");
    p.configure(b"conf", &mut FakeBackend::default())
        .expect("configures");
}

#[test]
fn trap_in_configure_is_reported_and_the_trapped_instance_is_not_reused() {
    let p = load(&module(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32) unreachable)"#,
    ))
    .unwrap();
    let mut b = FakeBackend::default();
    for _ in 0..2 {
        match p.configure(b"x", &mut b) {
            Err(Error::Trap { callback, .. }) => assert_eq!(callback, "proxy_on_configure"),
            other => panic!("{:?}", other.err()),
        }
    }
    // The second attempt ran in a fresh instance, not in the trapped one.
    assert!(
        b.logged("a fresh instance replaces the one that trapped"),
        "{:?}",
        b.logs
    );
}

#[test]
fn log_with_out_of_bounds_pointer_returns_invalid_memory_access() {
    // proxy_log(level 2, ptr 0xffff_fff0, len 64) must return 6 (InvalidMemoryAccess); configure then
    // returns 1 only when it did.
    let p = load(
        &module(
            r#"(import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
           (func (export "proxy_on_configure") (param i32 i32) (result i32)
             (i32.eq (call $log (i32.const 2) (i32.const -16) (i32.const 64)) (i32.const 6)))"#,
        )
        .replacen(
            "(module",
            r#"(module (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))"#,
            1,
        )
        .replacen(
            r#"(import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
           (func"#,
            "(func",
            1,
        ),
    )
    .expect("loads");
    p.configure(b"", &mut FakeBackend::default())
        .expect("status 6 seen by the guest");
}
