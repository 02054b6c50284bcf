//! A deterministic fuzz loop over sequences of host calls: generated plugins call random host functions with
//! arguments drawn from valid pointers into their data, boundaries and garbage, from every callback, and the
//! host must answer each call with a status: no trap of the guest, no panic, no crash. It runs briefly in every
//! `cargo test`; `make fuzz` runs it for minutes (`FUZZ_SECONDS`). A failure prints the seed and the plugin;
//! seeds that once failed stay in `REGRESSIONS`.

mod common;

use std::time::{Duration, Instant};

use common::{FakeBackend, Rng, HOST_FUNCTIONS};
use proxy_wasm_host::{Error, Plugin};

/// Seeds of inputs that once failed (none so far); they run first, every time.
const REGRESSIONS: &[u64] = &[];

/// Where the generated plugin keeps data a pointer argument may point to: an encoded header map, a key, a
/// value, a property path; and the words the host writes results to.
const DATA: &str = r#"(data (i32.const 2048) "\02\00\00\00\03\00\00\00\01\00\00\00\03\00\00\00\01\00\00\00x-a\00b\00:path\00/\00")
  (data (i32.const 4096) "x-a\00request\00path\00plugin_name\00")"#;

/// An argument: mostly pointers and lengths that make sense, sometimes boundaries and garbage.
fn arg(rng: &mut Rng) -> i64 {
    const INTERESTING: [i64; 16] = [
        0, 1, 2, 3, 4, 7, 8, 16, 2048, 2052, 4096, 4100, 8192, 65_535, 65_536, -1,
    ];
    match rng.below(8) {
        0..=4 => INTERESTING[rng.below(INTERESTING.len() as u64) as usize],
        5 => rng.below(70_000) as i64,
        6 => -(rng.below(64) as i64),
        _ => rng.next() as i64,
    }
}

/// A function body of random host calls (results dropped).
fn calls(rng: &mut Rng, imports: &mut Vec<usize>) -> String {
    let mut body = String::new();
    for _ in 0..rng.below(12) + 1 {
        let f = rng.below(HOST_FUNCTIONS.len() as u64) as usize;
        let (_, _, arity, wide) = HOST_FUNCTIONS[f];
        if !imports.contains(&f) {
            imports.push(f);
        }
        for i in 0..arity {
            let v = arg(rng);
            if wide.contains(&i) {
                body.push_str(&format!("(i64.const {v}) "));
            } else {
                body.push_str(&format!("(i32.const {}) ", v as i32));
            }
        }
        body.push_str(&format!("(call $f{f}) drop\n    "));
    }
    body
}

fn plugin(seed: u64) -> String {
    let mut rng = Rng(seed | 1);
    let mut imports = Vec::new();
    let configure = calls(&mut rng, &mut imports);
    let headers = calls(&mut rng, &mut imports);
    let body = calls(&mut rng, &mut imports);
    let response = calls(&mut rng, &mut imports);
    let log = calls(&mut rng, &mut imports);
    let import_lines: String = imports
        .iter()
        .map(|f| {
            let (module, name, arity, wide) = HOST_FUNCTIONS[*f];
            let params: Vec<&str> = (0..arity)
                .map(|i| if wide.contains(&i) { "i64" } else { "i32" })
                .collect();
            format!(
                "  (import \"{module}\" \"{name}\" (func $f{f} (param {}) (result i32)))\n",
                params.join(" ")
            )
        })
        .collect();
    format!(
        r#"(module
{import_lines}  (memory (export "memory") 2)
  {DATA}
  (global $next (mut i32) (i32.const 16384))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (local $p i32)
    ;; a bump allocator over the second page that wraps around (the host checks every write)
    (if (i32.gt_u (i32.add (global.get $next) (local.get 0)) (i32.const 131072))
      (then (global.set $next (i32.const 16384))))
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (i32.and (local.get 0) (i32.const 65535))))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    {configure}i32.const 1)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    {headers}i32.const 0)
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    {body}i32.const 0)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    {response}i32.const 0)
  (func (export "proxy_on_log") (param i32)
    {log}))"#
    )
}

/// Run one generated plugin through a whole request; `Err` describes a trap or a refused load.
fn run(seed: u64) -> Result<(), String> {
    let wat = plugin(seed);
    let mut backend = FakeBackend::with_request(&[("x-a", "1"), ("host", "h")]);
    let plugin = Plugin::load("fuzz", wat.as_bytes(), b"vm", &mut backend)
        .map_err(|e| format!("load: {e}"))?;
    let root = match plugin.configure(b"conf", &mut backend) {
        Ok(root) => root,
        Err(e) => return Err(format!("configure: {e}")),
    };
    let mut http = root
        .new_http_context(&mut backend)
        .map_err(|e| format!("context: {e}"))?;
    let steps: [(&str, Result<_, Error>); 3] = [
        (
            "request headers",
            http.on_request_headers(&mut backend, false),
        ),
        (
            "request body",
            http.on_request_body(&mut backend, b"body", true),
        ),
        (
            "response headers",
            http.on_response_headers(&mut backend, false),
        ),
    ];
    for (what, r) in steps {
        if let Err(e) = r {
            return Err(format!("{what}: {e}"));
        }
    }
    if let Err(e) = http.on_log(&mut backend) {
        return Err(format!("on_log: {e}"));
    }
    if let Some((_, line)) = backend.logs.iter().find(|(_, l)| l.contains("trapped")) {
        return Err(format!("log: {line}"));
    }
    Ok(())
}

#[test]
fn random_host_call_sequences_never_trap_or_panic() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut seeds = REGRESSIONS.to_vec();
    let mut rng = Rng(0x0f0f_5eed);
    let mut runs = 0u64;
    loop {
        let seed = seeds.pop().unwrap_or_else(|| rng.next());
        let outcome = std::panic::catch_unwind(|| run(seed))
            .unwrap_or_else(|_| Err("the host panicked".to_string()));
        if let Err(why) = outcome {
            panic!("seed {seed:#x}: {why}\n{}", plugin(seed));
        }
        runs += 1;
        if runs >= 150 && Instant::now() >= deadline {
            break;
        }
    }
    eprintln!("call_fuzz: {runs} generated plugins ran clean");
}
