//! Running one `.t` file: block selection, per-block nginx lifecycle, requests and checks.

use crate::checks::{self, Assertion, Expected, Pattern};
use crate::client;
use crate::conf::{self, ConfParams};
use crate::eval::Value;
use crate::nginx::{self, Paths, Started};
use crate::parse::{self, Block, Prologue, TestFile};
use crate::tap::Sink;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

/// Sections this runner implements.
pub const IMPLEMENTED: &[&str] = &[
    "config",
    "http_config",
    "main_config",
    "request",
    "more_headers",
    "error_code",
    "response_headers",
    "response_body",
    "response_body_like",
    "error_log",
    "no_error_log",
    "grep_error_log",
    "grep_error_log_out",
    "shutdown_error_log",
    "no_shutdown_error_log",
    "wait",
    "timeout",
    "must_die",
    "user_files",
    "log_level",
    "ONLY",
    "SKIP",
    "LAST",
    "http2",
    "no_check_leak",
];

/// Sections Test::Nginx knows that this runner does not implement: a block using one fails.
pub const UNIMPLEMENTED: &[&str] = &[
    "raw_request",
    "raw_request_middle_delay",
    "pipelined_requests",
    "raw_response_headers_like",
    "raw_response_headers_unlike",
    "response_headers_like",
    "response_body_unlike",
    "response_body_filters",
    "error_code_like",
    "abort",
    "curl",
    "curl_error",
    "init",
    "post_main_config",
    "stream_config",
    "stream_server_config",
    "stream_server_config2",
    "stream_request",
    "stream_response",
    "stream_response_like",
    "http3",
    "tcp_listen",
    "tcp_reply",
    "tcp_reply_delay",
    "tcp_query",
    "tcp_query_len",
    "tcp_no_close",
    "tcp_shutdown",
    "tcp_shutdown_delay",
    "udp_listen",
    "udp_reply",
    "udp_reply_delay",
    "udp_query",
    "stap",
    "stap2",
    "stap_out",
    "stap_out_like",
    "stap_out_unlike",
    "skip_nginx",
    "skip_nginx2",
    "skip_eval",
    "skip_openssl",
    "skip_slave",
    "todo",
    "ignore_response",
    "ignore_response_body",
    "error_log_file",
    "access_log",
    "no_access_log",
    "reload_fails",
    "server_name",
    "server_port",
    "server_addr_for_client",
    "env",
    "quic_max_idle_timeout",
    "valgrind",
    "response_body_json",
];

/// What is fixed for one file's run.
pub struct FileCtx {
    pub binary: String,
    pub port: u16,
    pub servroot: PathBuf,
    pub load_modules: Vec<String>,
    pub env_log_level: Option<String>,
    pub no_clean: bool,
    pub verbose: bool,
    pub no_shuffle_env: bool,
    pub seed: u64,
}

#[derive(Default, Debug, Clone, Copy)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

struct Runner<'a> {
    ctx: &'a FileCtx,
    file: &'a str,
    prologue: Prologue,
    out: &'a mut Sink,
    n: usize,
    env: HashMap<String, String>,
}

/// Per-request expectation: one value for all requests, or an array indexed by request.
enum PerReq<T> {
    None,
    One(T),
    Many(Vec<T>),
}

impl<T> PerReq<T> {
    fn get(&self, i: usize) -> Option<&T> {
        match self {
            PerReq::None => None,
            PerReq::One(t) => Some(t),
            PerReq::Many(v) => v.get(i),
        }
    }
    /// An array with no element for request `i`.
    fn short(&self, i: usize) -> bool {
        matches!(self, PerReq::Many(v) if v.len() <= i)
    }
}

fn per_req<T>(
    v: Option<Value>,
    f: impl Fn(Value) -> Result<T, String>,
) -> Result<PerReq<T>, String> {
    Ok(match v {
        None => PerReq::None,
        Some(Value::Array(a)) => PerReq::Many(a.into_iter().map(f).collect::<Result<_, _>>()?),
        Some(v) => PerReq::One(f(v)?),
    })
}

fn string(name: &str) -> impl Fn(Value) -> Result<String, String> + '_ {
    move |v| match v {
        Value::Str(s) => Ok(s),
        other => Err(format!(
            "section `{name}`: expected a string, got {}",
            other.describe()
        )),
    }
}

/// The evaluated content of a block.
struct Spec {
    config: String,
    http_config: String,
    main_config: String,
    requests: Vec<String>,
    more_headers: Vec<(String, String)>,
    error_code: PerReq<String>,
    response_headers: PerReq<String>,
    response_body: PerReq<String>,
    response_body_like: PerReq<Pattern>,
    error_log: Vec<Pattern>,
    no_error_log: Vec<Pattern>,
    grep_error_log: Option<Pattern>,
    grep_error_log_out: PerReq<GrepOut>,
    shutdown_error_log: Vec<Pattern>,
    no_shutdown_error_log: Vec<Pattern>,
    wait: f64,
    timeout: f64,
    must_die: bool,
    user_files: Vec<(String, String)>,
    log_level: String,
    http2: bool,
}

enum GrepOut {
    Str(String),
    Re(Pattern),
}

fn parse_user_files(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(">>> ") {
            let name = rest
                .split_whitespace()
                .next()
                .ok_or("user_files: `>>>` without a file name")?;
            if name.starts_with('/') || name.split('/').any(|c| c == "..") {
                return Err(format!("user_files: unsafe file name `{name}`"));
            }
            files.push((name.to_string(), String::new()));
        } else if let Some((_, content)) = files.last_mut() {
            content.push_str(line);
        } else if !line.trim().is_empty() {
            return Err("user_files: content before the first `>>> name` line".into());
        }
    }
    Ok(files)
}

fn rng_next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

pub fn run_file(path: &Path, display: &str, ctx: &FileCtx, out: &mut Sink) -> Counts {
    let mut counts = Counts::default();
    let fail_file = |out: &mut Sink, msg: &str, counts: &mut Counts| {
        out.line(&format!("not ok 1 - {display} - {msg}"));
        out.line("1..1");
        counts.failed += 1;
    };
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            fail_file(out, &format!("cannot read: {e}"), &mut counts);
            return counts;
        }
    };
    let tf: TestFile = match parse::parse_file(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{display}: REFUSED: {e}");
            fail_file(out, &format!("refused: {e}"), &mut counts);
            return counts;
        }
    };

    // block selection: ONLY, SKIP, LAST
    let total = tf.blocks.len();
    let mut selected: Vec<&Block> = if let Some(b) = tf.blocks.iter().find(|b| b.has("ONLY")) {
        eprintln!(
            "{display}: WARNING: running only block `{}` (--- ONLY)",
            b.name
        );
        vec![b]
    } else {
        let mut v = Vec::new();
        for b in &tf.blocks {
            if b.has("SKIP") {
                continue;
            }
            v.push(b);
            if b.has("LAST") {
                break;
            }
        }
        v
    };
    counts.skipped = total - selected.len();
    if !(tf.prologue.no_shuffle || ctx.no_shuffle_env) {
        let mut st = ctx.seed | 1;
        for i in (1..selected.len()).rev() {
            let j = (rng_next(&mut st) % (i as u64 + 1)) as usize;
            selected.swap(i, j);
        }
    }

    let mut env = HashMap::new();
    env.insert(
        "TEST_NGINX_SERVER_ROOT".to_string(),
        ctx.servroot.display().to_string(),
    );
    env.insert("TEST_NGINX_SERVER_PORT".to_string(), ctx.port.to_string());
    if tf.prologue.set_html_dir {
        let cur = std::env::var("TEST_NGINX_HTML_DIR")
            .ok()
            .filter(|s| !s.is_empty());
        env.insert(
            "TEST_NGINX_HTML_DIR".to_string(),
            cur.unwrap_or_else(|| ctx.servroot.join("html").display().to_string()),
        );
    }
    let mut r = Runner {
        ctx,
        file: display,
        prologue: tf.prologue.clone(),
        out,
        n: 0,
        env,
    };
    let last = selected.len().saturating_sub(1);
    for (k, b) in selected.iter().enumerate() {
        if r.run_block(b, k == last) {
            counts.passed += 1;
        } else {
            counts.failed += 1;
        }
    }
    r.out.line(&format!("1..{}", r.n));
    if !ctx.no_clean && ctx.servroot.file_name().is_some_and(|n| n != "servroot") {
        let _ = fs::remove_dir_all(&ctx.servroot);
    }
    counts
}

impl Runner<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    fn emit(&mut self, block: &Block, a: &Assertion, suffix: &str) -> bool {
        self.n += 1;
        let status = if a.ok { "ok" } else { "not ok" };
        // a `#` in a TAP description could start a directive: escape it like Test::More
        let desc = format!("{} {} - {}{suffix}", self.file, block.name, a.desc).replace('#', "\\#");
        self.out.line(&format!("{status} {} - {desc}", self.n));
        if !a.ok {
            self.out.line(&format!(
                "#   Failed test '{} - {}{suffix}'",
                block.name, a.desc
            ));
            self.out
                .line(&format!("#   at {} line {}.", self.file, block.line));
            for d in &a.diag {
                self.out.diag(d);
            }
        }
        a.ok
    }

    fn spec(&self, block: &Block) -> Result<Spec, String> {
        let env = |n: &str| self.lookup(n);
        for s in &block.sections {
            if UNIMPLEMENTED.contains(&s.name.as_str()) {
                return Err(format!(
                    "section `--- {}` (line {}) is not implemented by this runner",
                    s.name, s.line
                ));
            }
            if !IMPLEMENTED.contains(&s.name.as_str()) {
                eprintln!(
                    "{}: WARNING: {}: unknown section `--- {}` (line {}) ignored",
                    self.file, block.name, s.name, s.line
                );
            }
        }
        for (i, s) in block.sections.iter().enumerate() {
            if block.sections[..i].iter().any(|p| p.name == s.name) {
                return Err(format!(
                    "duplicate section `--- {}` (line {})",
                    s.name, s.line
                ));
            }
        }
        let val = |name: &str| -> Result<Option<Value>, String> {
            match block.section(name) {
                Some(s) => parse::section_value(s, &env).map(Some),
                None => Ok(None),
            }
        };
        let text = |name: &str, expand: bool| -> Result<String, String> {
            match val(name)? {
                None => Ok(String::new()),
                Some(Value::Str(s)) if expand => {
                    parse::expand_env(&s, &env).map_err(|e| format!("section `{name}`: {e}"))
                }
                Some(Value::Str(s)) => Ok(s),
                Some(o) => Err(format!(
                    "section `{name}`: expected a string, got {}",
                    o.describe()
                )),
            }
        };
        let num = |name: &str, default: f64| -> Result<f64, String> {
            match val(name)? {
                None => Ok(default),
                Some(Value::Str(s)) if s.trim().is_empty() => Ok(default),
                Some(Value::Str(s)) => {
                    let t = s.trim().trim_end_matches('s');
                    t.parse()
                        .map_err(|_| format!("section `{name}`: not a number: `{}`", s.trim()))
                }
                Some(o) => Err(format!("section `{name}`: got {}", o.describe())),
            }
        };
        let pats = |name: &str| -> Result<Vec<Pattern>, String> {
            match val(name)? {
                None => Ok(Vec::new()),
                Some(v) => checks::patterns(&v).map_err(|e| format!("section `{name}`: {e}")),
            }
        };
        let requests = match val("request")? {
            None => Vec::new(),
            Some(Value::Str(s)) => vec![s],
            Some(Value::Array(a)) => a
                .into_iter()
                .map(string("request"))
                .collect::<Result<_, _>>()?,
            Some(o) => return Err(format!("section `request`: got {}", o.describe())),
        };
        for r in &requests {
            client::parse_request(r).map_err(|e| format!("section `request`: {e}"))?;
        }
        let more_headers = match val("more_headers")? {
            None => Vec::new(),
            Some(Value::Str(s)) => client::parse_more_headers(&s)?,
            Some(o) => return Err(format!("section `more_headers`: got {}", o.describe())),
        };
        let expand = |s: String| parse::expand_env(&s, &env);
        let user_files = match val("user_files")? {
            None => Vec::new(),
            Some(Value::Str(s)) => parse_user_files(&expand(s)?)?,
            Some(o) => return Err(format!("section `user_files`: got {}", o.describe())),
        };
        let log_level = text("log_level", false)?.trim().to_string();
        Ok(Spec {
            config: text("config", true)?,
            http_config: text("http_config", true)?,
            main_config: text("main_config", true)?,
            requests,
            more_headers,
            error_code: per_req(val("error_code")?, string("error_code"))?,
            response_headers: per_req(val("response_headers")?, string("response_headers"))?,
            response_body: per_req(val("response_body")?, |v| match v {
                Value::Str(s) => expand(s).map_err(|e| format!("section `response_body`: {e}")),
                o => Err(format!("section `response_body`: got {}", o.describe())),
            })?,
            response_body_like: per_req(val("response_body_like")?, |v| match v {
                Value::Str(s) => Ok(Pattern::regex(&crate::eval::PerlRegex {
                    src: s,
                    flags: "s".into(),
                })?),
                Value::Re(r) => Pattern::regex(&r),
                o => Err(format!(
                    "section `response_body_like`: got {}",
                    o.describe()
                )),
            })?,
            error_log: pats("error_log")?,
            no_error_log: pats("no_error_log")?,
            grep_error_log: match val("grep_error_log")? {
                None => None,
                Some(v) => Some(checks::single_pattern(&v)?),
            },
            grep_error_log_out: per_req(val("grep_error_log_out")?, |v| match v {
                Value::Str(s) => {
                    Ok(GrepOut::Str(expand(s).map_err(|e| {
                        format!("section `grep_error_log_out`: {e}")
                    })?))
                }
                Value::Re(r) => Ok(GrepOut::Re(Pattern::regex(&r)?)),
                o => Err(format!(
                    "section `grep_error_log_out`: got {}",
                    o.describe()
                )),
            })?,
            shutdown_error_log: pats("shutdown_error_log")?,
            no_shutdown_error_log: pats("no_shutdown_error_log")?,
            wait: num("wait", 0.0)?,
            timeout: num("timeout", self.prologue.timeout.unwrap_or(3.0))?,
            must_die: block.has("must_die"),
            user_files,
            log_level: if !log_level.is_empty() {
                log_level
            } else {
                self.prologue
                    .log_level
                    .clone()
                    .or_else(|| self.ctx.env_log_level.clone())
                    .unwrap_or_else(|| "debug".into())
            },
            http2: block.has("http2"),
        })
    }

    /// Run one block; returns whether every assertion passed.
    fn run_block(&mut self, block: &Block, is_last: bool) -> bool {
        let spec = match self.spec(block) {
            Ok(s) => s,
            Err(e) => {
                let a = Assertion::fail("block setup", vec![e.clone()]);
                eprintln!("{}: {}: {e}", self.file, block.name);
                return self.emit(block, &a, "");
            }
        };
        if spec.grep_error_log.is_some() != !matches!(spec.grep_error_log_out, PerReq::None) {
            let a = Assertion::fail(
                "block setup",
                vec!["grep_error_log and grep_error_log_out go together".into()],
            );
            return self.emit(block, &a, "");
        }
        let mut ok = true;
        let paths = Paths::new(&self.ctx.servroot);
        nginx::stop_stale(&paths);
        if let Err(e) = nginx::prepare_servroot(&paths) {
            return self.emit(block, &Assertion::fail("prepare servroot", vec![e]), "");
        }
        for (name, content) in &spec.user_files {
            let p = paths.html.join(name);
            if let Some(dir) = p.parent() {
                let _ = fs::create_dir_all(dir);
            }
            if let Err(e) = fs::write(&p, content) {
                return self.emit(
                    block,
                    &Assertion::fail("user_files", vec![format!("{}: {e}", p.display())]),
                    "",
                );
            }
        }
        let server_name = self
            .prologue
            .server_name
            .clone()
            .unwrap_or_else(|| "localhost".into());
        let conf_text = conf::generate(&ConfParams {
            servroot: &paths.servroot,
            port: self.ctx.port,
            workers: self.prologue.workers.unwrap_or(1),
            master_on: self.prologue.master_on,
            log_level: &spec.log_level,
            env_to_nginx: &self.prologue.env_to_nginx,
            load_modules: &self.ctx.load_modules,
            main_config: &spec.main_config,
            http_config: &spec.http_config,
            config: &spec.config,
            server_name: &server_name,
            worker_connections: self.prologue.worker_connections.unwrap_or(64),
            no_root_location: self.prologue.no_root_location,
            as_root: nginx::is_root(),
        });
        if let Err(e) = fs::write(&paths.conf, &conf_text) {
            return self.emit(
                block,
                &Assertion::fail("write nginx.conf", vec![e.to_string()]),
                "",
            );
        }
        if self.ctx.verbose {
            self.out.diag(&format!(
                "{}: starting {} -p {}/ -c {}",
                block.name,
                self.ctx.binary,
                paths.servroot.display(),
                paths.conf.display()
            ));
        }
        let env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let started = nginx::start(&self.ctx.binary, &paths, &env);
        let pid = match started {
            Err(f) => {
                let mut d = vec![f.message];
                d.extend(stderr_diag(&f.stderr));
                self.emit(block, &Assertion::fail("nginx started", d), "");
                self.block_failed(block, &paths, None);
                return false;
            }
            Ok(Started::Died(status, stderr)) => {
                if spec.must_die {
                    ok &= self.emit(block, &Assertion::pass("nginx must die"), "");
                    let (data, _) = nginx::read_from(&paths.error_log, 0);
                    let mut lines = nginx::lines(&data);
                    lines.extend(nginx::lines(stderr.as_bytes()));
                    ok &= self.log_checks(block, &spec, &lines, "", 0);
                } else {
                    let mut d = vec![format!("nginx exited: {status}")];
                    d.extend(stderr_diag(&stderr));
                    ok &= self.emit(block, &Assertion::fail("nginx started", d), "");
                }
                if !ok {
                    self.block_failed(block, &paths, None);
                }
                return ok;
            }
            Ok(Started::Running(pid)) => pid,
        };
        if spec.must_die {
            self.emit(
                block,
                &Assertion::fail("nginx must die", vec!["nginx started successfully".into()]),
                "",
            );
            nginx::stop(pid);
            self.block_failed(block, &paths, None);
            return false;
        }

        // requests
        let reps = self.prologue.repeat_each.max(1) as usize;
        let total = spec.requests.len() * reps;
        let mut pos = 0u64;
        let settle = Duration::from_secs_f64(spec.wait.max(0.0) + 0.05);
        if spec.requests.is_empty() {
            sleep(settle);
            let (data, _) = nginx::read_from(&paths.error_log, 0);
            ok &= self.log_checks(block, &spec, &nginx::lines(&data), "", 0);
        }
        for rep in 0..reps {
            for (i, rq) in spec.requests.iter().enumerate() {
                let suffix = if total <= 1 {
                    String::new()
                } else if reps > 1 {
                    format!(" (repeated req {rep}, req {i})")
                } else {
                    format!(" (req {i})")
                };
                ok &= self.do_request(block, &spec, rq, i, &suffix, "localhost");
                sleep(settle);
                let from = if self.prologue.check_accum_error_log {
                    0
                } else {
                    pos
                };
                let (data, newpos) = nginx::read_from(&paths.error_log, from);
                pos = newpos;
                ok &= self.log_checks(block, &spec, &nginx::lines(&data), &suffix, i);
            }
        }

        // shutdown
        let keep = self.ctx.no_clean
            && is_last
            && spec.shutdown_error_log.is_empty()
            && spec.no_shutdown_error_log.is_empty();
        let mut before_stop = None;
        if !keep {
            let before = nginx::file_len(&paths.error_log);
            before_stop = Some(before);
            nginx::stop(pid);
            let (data, _) = nginx::read_from(&paths.error_log, before);
            let lines = nginx::lines(&data);
            let what = "error.log during shutdown";
            for a in checks::error_log(&spec.shutdown_error_log, &lines, what) {
                ok &= self.emit(block, &a, "");
            }
            for a in checks::no_error_log(&spec.no_shutdown_error_log, &lines, what) {
                ok &= self.emit(block, &a, "");
            }
            ok &= self.scan(block, &lines, " (shutdown)");
        } else {
            self.out.diag(&format!(
                "TEST_NGINX_NO_CLEAN: nginx (pid {pid}) left running"
            ));
        }
        if !ok {
            self.block_failed(block, &paths, before_stop);
        }
        ok
    }

    fn do_request(
        &mut self,
        block: &Block,
        spec: &Spec,
        rq: &str,
        i: usize,
        suffix: &str,
        host: &str,
    ) -> bool {
        let mut ok = true;
        let req = match client::parse_request(rq) {
            Ok(r) => r,
            Err(e) => return self.emit(block, &Assertion::fail("request", vec![e]), suffix),
        };
        let timeout = Duration::from_secs_f64(spec.timeout.max(0.001));
        let (resp, err) = if spec.http2 {
            client::send_http2(self.ctx.port, &req, &spec.more_headers, host, timeout)
        } else {
            let raw = client::build_raw(&req, &spec.more_headers, host);
            if self.ctx.verbose {
                self.out.diag(&format!(
                    "request: {}",
                    crate::tap::quote(&String::from_utf8_lossy(&raw))
                ));
            }
            let (data, err) = client::send_raw(self.ctx.port, &raw, timeout);
            if self.ctx.verbose {
                self.out.diag(&format!(
                    "response: {}",
                    crate::tap::quote(&String::from_utf8_lossy(&data))
                ));
            }
            (client::parse_response(&data, req.method == "HEAD"), err)
        };
        if let Some(e) = err {
            ok &= self.emit(
                block,
                &Assertion::fail(e.clone(), vec![format!("    {e}")]),
                suffix,
            );
        }
        let expected_code = spec
            .error_code
            .get(i)
            .cloned()
            .unwrap_or_else(|| "200".into());
        let mut a = checks::status(&expected_code, &resp);
        if !a.ok {
            if let Some(p) = &resp.problem {
                a.diag.push(format!("    response problem: {p}"));
            }
        }
        ok &= self.emit(block, &a, suffix);
        if let Some(h) = spec.response_headers.get(i) {
            for a in checks::headers(h, &resp) {
                ok &= self.emit(block, &a, suffix);
            }
        }
        if let Some(b) = spec.response_body.get(i) {
            ok &= self.emit(block, &checks::body(b, &resp.body), suffix);
        } else if let Some(p) = spec.response_body_like.get(i) {
            ok &= self.emit(block, &checks::body_like(p, &resp.body), suffix);
        }
        for (name, short) in [
            ("response_body", spec.response_body.short(i)),
            ("response_body_like", spec.response_body_like.short(i)),
            ("error_code", spec.error_code.short(i)),
            ("response_headers", spec.response_headers.short(i)),
        ] {
            if short {
                ok &= self.emit(
                    block,
                    &Assertion::fail(
                        format!("{name} has no element for request {i}"),
                        vec![format!("    the `{name}` array is shorter than `request`")],
                    ),
                    suffix,
                );
            }
        }
        ok
    }

    fn log_checks(
        &mut self,
        block: &Block,
        spec: &Spec,
        lines: &[String],
        suffix: &str,
        i: usize,
    ) -> bool {
        let mut ok = true;
        for a in checks::error_log(&spec.error_log, lines, "error.log") {
            ok &= self.emit(block, &a, suffix);
        }
        for a in checks::no_error_log(&spec.no_error_log, lines, "error.log") {
            ok &= self.emit(block, &a, suffix);
        }
        if let Some(p) = &spec.grep_error_log {
            let got = checks::grep(p, lines);
            let a = match spec.grep_error_log_out.get(i) {
                Some(GrepOut::Str(s)) => checks::grep_out(Expected::Str(s), &got),
                Some(GrepOut::Re(r)) => checks::grep_out(Expected::Re(r), &got),
                None => Assertion::fail(
                    "grep_error_log_out",
                    vec![format!("    no grep_error_log_out element for request {i}")],
                ),
            };
            ok &= self.emit(block, &a, suffix);
        }
        ok &= self.scan(block, lines, suffix);
        ok
    }

    /// `Assertion .* failed` fails; `[alert]`/`[crit]`/`[emerg]` are reported.
    fn scan(&mut self, block: &Block, lines: &[String], suffix: &str) -> bool {
        let (asserts, alerts) = checks::scan(lines);
        for l in &alerts {
            self.out.diag(&format!(
                "{} {}{suffix}: error.log: {l}",
                self.file, block.name
            ));
        }
        if asserts.is_empty() {
            return true;
        }
        let d = asserts.iter().map(|l| format!("    {l}")).collect();
        self.emit(
            block,
            &Assertion::fail("no assertion failure in error.log", d),
            suffix,
        )
    }

    /// Diagnostics for a failed block: error.log tail and a kept copy of conf and log.
    fn block_failed(&mut self, block: &Block, paths: &Paths, upto: Option<u64>) {
        let tail = nginx::tail(&paths.error_log, 20, upto);
        if !tail.is_empty() {
            self.out
                .diag(&format!("error.log (last {} lines):", tail.len()));
            for l in &tail {
                self.out.diag(&format!("  {}", l.trim_end_matches('\n')));
            }
        }
        let parent = paths
            .servroot
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let stem: String = self
            .file
            .trim_end_matches(".t")
            .trim_start_matches("./")
            .trim_start_matches("t/")
            .replace(['/', '\\'], "_");
        let keep = parent
            .join("servroot-failed")
            .join(format!("{stem}.TEST-{}", block.index));
        let _ = fs::create_dir_all(&keep);
        let _ = fs::copy(&paths.conf, keep.join("nginx.conf"));
        let _ = fs::copy(&paths.error_log, keep.join("error.log"));
        self.out.diag(&format!(
            "conf: {} (copy of {})",
            keep.join("nginx.conf").display(),
            paths.conf.display()
        ));
    }
}

fn stderr_diag(stderr: &str) -> Vec<String> {
    let mut d = Vec::new();
    if !stderr.trim().is_empty() {
        d.push("nginx stderr:".into());
        d.extend(stderr.lines().map(|l| format!("  {l}")));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_files_parsing() {
        let f =
            parse_user_files(">>> a.txt\nhello\n>>> sub/b.html 201109192000\n<p>x</p>\n").unwrap();
        assert_eq!(
            f,
            vec![
                ("a.txt".to_string(), "hello\n".to_string()),
                ("sub/b.html".to_string(), "<p>x</p>\n".to_string())
            ]
        );
        assert!(parse_user_files(">>> ../x\n").is_err());
        assert!(parse_user_files("junk\n").is_err());
    }

    #[test]
    fn section_lists_are_disjoint() {
        for s in IMPLEMENTED {
            assert!(!UNIMPLEMENTED.contains(s), "{s}");
        }
    }
}
