//! The runner against the fixtures in `t/runner/fixtures/`: each one's verdict is the real Test::Nginx's
//! (openresty/test-nginx master, run with `prove` on the same file and the same nginx); the failing ones fail
//! on the very test the library fails, with its test name, and the bail-outs print its message.
//!
//! Needs nginx (`TEST_NGINX_BINARY`, default /usr/sbin/nginx); without it the tests say so and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn nginx() -> Option<String> {
    let bin = std::env::var("TEST_NGINX_BINARY").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    Command::new(&bin)
        .arg("-v")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| bin)
}

struct Run {
    ok: bool,
    stdout: String,
}

fn run(fixture: &str) -> Option<Run> {
    let Some(bin) = nginx() else {
        eprintln!("skipped: no nginx to run {fixture} with");
        return None;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_test-nginx"))
        .arg(format!("t/runner/fixtures/{fixture}"))
        .current_dir(repo())
        .env("TEST_NGINX_BINARY", bin)
        .env("TEST_NGINX_RANDOMIZE", "1")
        .env_remove("TEST_NGINX_LOAD_MODULES")
        .env_remove("TEST_NGINX_NO_CLEAN")
        .env_remove("TEST_NGINX_SERVROOT")
        .output()
        .expect("run test-nginx");
    Some(Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

fn name(fixture: &str, block: &str) -> String {
    format!("t/runner/fixtures/{fixture} {block}")
}

/// The TAP lines that are `not ok`, without their numbers.
fn failures(r: &Run) -> Vec<String> {
    r.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("not ok "))
        .map(|l| l.split_once(" - ").map(|(_, d)| d).unwrap_or(l).to_string())
        .collect()
}

fn summary(r: &Run) -> &str {
    r.stdout.lines().last().unwrap_or("")
}

#[test]
fn per_request_logs_pass() {
    let Some(r) = run("per-request-logs.t") else {
        return;
    };
    assert!(r.ok, "{}", r.stdout);
    assert_eq!(summary(&r), "2 passed, 0 failed");
    // each request's checks, named "(req 0)" after the repetition
    let f = "per-request-logs.t";
    let n = name(
        f,
        "TEST 1: a scalar grep_error_log_out is compared with the lines of each request",
    );
    let grep = format!("ok 6 - {n} - grep_error_log_out (req 0)");
    assert!(r.stdout.lines().any(|l| l == grep), "{}", r.stdout);
    assert!(r.stdout.contains("\n1..10\n"), "{}", r.stdout);
}

#[test]
fn grep_out_array_is_indexed_by_repetition() {
    let f = "grep-out-array-by-repetition.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(f, "TEST 1: element 1 is checked in the second repetition");
    assert_eq!(failures(&r), [format!("{n} - grep_error_log_out (req 1)")]);
    assert!(
        r.stdout.lines().any(|l| l.starts_with("not ok 4 - ")),
        "{}",
        r.stdout
    );
}

#[test]
fn grep_out_array_is_not_indexed_by_request() {
    let f = "grep-out-array-not-by-request.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(f, "TEST 1: one element per request does not work");
    assert_eq!(failures(&r), [format!("{n} - grep_error_log_out (req 0)")]);
    assert!(
        r.stdout.lines().any(|l| l.starts_with("not ok 4 - ")),
        "{}",
        r.stdout
    );
}

#[test]
fn error_log_applies_to_every_request() {
    let f = "error-log-every-request.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(f, "TEST 1: only the first request logs the pattern");
    assert_eq!(
        failures(&r),
        [format!(
            "{n} - pattern \"No such file or directory\" should match a line in error.log (req 0)"
        )]
    );
}

fn bail(fixture: &str, block: &str, msg: &str, summary_line: &str) {
    let Some(r) = run(fixture) else { return };
    assert!(!r.ok);
    let full = format!("{} - {msg}", name(fixture, block));
    assert!(
        r.stdout.lines().any(|l| l == format!("Bail out!  {full}")),
        "{}",
        r.stdout
    );
    assert_eq!(failures(&r), [full]);
    assert_eq!(summary(&r), summary_line);
}

#[test]
fn bail_outs() {
    bail(
        "many-requests-scalar.t",
        "TEST 1: a scalar response_body with two requests",
        "You asked for many requests, the expected results should be arrays as well.",
        "0 passed, 1 failed, 1 skipped",
    );
    bail(
        "no-request.t",
        "TEST 1: nothing to send",
        "Request line should be non-empty",
        "0 passed, 1 failed",
    );
    bail(
        "grep-out-without-grep.t",
        "TEST 1: an expectation without its pattern",
        "No --- grep_error_log defined but --- grep_error_log_out is defined",
        "0 passed, 1 failed",
    );
}

#[test]
fn must_die_reads_error_log_only() {
    let f = "must-die-stderr.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(f, "TEST 1: the message is on stderr only");
    assert_eq!(
        failures(&r),
        [format!(
            "{n} - pattern \"unknown directive \"no_such_directive_here\"\" should match a line in error.log (req 0)"
        )]
    );
    let n2 = name(f, "TEST 2: a numeric must_die is the expected exit code");
    let ok = format!("ok 3 - {n2} - die with the expected exit code");
    assert!(r.stdout.lines().any(|l| l == ok), "{}", r.stdout);
    assert_eq!(summary(&r), "1 passed, 1 failed");
}

#[test]
fn shutdown_log_only_with_shutdown_error_log() {
    let f = "shutdown-logs.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(
        f,
        "TEST 3: with shutdown_error_log, no_shutdown_error_log is checked too",
    );
    let fails = failures(&r);
    assert_eq!(fails.len(), 1, "{}", r.stdout);
    assert!(
        fails[0].starts_with(&format!(
            "{n} - pattern \": exit\" should not match any line in error.log but matches line \""
        )),
        "{}",
        fails[0]
    );
    assert_eq!(summary(&r), "2 passed, 1 failed");
}

#[test]
fn expectation_variables() {
    let f = "expectation-variables.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(
        f,
        "TEST 2: $TEST_NGINX_SERVER_PORT in an expected body stays as it is",
    );
    assert_eq!(
        failures(&r),
        [format!(
            "{n} - response_body - response is expected (repeated req 0, req 0)"
        )]
    );
    assert_eq!(summary(&r), "1 passed, 1 failed");
}

#[test]
fn timeout_and_abort() {
    let f = "timeout-abort.t";
    let Some(r) = run(f) else { return };
    assert!(!r.ok);
    let n = name(f, "TEST 1: a response slower than the timeout");
    assert_eq!(
        failures(&r),
        [format!("ERROR: client socket timed out - {n}")]
    );
    assert_eq!(summary(&r), "1 passed, 1 failed");
}
