//! Micro-benchmarks of the host core, with the fake proxy of the tests: an empty callback round trip, header
//! get and replace, a 4 KiB response body chunk read, configuring a root context, loading (compiling and
//! instantiating) a plugin, and one whole request through the real fault-injection plugin when it is built.
//! Plain timing loops: `cargo bench -p proxy-wasm-host --bench hot_path` prints nanoseconds per operation;
//! `cargo bench -p proxy-wasm-host --bench hot_path -- WORDS` runs only the operations whose name contains
//! WORDS, twenty times longer (to profile one of them with `perf record`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use common::FakeBackend;
use proxy_wasm_host::Plugin;

const EMPTY: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 4096)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0))"#;

const HEADERS: &str = r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-a")
  (data (i32.const 32) "x-b1")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 4096)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get (i32.const 0) (i32.const 16) (i32.const 3) (i32.const 100) (i32.const 104)))
    (drop (call $replace (i32.const 0) (i32.const 32) (i32.const 3) (i32.const 35) (i32.const 1)))
    i32.const 0))"#;

const BODY: &str = r#"(module
  (import "env" "proxy_get_buffer_bytes" (func $bytes (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 8192)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (drop (call $bytes (i32.const 1) (i32.const 0) (local.get 1) (i32.const 100) (i32.const 104)))
    i32.const 0))"#;

/// The operation filter given on the command line (cargo passes `--bench` first).
fn filter() -> Option<String> {
    std::env::args().skip(1).find(|a| !a.starts_with("--"))
}

fn measure(name: &str, iterations: u32, mut f: impl FnMut()) {
    let iterations = match filter() {
        Some(words) if !name.contains(&words) => return,
        Some(_) => iterations * 20,
        None => iterations,
    };
    for _ in 0..iterations / 10 + 1 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{name:58} {ns:>10.0} ns");
}

/// The floor under every guest call: wasmtime alone calling an empty export with an epoch deadline, as the
/// host configures its engine.
fn bare_wasmtime_call() {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, EMPTY).unwrap();
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<(i32, i32, i32), i32>(&mut store, "proxy_on_request_headers")
        .unwrap();
    measure(
        "bare wasmtime call of an empty export (the floor)",
        200_000,
        || {
            store.set_epoch_deadline(10);
            black_box(f.call(&mut store, (1, 0, 1)).unwrap());
        },
    );
}

/// `wasm` with a custom section holding a fresh number: the same module to run, new bytes to the cache.
fn unique(wasm: &[u8], n: &mut u32) -> Vec<u8> {
    *n += 1;
    let payload = n.to_le_bytes();
    let mut out = wasm.to_vec();
    // Custom section: id 0, size, name length 1, name "n", payload (sizes below 128 fit one LEB128 byte).
    out.extend_from_slice(&[0, 2 + payload.len() as u8, 1, b'n']);
    out.extend_from_slice(&payload);
    out
}

fn main() {
    let mut backend = FakeBackend::with_request(&[("x-a", "1"), ("host", "h")]);
    println!(
        "{:58} {:>13}",
        "host core operation (fake proxy)", "time per op"
    );

    bare_wasmtime_call();

    let empty = Plugin::load("empty", EMPTY.as_bytes(), b"", &mut backend).unwrap();
    let root = empty.configure(b"", &mut backend).unwrap();
    let mut http = root.new_http_context(&mut backend).unwrap();
    measure("empty proxy_on_request_headers round trip", 200_000, || {
        black_box(http.on_request_headers(&mut backend, true).unwrap());
    });
    measure(
        "context create + on_request_headers + end (empty plugin)",
        100_000,
        || {
            let mut http = root.new_http_context(&mut backend).unwrap();
            black_box(http.on_request_headers(&mut backend, true).unwrap());
            let _ = http.on_log(&mut backend);
        },
    );

    let headers = Plugin::load("headers", HEADERS.as_bytes(), b"", &mut backend).unwrap();
    let root = headers.configure(b"", &mut backend).unwrap();
    let mut http = root.new_http_context(&mut backend).unwrap();
    measure(
        "on_request_headers: get one header, replace one",
        200_000,
        || {
            black_box(http.on_request_headers(&mut backend, true).unwrap());
        },
    );

    let body = Plugin::load("body", BODY.as_bytes(), b"", &mut backend).unwrap();
    let root = body.configure(b"", &mut backend).unwrap();
    let mut http = root.new_http_context(&mut backend).unwrap();
    let chunk = vec![b'x'; 4096];
    measure("on_response_body: 4 KiB chunk, read whole", 100_000, || {
        black_box(http.on_response_body(&mut backend, &chunk, false).unwrap());
    });

    measure("configure a root context (empty plugin)", 20_000, || {
        black_box(empty.configure(b"", &mut backend).unwrap());
    });
    let mut n = 0u32;
    measure(
        "load: compile + instantiate (empty plugin, WAT)",
        200,
        || {
            // New bytes each time (a comment), so the compiled-module cache misses.
            n += 1;
            let wat = format!("{EMPTY} ;; {n}");
            black_box(Plugin::load("empty", wat.as_bytes(), b"", &mut backend).unwrap());
        },
    );
    measure(
        "load again: instantiate only (compiled module reused)",
        2000,
        || {
            black_box(Plugin::load("empty", EMPTY.as_bytes(), b"", &mut backend).unwrap());
        },
    );

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../t/plugins/fault_injection.wasm"
    );
    match std::fs::read(path) {
        Ok(wasm) => {
            let fault = Plugin::load("fault_injection", &wasm, b"", &mut backend).unwrap();
            let root = fault
                .configure(br#"{"body":"hello world","http_status":200}"#, &mut backend)
                .unwrap();
            measure(
                "whole request, Rust SDK fault injection (local response)",
                100_000,
                || {
                    let mut http = root.new_http_context(&mut backend).unwrap();
                    black_box(http.on_request_headers(&mut backend, true).unwrap());
                    let _ = http.on_log(&mut backend);
                },
            );
            measure(
                "load: compile + instantiate (Rust SDK fault injection)",
                20,
                || {
                    black_box(
                        Plugin::load("fault_injection", &unique(&wasm, &mut n), b"", &mut backend)
                            .unwrap(),
                    );
                },
            );
            measure(
                "load again: instantiate only (Rust SDK fault injection)",
                200,
                || {
                    black_box(Plugin::load("fault_injection", &wasm, b"", &mut backend).unwrap());
                },
            );
        }
        Err(_) => println!("(t/plugins/fault_injection.wasm is not built: `make plugins`)"),
    }
}
