//! `start_worker` in a forked process: every plugin gets an instance of its own there, made from the module
//! the parent compiled and linked, with its root contexts configured again. A test binary of its own: it
//! forks, which must not happen while other tests' threads hold locks.

mod common;

use common::FakeBackend;
use proxy_wasm_host::{start_worker, Plugin};

/// Counts `proxy_on_vm_start` calls in a global and logs `vm_start N` (N: the count in this instance).
const PLUGIN: &str = r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $starts (mut i32) (i32.const 0))
  (data (i32.const 0) "vm_start 0")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (global.set $starts (i32.add (global.get $starts) (i32.const 1)))
    (i32.store8 (i32.const 9) (i32.add (i32.const 48) (global.get $starts)))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 10)))
    i32.const 1)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0))"#;

fn lines(backend: &FakeBackend) -> Vec<&str> {
    backend.logs.iter().map(|(_, l)| l.as_str()).collect()
}

#[test]
fn a_forked_worker_starts_its_own_instances_and_configures_them_again() {
    let plugin = Plugin::load("w", PLUGIN.as_bytes(), b"", &mut FakeBackend::default()).unwrap();
    let mut parent = FakeBackend::default();
    let root = plugin.configure(b"", &mut parent).unwrap();
    let _second = plugin.configure(b"", &mut parent).unwrap();
    assert_eq!(lines(&parent), ["w: vm_start 1", "w: vm_start 2"]);

    // SAFETY: this binary runs one test: no other thread holds a lock the child needs (the harness's main
    // thread only waits for this one); the child only runs the host core and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut worker = FakeBackend::default();
        start_worker(&mut worker);
        // A fresh instance (its count starts again), both root contexts configured in it.
        let mut ok = lines(&worker) == ["w: vm_start 1", "w: vm_start 2"];
        let mut req = FakeBackend::with_request(&[(":path", "/")]);
        ok &= root
            .new_http_context(&mut req)
            .and_then(|mut http| http.on_request_headers(&mut req, true))
            .is_ok();
        // A second call in the same process starts nothing.
        let mut again = FakeBackend::default();
        start_worker(&mut again);
        ok &= again.logs.is_empty();
        // SAFETY: ends the child without running the test harness's exit path.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the worker failed (status {status})"
    );
    // The parent's instance is untouched.
    let mut req = FakeBackend::with_request(&[(":path", "/")]);
    assert!(root.new_http_context(&mut req).is_ok());
}
