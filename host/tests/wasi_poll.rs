//! WASI `poll_oneoff`: clock subscriptions sleep (never past the call's deadline), fd subscriptions answer
//! `EBADF`, and a Go-style panic (message to stderr, a sleep, `proc_exit(2)`) leaves its message in the log.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::FakeBackend;
use proxy_wasm_host::{Error, LogLevel, Plugin, PluginOptions};

const EBADF: u32 = 8;
const EINVAL: u32 = 28;
const EFAULT: u32 = 21;

/// One 48-byte subscription.
enum Sub {
    /// userdata, clock id, timeout (ns), absolute
    Clock(u64, u32, u64, bool),
    /// userdata, tag (1 = fd_read, 2 = fd_write), fd
    Fd(u64, u8, u32),
    /// userdata, a tag no WASI version defines
    Bad(u64, u8),
}

fn encode(subs: &[Sub]) -> Vec<u8> {
    let mut out = Vec::new();
    for sub in subs {
        let mut b = [0u8; 48];
        match *sub {
            Sub::Clock(userdata, id, timeout, absolute) => {
                b[..8].copy_from_slice(&userdata.to_le_bytes());
                b[16..20].copy_from_slice(&id.to_le_bytes());
                b[24..32].copy_from_slice(&timeout.to_le_bytes());
                b[32..40].copy_from_slice(&1000u64.to_le_bytes());
                b[40..42].copy_from_slice(&u16::from(absolute).to_le_bytes());
            }
            Sub::Fd(userdata, tag, fd) => {
                b[..8].copy_from_slice(&userdata.to_le_bytes());
                b[8] = tag;
                b[16..20].copy_from_slice(&fd.to_le_bytes());
            }
            Sub::Bad(userdata, tag) => {
                b[..8].copy_from_slice(&userdata.to_le_bytes());
                b[8] = tag;
            }
        }
        out.extend_from_slice(&b);
    }
    out
}

fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A plugin whose `proxy_on_request_headers` calls `poll_oneoff` on `subs` (at 1024, events at 8192,
/// `nsubscriptions` = `count`) and hands back the errno and event count (header `result`, 8 bytes) and the
/// events (header `events`) through request headers.
fn poller(subs: &[Sub], count: usize) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "result")
  (data (i32.const 24) "events")
  (data (i32.const 1024) "{subs}")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 60000)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (i32.store (i32.const 32) (call $poll (i32.const 1024) (i32.const 8192) (i32.const {count}) (i32.const 36)))
    (drop (call $add (i32.const 0) (i32.const 16) (i32.const 6) (i32.const 32) (i32.const 8)))
    (drop (call $add (i32.const 0) (i32.const 24) (i32.const 6) (i32.const 8192)
                     (i32.mul (i32.load (i32.const 36)) (i32.const 32))))
    i32.const 0))"#,
        subs = wat_bytes(&encode(subs)),
    )
}

#[derive(Debug, PartialEq, Eq)]
struct Event {
    userdata: u64,
    error: u16,
    kind: u8,
}

struct Outcome {
    errno: u32,
    events: Vec<Event>,
    elapsed: Duration,
}

fn header(backend: &FakeBackend, name: &str) -> Vec<u8> {
    let request = backend.request.as_ref().unwrap();
    request
        .request_headers
        .iter()
        .find(|(k, _)| k == name.as_bytes())
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", backend.logs))
}

/// Run `poller(subs, count)` once with `time_limit_ms`; `Err` when the callback failed.
fn poll(subs: &[Sub], count: usize, time_limit_ms: u64) -> Result<Outcome, (Error, Duration)> {
    let wat = poller(subs, count);
    let mut backend = FakeBackend::with_request(&[("a", "b")]);
    let options = PluginOptions {
        time_limit_ms,
        ..PluginOptions::default()
    };
    let plugin = Plugin::load_with("poll", wat.as_bytes(), b"", options, &mut backend).unwrap();
    let root = plugin.configure(b"", &mut backend).unwrap();
    let mut http = root.new_http_context(&mut backend).unwrap();
    let started = Instant::now();
    let r = http.on_request_headers(&mut backend, true);
    let elapsed = started.elapsed();
    if let Err(e) = r {
        return Err((e, elapsed));
    }
    let result = header(&backend, "result");
    let errno = u32::from_le_bytes(result[..4].try_into().unwrap());
    let count = u32::from_le_bytes(result[4..8].try_into().unwrap()) as usize;
    let raw = header(&backend, "events");
    assert_eq!(raw.len(), count * 32);
    let events = raw
        .chunks_exact(32)
        .map(|e| {
            assert!(
                e[11..].iter().all(|b| *b == 0),
                "padding and fd_readwrite are zero: {e:?}"
            );
            Event {
                userdata: u64::from_le_bytes(e[..8].try_into().unwrap()),
                error: u16::from_le_bytes([e[8], e[9]]),
                kind: e[10],
            }
        })
        .collect();
    Ok(Outcome {
        errno,
        events,
        elapsed,
    })
}

fn ok(subs: &[Sub]) -> Outcome {
    poll(subs, subs.len(), 1000).unwrap_or_else(|(e, _)| panic!("{e}"))
}

fn clock_event(userdata: u64) -> Event {
    Event {
        userdata,
        error: 0,
        kind: 0,
    }
}

#[test]
fn a_relative_clock_sleeps_then_reports_its_userdata() {
    for clock in [0, 1] {
        let userdata = 0x1122_3344_5566_7788;
        let r = ok(&[Sub::Clock(userdata, clock, 5_000_000, false)]);
        assert_eq!(r.errno, 0);
        assert_eq!(r.events, [clock_event(userdata)]);
        assert!(r.elapsed >= Duration::from_millis(5), "{:?}", r.elapsed);
        assert!(r.elapsed < Duration::from_millis(500), "{:?}", r.elapsed);
    }
}

#[test]
fn only_the_nearest_timeouts_are_reported() {
    let r = ok(&[
        Sub::Clock(1, 1, 800_000_000, false),
        Sub::Clock(2, 1, 5_000_000, false),
        Sub::Clock(3, 0, 5_000_000, false),
    ]);
    assert_eq!(r.errno, 0);
    assert_eq!(r.events, [clock_event(2), clock_event(3)]);
    assert!(r.elapsed >= Duration::from_millis(5), "{:?}", r.elapsed);
    assert!(r.elapsed < Duration::from_millis(500), "{:?}", r.elapsed);
}

#[test]
fn an_absolute_timeout_in_the_past_returns_at_once() {
    for clock in [0, 1] {
        let r = ok(&[
            Sub::Clock(7, clock, 1, true),
            Sub::Clock(8, 1, 10_000_000_000, false),
        ]);
        assert_eq!(r.errno, 0);
        assert_eq!(r.events, [clock_event(7)]);
        assert!(r.elapsed < Duration::from_millis(100), "{:?}", r.elapsed);
    }
}

#[test]
fn an_absolute_realtime_timeout_in_the_future_is_waited_for() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let at = (now + Duration::from_millis(30)).as_nanos() as u64;
    let r = ok(&[Sub::Clock(9, 0, at, true)]);
    assert_eq!(r.events, [clock_event(9)]);
    assert!(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            >= at,
        "woke before the absolute time"
    );
    assert!(r.elapsed < Duration::from_millis(500), "{:?}", r.elapsed);
}

#[test]
fn a_sleep_past_the_time_limit_is_cut_at_the_deadline() {
    match poll(&[Sub::Clock(1, 0, 60_000_000_000, false)], 1, 20) {
        Err((Error::Trap { callback, message }, elapsed)) => {
            assert_eq!(callback, "proxy_on_request_headers");
            assert_eq!(message, "interrupted: ran past its time limit of 20 ms");
            assert!(elapsed >= Duration::from_millis(19), "{elapsed:?}");
            assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
        }
        Err((e, _)) => panic!("{e}"),
        Ok(r) => panic!("returned after {:?}", r.elapsed),
    }
}

#[test]
fn fd_subscriptions_get_ebadf_without_sleeping() {
    let r = ok(&[
        Sub::Clock(1, 1, 10_000_000_000, false),
        Sub::Fd(2, 1, 0),
        Sub::Fd(3, 2, 1),
    ]);
    assert_eq!(r.errno, 0);
    let ebadf = |userdata, kind| Event {
        userdata,
        error: EBADF as u16,
        kind,
    };
    assert_eq!(r.events, [ebadf(2, 1), ebadf(3, 2)]);
    assert!(r.elapsed < Duration::from_millis(100), "{:?}", r.elapsed);
}

#[test]
fn an_unknown_clock_is_an_einval_event() {
    let r = ok(&[Sub::Clock(4, 9, 1_000_000, false)]);
    assert_eq!(
        r.events,
        [Event {
            userdata: 4,
            error: EINVAL as u16,
            kind: 0
        }]
    );
}

#[test]
fn no_subscriptions_or_an_unknown_tag_is_einval_and_a_wild_count_efault() {
    let r = poll(&[], 0, 1000).unwrap_or_else(|(e, _)| panic!("{e}"));
    assert_eq!((r.errno, r.events.len()), (EINVAL, 0));
    let r = ok(&[Sub::Fd(1, 1, 0), Sub::Bad(2, 3)]);
    assert_eq!((r.errno, r.events.len()), (EINVAL, 0));
    // 2000 subscriptions from 1024 run past the single 64 KiB page.
    let r = poll(&[Sub::Fd(1, 1, 0)], 2000, 1000).unwrap_or_else(|(e, _)| panic!("{e}"));
    assert_eq!((r.errno, r.events.len()), (EFAULT, 0));
}

/// What a Go program's runtime does when it panics (wasip1): the message to stderr, `usleep` through
/// `poll_oneoff` (relative realtime clock; an error there would make it throw again, hiding the first message),
/// then `exit(2)`.
const GO_PANIC: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "panic: the plugin's own message\n\ngoroutine 1 [running]:\nmain.main()\n")
  (data (i32.const 512) "fatal error: wasi_snapshot_preview1.poll_oneoff\n")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 60000)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $print (i32.const 256) (i32.const 68))
    ;; usleep(1000): subscription at 1024 (userdata 0, clock 0, relative), precision 1 us
    (i64.store (i32.const 1048) (i64.const 1000000))
    (i64.store (i32.const 1056) (i64.const 1000))
    (if (call $poll (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 2080))
      (then (call $print (i32.const 512) (i32.const 48)) unreachable))
    (call $exit (i32.const 2))
    unreachable))"#;

#[test]
fn a_go_style_panic_message_reaches_the_log() {
    let mut backend = FakeBackend::with_request(&[("a", "b")]);
    let plugin = Plugin::load("go", GO_PANIC.as_bytes(), b"", &mut backend).unwrap();
    let root = plugin.configure(b"", &mut backend).unwrap();
    let mut http = root.new_http_context(&mut backend).unwrap();
    match http.on_request_headers(&mut backend, true) {
        Err(Error::Trap { message, .. }) => {
            assert!(message.contains("proc_exit(2)"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let line = backend
        .logs
        .iter()
        .find(|(_, l)| l.contains("panic: the plugin's own message"))
        .unwrap_or_else(|| panic!("{:?}", backend.logs));
    assert_eq!(line.0, LogLevel::Error);
    assert!(!backend.logged("fatal error"), "{:?}", backend.logs);
}

/// Go's runtime prints a panic value by value (`panic: `, the message, `\n`, `goroutine `, `1`, ...): each
/// line reaches the log whole, once complete; what is left without a newline when the callback ends too.
const PIECES: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "panic: ")
  (data (i32.const 272) "the message")
  (data (i32.const 288) "\n\ngoroutine ")
  (data (i32.const 304) "1 [running]:\nlast words")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 60000)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $print (i32.const 256) (i32.const 7))
    (call $print (i32.const 272) (i32.const 11))
    (call $print (i32.const 288) (i32.const 12))
    (call $print (i32.const 304) (i32.const 23))
    i32.const 0))"#;

#[test]
fn output_written_in_pieces_is_logged_line_by_line() {
    let mut backend = FakeBackend::with_request(&[("a", "b")]);
    let plugin = Plugin::load("go", PIECES.as_bytes(), b"", &mut backend).unwrap();
    let root = plugin.configure(b"", &mut backend).unwrap();
    let mut http = root.new_http_context(&mut backend).unwrap();
    http.on_request_headers(&mut backend, true).unwrap();
    let lines: Vec<&str> = backend
        .logs
        .iter()
        .filter(|(level, _)| *level == LogLevel::Error)
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(
        lines,
        [
            "go: panic: the message",
            "go: goroutine 1 [running]:",
            "go: last words"
        ],
        "{:?}",
        backend.logs
    );
}
