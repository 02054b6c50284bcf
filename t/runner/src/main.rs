//! `test-nginx`: a Test::Nginx-compatible runner for `.t` files (see README.md).

mod checks;
mod client;
mod conf;
mod eval;
mod nginx;
mod parse;
mod perlre;
mod run;
mod tap;

use run::{Counts, FileCtx};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tap::Sink;

const USAGE: &str = "usage: test-nginx [--jobs N] [paths...]
  paths: .t files or directories (recursed, sorted); default: t/
  environment: TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES, TEST_NGINX_SERVER_PORT,
  TEST_NGINX_PORT, TEST_NGINX_SERVROOT, TEST_NGINX_LOG_LEVEL, TEST_NGINX_RANDOMIZE,
  TEST_NGINX_NO_SHUFFLE, TEST_NGINX_NO_CLEAN, TEST_NGINX_VERBOSE";

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let name = e
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if e.is_dir() {
                if name.starts_with("servroot")
                    || name == "target"
                    || name == "fixtures"
                    || name.starts_with('.')
                {
                    continue;
                }
                collect(&e, out)?;
            } else if name.ends_with(".t") {
                out.push(e);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ ((std::process::id() as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15
}

fn main() {
    let mut jobs = 1usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            "-j" | "--jobs" => {
                jobs = match args.next().and_then(|n| n.parse().ok()) {
                    Some(n) if n >= 1 => n,
                    _ => {
                        eprintln!("test-nginx: --jobs needs a positive number\n{USAGE}");
                        std::process::exit(2);
                    }
                }
            }
            s if s.starts_with("--jobs=") => {
                jobs = match s["--jobs=".len()..].parse() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        eprintln!("test-nginx: --jobs needs a positive number\n{USAGE}");
                        std::process::exit(2);
                    }
                }
            }
            s if s.starts_with('-') && s.len() > 1 => {
                eprintln!("test-nginx: unknown option {s}\n{USAGE}");
                std::process::exit(2);
            }
            s => paths.push(PathBuf::from(s)),
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("t"));
    }
    let mut files = Vec::new();
    for p in &paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("test-nginx: {e}");
            println!("0 passed, 1 failed");
            std::process::exit(1);
        }
    }

    nginx::become_subreaper();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let randomize = jobs > 1 || env_set("TEST_NGINX_RANDOMIZE");
    let binary = std::env::var("TEST_NGINX_BINARY")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "nginx".into());
    let load_modules: Vec<String> = std::env::var("TEST_NGINX_LOAD_MODULES")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let fixed_port: u16 = std::env::var("TEST_NGINX_SERVER_PORT")
        .ok()
        .or_else(|| std::env::var("TEST_NGINX_PORT").ok())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1984);
    let fixed_servroot = std::env::var("TEST_NGINX_SERVROOT")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| cwd.join(s))
        .unwrap_or_else(|| cwd.join("t/servroot"));
    let env_log_level = std::env::var("TEST_NGINX_LOG_LEVEL")
        .ok()
        .filter(|s| !s.is_empty());
    let no_clean = env_set("TEST_NGINX_NO_CLEAN");
    let verbose = env_set("TEST_NGINX_VERBOSE");
    let no_shuffle_env = env_set("TEST_NGINX_NO_SHUFFLE");
    let base_seed = seed();

    let make_ctx = move |k: usize| -> FileCtx {
        let seed = base_seed.wrapping_add((k as u64).wrapping_mul(0x9E37_79B9)) | 1;
        let (port, servroot) = if randomize {
            let tag = format!("{:08x}", (seed >> 16) as u32);
            let root = fixed_servroot
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| cwd.join("t"));
            (nginx::free_port(), root.join(format!("servroot-{tag}")))
        } else {
            (fixed_port, fixed_servroot.clone())
        };
        FileCtx {
            binary: binary.clone(),
            port,
            servroot,
            load_modules: load_modules.clone(),
            env_log_level: env_log_level.clone(),
            no_clean,
            verbose,
            no_shuffle_env,
            seed,
        }
    };

    let display = |p: &Path| p.display().to_string();
    let total = Arc::new(Mutex::new(Counts::default()));
    let add = |total: &Mutex<Counts>, c: Counts| {
        if let Ok(mut t) = total.lock() {
            t.passed += c.passed;
            t.failed += c.failed;
            t.skipped += c.skipped;
        }
    };
    if jobs <= 1 || files.len() <= 1 {
        for (k, f) in files.iter().enumerate() {
            let mut sink = Sink::Stdout;
            if files.len() > 1 {
                sink.line(&format!("# {}", display(f)));
            }
            let c = run::run_file(f, &display(f), &make_ctx(k), &mut sink);
            add(&total, c);
        }
    } else {
        let queue = Arc::new(Mutex::new(
            files
                .iter()
                .cloned()
                .enumerate()
                .collect::<Vec<_>>()
                .into_iter(),
        ));
        let make_ctx = Arc::new(make_ctx);
        let mut handles = Vec::new();
        for _ in 0..jobs.min(files.len()) {
            let queue = Arc::clone(&queue);
            let total = Arc::clone(&total);
            let make_ctx = Arc::clone(&make_ctx);
            handles.push(std::thread::spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some((k, f)) = next else { break };
                let mut sink = Sink::Buffer(format!("# {}\n", f.display()));
                let c = run::run_file(&f, &f.display().to_string(), &make_ctx(k), &mut sink);
                if let Sink::Buffer(b) = &sink {
                    tap::print_buffer(b);
                }
                if let Ok(mut t) = total.lock() {
                    t.passed += c.passed;
                    t.failed += c.failed;
                    t.skipped += c.skipped;
                }
            }));
        }
        for h in handles {
            let _ = h.join();
        }
    }
    let t = *total.lock().expect("totals");
    let mut summary = format!("{} passed, {} failed", t.passed, t.failed);
    if t.skipped > 0 {
        summary.push_str(&format!(", {} skipped", t.skipped));
    }
    println!("{summary}");
    std::process::exit(if t.failed == 0 { 0 } else { 1 });
}
