//! Untrusted plugins: call deadlines, memory caps, recovery after traps, and the limits of host functions.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{start_epoch_ticker, Error, Plugin, PluginOptions};

/// A plugin whose request-headers callback loops forever when the request has more than 0 headers, traps
/// with `unreachable` on exactly 1 header, and grows memory without end on 2.
const HOSTILE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 1)) (then unreachable))
    (if (i32.eq (local.get 1) (i32.const 2))
      (then (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))))
    (if (i32.ge_u (local.get 1) (i32.const 3)) (then (loop $forever (br $forever))))
    i32.const 0))"#;

fn hostile(options: PluginOptions) -> Plugin {
    Plugin::load_with(
        "hostile",
        HOSTILE.as_bytes(),
        b"",
        options,
        &mut FakeBackend::default(),
    )
    .unwrap()
}

fn request(headers: usize) -> FakeBackend {
    let names = ["a", "b", "c", "d"];
    let pairs: Vec<(&str, &str)> = names[..headers].iter().map(|n| (*n, "v")).collect();
    FakeBackend::with_request(&pairs)
}

#[test]
fn an_endless_loop_is_interrupted_at_the_deadline() {
    start_epoch_ticker();
    let plugin = hostile(PluginOptions {
        time_limit_ms: 20,
        ..PluginOptions::default()
    });
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = request(3);
    let mut http = root.new_http_context(&mut req).unwrap();
    let started = std::time::Instant::now();
    match http.on_request_headers(&mut req, true) {
        Err(Error::Trap { callback, message }) => {
            assert_eq!(callback, "proxy_on_request_headers");
            assert_eq!(message, "interrupted: ran past its time limit of 20 ms");
        }
        other => panic!("{other:?}"),
    }
    let elapsed = started.elapsed();
    // The call gets its whole limit, and is stopped soon after it.
    assert!(
        elapsed.as_millis() >= 20,
        "interrupted early, after {elapsed:?}"
    );
    assert!(elapsed.as_millis() < 1000, "took {elapsed:?}");
}

#[test]
fn memory_growth_stops_at_the_cap_with_a_trap() {
    let plugin = hostile(PluginOptions {
        memory_limit: 4 << 20,
        ..PluginOptions::default()
    });
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut req = request(2);
    let mut http = root.new_http_context(&mut req).unwrap();
    match http.on_request_headers(&mut req, true) {
        Err(Error::Trap { message, .. }) => assert!(message.contains("memory"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_fresh_instance_serves_the_next_request_after_a_trap() {
    let plugin = hostile(PluginOptions::default());
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();

    let mut req = request(1);
    let mut http = root.new_http_context(&mut req).unwrap();
    assert!(matches!(
        http.on_request_headers(&mut req, true),
        Err(Error::Trap { .. })
    ));
    // The plugin is finished for that request: its later callbacks run nothing and report nothing ...
    let logged = req.logs.len();
    let later = http.on_response_headers(&mut req, true).unwrap();
    assert!(later.finished, "{later:?}");
    assert!(http.is_failed());
    http.on_log(&mut req).unwrap();
    assert_eq!(req.logs.len(), logged, "{:?}", req.logs);

    // ... but the next request gets a fresh instance, configured again, and is served.
    let mut req = request(0);
    let mut http = root.new_http_context(&mut req).expect("fresh instance");
    assert!(http.on_request_headers(&mut req, true).is_ok());
    assert!(
        req.logged("a fresh instance replaces the one that trapped (1 trap(s) in the last 10000 ms, 1 since the plugin was loaded)"),
        "{:?}",
        req.logs
    );
}

#[test]
fn a_crash_loop_is_held_back() {
    let plugin = hostile(PluginOptions::default());
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut held = false;
    for _ in 0..20 {
        let mut req = request(1);
        match root.new_http_context(&mut req) {
            Ok(mut http) => {
                let _ = http.on_request_headers(&mut req, true);
            }
            Err(Error::Unusable(m)) => {
                assert!(m.contains("traps within"), "{m}");
                held = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(
        held,
        "a plugin trapping on every request was restarted forever"
    );
}

/// A leaky plugin: every request grows memory by 4 pages (256 KiB) and never gives it back.
const LEAKY: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (memory.grow (i32.const 4)) (i32.const -1)) (then unreachable))
    i32.const 0))"#;

#[test]
fn a_leaky_instance_is_recycled_before_it_reaches_its_cap() {
    // 2 MiB cap: without recycling the 8th request would trap (1 + 8 * 4 pages > 32 pages).
    let plugin = Plugin::load_with(
        "leaky",
        LEAKY.as_bytes(),
        b"",
        PluginOptions {
            memory_limit: 2 << 20,
            ..PluginOptions::default()
        },
        &mut FakeBackend::default(),
    )
    .unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    let mut recycled = 0;
    for i in 0..40 {
        let mut req = request(0);
        let mut http = root.new_http_context(&mut req).unwrap();
        http.on_request_headers(&mut req, true)
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        http.on_log(&mut req).unwrap();
        if req.logged("instance recycled") {
            recycled += 1;
        }
    }
    // 75% of 32 pages is 24: passed after the 6th request of each instance (1 + 6 * 4 = 25 pages).
    assert!(recycled >= 6, "recycled {recycled} times");
}

/// Request headers call WASI `random_get` for 16 bytes (no header), `limits::MAX_RANDOM_GET` bytes (one
/// header) or one byte more (two headers), each into a zeroed buffer of its own, and log
/// `errno=NN written=W` (W: whether the buffer's first 8 bytes changed).
const RANDOM: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (data (i32.const 0) "errno=00 written=0")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 512)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $buf i32) (local $len i32) (local $e i32)
    (local.set $buf (i32.const 1024)) (local.set $len (i32.const 16))
    (if (i32.eq (local.get 1) (i32.const 1))
      (then (local.set $buf (i32.const 2048)) (local.set $len (i32.const 1048576))))
    (if (i32.eq (local.get 1) (i32.const 2))
      (then (local.set $buf (i32.const 1060000)) (local.set $len (i32.const 1048577))))
    (local.set $e (call $random (local.get $buf) (local.get $len)))
    (i32.store8 (i32.const 6) (i32.add (i32.const 48) (i32.div_u (local.get $e) (i32.const 10))))
    (i32.store8 (i32.const 7) (i32.add (i32.const 48) (i32.rem_u (local.get $e) (i32.const 10))))
    (i32.store8 (i32.const 17) (i32.add (i32.const 48) (i64.ne (i64.load (local.get $buf)) (i64.const 0))))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 0))"#;

#[test]
fn random_get_refuses_more_than_its_limit_without_filling_anything() {
    assert_eq!(proxy_wasm_host::limits::MAX_RANDOM_GET, 1 << 20);
    let plugin = Plugin::load(
        "random",
        RANDOM.as_bytes(),
        b"",
        &mut FakeBackend::default(),
    )
    .unwrap();
    let root = plugin.configure(b"", &mut FakeBackend::default()).unwrap();
    for (headers, expected) in [
        (0, "random: errno=00 written=1"),
        (1, "random: errno=00 written=1"),
        (2, "random: errno=28 written=0"),
    ] {
        let mut req = request(headers);
        let mut http = root.new_http_context(&mut req).unwrap();
        http.on_request_headers(&mut req, true).unwrap();
        assert_eq!(req.logs.last().map(|(_, l)| l.as_str()), Some(expected));
    }
}
