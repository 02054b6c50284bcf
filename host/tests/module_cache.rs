//! Compiled modules are reused by content: a second load of the same bytes (an nginx reload, the same file from
//! Lua and from nginx.conf) does not compile again. A test binary of its own: the count is process-wide.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{compilations, Plugin};

const A: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32)))"#;

fn load(name: &str, wasm: &str) -> Plugin {
    Plugin::load(name, wasm.as_bytes(), b"", &mut FakeBackend::default()).unwrap()
}

#[test]
fn the_same_bytes_compile_once_while_a_plugin_uses_them() {
    let before = compilations();
    let first = load("a", A);
    assert_eq!(compilations(), before + 1);

    // Same bytes, another plugin (another name, its own instance): no compilation.
    let second = load("a-again", A);
    assert_eq!(compilations(), before + 1);
    let root = second.configure(b"", &mut FakeBackend::default()).unwrap();
    assert!(root.new_http_context(&mut FakeBackend::default()).is_ok());

    // Other bytes compile.
    let other = A.replace("i32.const 1024", "i32.const 2048");
    let third = load("b", &other);
    assert_eq!(compilations(), before + 2);

    // Bad bytes fail on every load with the same error, and are not kept.
    let bad = || {
        Plugin::load(
            "bad",
            b"\0asm\x01\0\0\0\x01",
            b"",
            &mut FakeBackend::default(),
        )
        .err()
        .expect("bad wasm is refused")
        .to_string()
    };
    let (e1, e2) = (bad(), bad());
    assert_eq!(e1, e2);
    assert!(e1.contains("unexpected end-of-file"), "{e1}");
    assert_eq!(compilations(), before + 2);

    // While any plugin holds A, loading it again reuses the compiled module.
    drop(first);
    drop(root);
    let fourth = load("a-third", A);
    assert_eq!(compilations(), before + 2);
    drop((second, third, fourth));
}
