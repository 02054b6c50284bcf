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
    "abort",
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

/// How a block that cannot run ends.
#[derive(Debug, PartialEq)]
pub enum Stop {
    /// Test::Nginx bails out (`BAIL_OUT`, the whole run stops); the runner fails the block
    /// and stops the file. The text is the library's message, after `<name> - `.
    Bail(String),
    /// The runner cannot run the block as the library would: the block fails.
    Refuse(String),
}

impl From<String> for Stop {
    fn from(s: String) -> Stop {
        Stop::Refuse(s)
    }
}

/// The result of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Pass,
    Fail,
    /// failed and bailed out: the rest of the file is not run
    Bail,
}

struct Runner<'a> {
    ctx: &'a FileCtx,
    file: &'a str,
    prologue: Prologue,
    out: &'a mut Sink,
    n: usize,
    env: HashMap<String, String>,
    /// a block with `--- config` has run (Test::Nginx's `$PrevConfig` is defined)
    had_config: bool,
}

/// One element of an expectation for one request (or repetition).
#[derive(Debug, PartialEq)]
pub enum Elem<'a, T> {
    /// the section is absent
    Absent,
    Val(&'a T),
    /// an array without an element at this index (Perl's undef)
    Undef,
}

/// A response expectation as `get_indexed_value` reads it: a scalar (one request only), or
/// an array indexed by request (with one request, its first element is used).
#[derive(Debug)]
pub enum PerReq<T> {
    None,
    One(T),
    Many(Vec<T>),
}

impl<T> PerReq<T> {
    pub fn get(&self, i: usize) -> Elem<'_, T> {
        match self {
            PerReq::None => Elem::Absent,
            PerReq::One(t) => Elem::Val(t),
            PerReq::Many(v) => v.get(i).map(Elem::Val).unwrap_or(Elem::Undef),
        }
    }
}

/// `get_indexed_value`'s rule: with several requests a scalar expectation bails out.
pub fn per_req<T>(
    name: &str,
    v: Option<Value>,
    nreq: usize,
    f: impl Fn(Value) -> Result<T, String>,
) -> Result<PerReq<T>, Stop> {
    Ok(match v {
        None => PerReq::None,
        Some(Value::Array(a)) => {
            if a.len() != nreq.max(1) {
                eprintln!(
                    "WARNING: --- {name} has {} element(s) for {} request(s): Test::Nginx indexes it \
                     by request, extra elements are ignored and a missing one is undef",
                    a.len(),
                    nreq
                );
            }
            PerReq::Many(a.into_iter().map(f).collect::<Result<_, _>>()?)
        }
        Some(_) if nreq > 1 => {
            return Err(Stop::Bail(
                "You asked for many requests, the expected results should be arrays as well."
                    .into(),
            ))
        }
        Some(v) => PerReq::One(f(v)?),
    })
}

/// A log expectation indexed by repetition (`grep_error_log`, `grep_error_log_out`): Socket.pm
/// takes element `$repeated_req_idx` of an array for every request of that repetition.
#[derive(Debug)]
pub enum PerRep<T> {
    None,
    All(T),
    ByRep(Vec<T>),
}

impl<T> PerRep<T> {
    pub fn get(&self, r: usize) -> Elem<'_, T> {
        match self {
            PerRep::None => Elem::Absent,
            PerRep::All(t) => Elem::Val(t),
            PerRep::ByRep(v) => v.get(r).map(Elem::Val).unwrap_or(Elem::Undef),
        }
    }
    fn is_none(&self) -> bool {
        matches!(self, PerRep::None)
    }
}

fn per_rep<T>(
    name: &str,
    v: Option<Value>,
    reps: usize,
    f: impl Fn(Value) -> Result<T, String>,
) -> Result<PerRep<T>, String> {
    Ok(match v {
        None => PerRep::None,
        Some(Value::Array(a)) => {
            if a.len() != reps {
                eprintln!(
                    "WARNING: --- {name} has {} element(s) with repeat_each({reps}): Test::Nginx \
                     indexes it by repetition, not by request (element r is checked after every \
                     request of repetition r)",
                    a.len()
                );
            }
            PerRep::ByRep(a.into_iter().map(f).collect::<Result<_, _>>()?)
        }
        Some(v) => PerRep::All(f(v)?),
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

/// Util.pm's `parse_time`: `Nms` is N/1000 s, `Ns` is N s, anything else is taken as a number.
pub fn parse_time(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms.trim().parse::<f64>().ok().map(|v| v / 1000.0);
    }
    t.strip_suffix('s').unwrap_or(t).trim().parse().ok()
}

/// Perl's `looks_like_number` for the `--- must_die` value, as an exit code.
fn exit_code(s: &str) -> Option<i32> {
    let t = s.trim();
    t.parse::<i32>()
        .ok()
        .or_else(|| t.parse::<f64>().ok().map(|f| f as i32))
}

/// `--- request` as `get_req_from_block` prepares it: leading whitespace and `#` comment
/// lines are dropped.
pub fn strip_request(s: &str) -> String {
    let mut r = s;
    loop {
        let t = r.trim_start();
        if t.starts_with('#') {
            if let Some(nl) = t.find('\n') {
                if nl > 1 {
                    r = &t[nl..];
                    continue;
                }
            }
        }
        return t.to_string();
    }
}

enum BodyExp {
    Str(String),
    Re(Pattern),
}

enum GrepOut {
    Str(String),
    Re(Pattern),
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
    response_body: PerReq<BodyExp>,
    response_body_like: PerReq<Pattern>,
    error_log: Vec<Pattern>,
    no_error_log: Vec<Pattern>,
    grep_error_log: PerRep<Pattern>,
    grep_error_log_out: PerRep<GrepOut>,
    /// checked only when `shutdown_error_log` is there (with `no_shutdown_error_log`)
    shutdown_error_log: Option<Vec<Pattern>>,
    no_shutdown_error_log: Vec<Pattern>,
    wait: f64,
    timeout: f64,
    /// `--- must_die`, with the exit code when its value is a number
    must_die: Option<Option<i32>>,
    abort: bool,
    user_files: Vec<(String, String)>,
    log_level: String,
    http2: bool,
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
        had_config: false,
    };
    let last = selected.len().saturating_sub(1);
    let mut bailed = false;
    for (k, b) in selected.iter().enumerate() {
        match r.run_block(b, k == last) {
            Outcome::Pass => counts.passed += 1,
            Outcome::Fail => counts.failed += 1,
            Outcome::Bail => {
                counts.failed += 1;
                counts.skipped += selected.len() - k - 1;
                bailed = true;
                break;
            }
        }
    }
    if !bailed {
        r.out.line(&format!("1..{}", r.n));
    }
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

    /// The block's name as Test::Nginx shows it: `$0 . " " . $block->name`.
    fn name(&self, block: &Block) -> String {
        format!("{} {}", self.file, block.name)
    }

    fn emit(&mut self, block: &Block, a: &Assertion) -> bool {
        let full = format!("{} - {}", self.name(block), a.desc);
        self.emit_raw(block, &full, a)
    }

    /// Emit with a complete test name (Socket.pm names a few failures without the
    /// `<name> - ` prefix, e.g. `ERROR: client socket timed out - <name>`).
    fn emit_raw(&mut self, block: &Block, full: &str, a: &Assertion) -> bool {
        self.n += 1;
        let status = if a.ok { "ok" } else { "not ok" };
        // a `#` in a TAP description could start a directive: escape it like Test::More
        let desc = full.replace('#', "\\#");
        self.out.line(&format!("{status} {} - {desc}", self.n));
        if !a.ok {
            self.out.line(&format!("#   Failed test '{full}'"));
            self.out
                .line(&format!("#   at {} line {}.", self.file, block.line));
            for d in &a.diag {
                self.out.diag(d);
            }
        }
        a.ok
    }

    /// A bail-out: the block fails with the library's message and the file stops.
    fn bail(&mut self, block: &Block, msg: &str) -> Outcome {
        let full = format!("{} - {msg}", self.name(block));
        eprintln!("Bail out!  {full}");
        self.emit_raw(block, &full, &Assertion::fail("", Vec::new()));
        self.out.line(&format!("Bail out!  {full}"));
        Outcome::Bail
    }

    fn spec(&self, block: &Block) -> Result<Spec, Stop> {
        let env = |n: &str| self.lookup(n);
        for s in &block.sections {
            if UNIMPLEMENTED.contains(&s.name.as_str()) {
                return Err(Stop::Refuse(format!(
                    "section `--- {}` (line {}) is not implemented by this runner",
                    s.name, s.line
                )));
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
                return Err(Stop::Refuse(format!(
                    "duplicate section `--- {}` (line {})",
                    s.name, s.line
                )));
            }
        }
        let val = |name: &str| -> Result<Option<Value>, String> {
            match block.section(name) {
                Some(s) => parse::section_value(s, &env).map(Some),
                None => Ok(None),
            }
        };
        // `expand_env_in_text`: config, http_config, main_config and user_files only; an
        // unset variable bails out
        let expand =
            |s: String| -> Result<String, Stop> { parse::expand_env(&s, &env).map_err(Stop::Bail) };
        let text = |name: &str| -> Result<String, Stop> {
            match val(name)? {
                None => Ok(String::new()),
                Some(Value::Str(s)) => expand(s),
                Some(o) => Err(Stop::Refuse(format!(
                    "section `{name}`: expected a string, got {}",
                    o.describe()
                ))),
            }
        };
        let pats = |name: &str| -> Result<Option<Vec<Pattern>>, String> {
            match val(name)? {
                None => Ok(None),
                Some(v) => checks::patterns(&v)
                    .map(Some)
                    .map_err(|e| format!("section `{name}`: {e}")),
            }
        };
        let must_die = match val("must_die")? {
            None => None,
            Some(Value::Str(s)) => Some(exit_code(&s)),
            Some(_) => Some(None),
        };
        // the nginx manager: a block without --- config reuses the previous block's nginx
        if !block.has("config") {
            if !self.had_config {
                return Err(Stop::Bail(
                    "No '--- config' section specified and could not get previous one. Use \
                     TEST_NGINX_NO_NGINX_MANAGER ?"
                        .into(),
                ));
            }
            return Err(Stop::Refuse(
                "no `--- config`: Test::Nginx would keep the previous block's nginx running and \
                 read its error.log from the start; this runner does not do that, give the block \
                 its own `--- config`"
                    .into(),
            ));
        }
        let config = text("config")?;
        let http_config = text("http_config")?;
        let main_config = text("main_config")?;
        let requests = match val("request")? {
            None if must_die.is_some() => Vec::new(),
            None => return Err(Stop::Bail("Request line should be non-empty".into())),
            Some(Value::Str(s)) => vec![strip_request(&s)],
            Some(Value::Array(a)) => {
                if a.is_empty() {
                    return Err(Stop::Bail("request empty".into()));
                }
                let mut v = Vec::new();
                for x in a {
                    match x {
                        Value::Str(s) => v.push(s),
                        _ => {
                            return Err(Stop::Refuse(
                                "section `request`: a request given as packets (an array) is \
                                 not implemented by this runner"
                                    .into(),
                            ))
                        }
                    }
                }
                v
            }
            Some(Value::Re(_)) => {
                return Err(Stop::Bail(
                    "invalid ---request : MUST be string or array of requests".into(),
                ))
            }
        };
        if must_die.is_none() {
            for r in &requests {
                client::check_request_line(r).map_err(Stop::Bail)?;
            }
        }
        let nreq = requests.len();
        let reps = self.prologue.repeat_each.max(1) as usize;
        let more_headers = match val("more_headers")? {
            None => Vec::new(),
            Some(Value::Str(s)) => client::parse_more_headers(&s)?,
            Some(o) => {
                return Err(Stop::Refuse(format!(
                    "section `more_headers`: got {}",
                    o.describe()
                )))
            }
        };
        let user_files = match val("user_files")? {
            None => Vec::new(),
            Some(Value::Str(s)) => parse_user_files(&expand(s)?)?,
            Some(o) => {
                return Err(Stop::Refuse(format!(
                    "section `user_files`: got {}",
                    o.describe()
                )))
            }
        };
        let log_level = match val("log_level")? {
            Some(Value::Str(s)) => s.trim().to_string(),
            _ => String::new(),
        };
        let num =
            |name: &str, default: f64, parse: fn(&str) -> Option<f64>| -> Result<f64, String> {
                match val(name)? {
                    None => Ok(default),
                    Some(Value::Str(s)) if s.trim().is_empty() => Ok(default),
                    Some(Value::Str(s)) => parse(&s)
                        .ok_or_else(|| format!("section `{name}`: not a number: `{}`", s.trim())),
                    Some(o) => Err(format!("section `{name}`: got {}", o.describe())),
                }
            };
        // --- wait goes to Perl's sleep as is: only a plain number means what it says
        let wait = num("wait", 0.0, |s| s.trim().parse().ok())?;
        let timeout = num(
            "timeout",
            self.prologue
                .timeout
                .or_else(|| {
                    std::env::var("TEST_NGINX_TIMEOUT")
                        .ok()
                        .and_then(|t| t.parse().ok())
                })
                .unwrap_or(3.0),
            parse_time,
        )?;
        let grep_error_log = per_rep("grep_error_log", val("grep_error_log")?, reps, |v| {
            checks::single_pattern(&v)
        })?;
        let grep_error_log_out = per_rep(
            "grep_error_log_out",
            val("grep_error_log_out")?,
            reps,
            |v| match v {
                Value::Str(s) => Ok(GrepOut::Str(s)),
                Value::Re(r) => Ok(GrepOut::Re(Pattern::regex(&r)?)),
                o => Err(format!(
                    "section `grep_error_log_out`: got {}",
                    o.describe()
                )),
            },
        )?;
        if grep_error_log.is_none() && !grep_error_log_out.is_none() {
            return Err(Stop::Bail(
                "No --- grep_error_log defined but --- grep_error_log_out is defined".into(),
            ));
        }
        if !grep_error_log.is_none() && grep_error_log_out.is_none() {
            return Err(Stop::Bail(
                "No --- grep_error_log_out defined but --- grep_error_log is defined".into(),
            ));
        }
        let shutdown_error_log = pats("shutdown_error_log")?;
        let no_shutdown_error_log = pats("no_shutdown_error_log")?.unwrap_or_default();
        if shutdown_error_log.is_none() && block.has("no_shutdown_error_log") {
            eprintln!(
                "{}: WARNING: {}: --- no_shutdown_error_log is ignored without \
                 --- shutdown_error_log (Test::Nginx checks the shutdown log only for a block \
                 that has --- shutdown_error_log)",
                self.file, block.name
            );
        }
        let response_body = per_req("response_body", val("response_body")?, nreq, |v| match v {
            Value::Str(s) => Ok(BodyExp::Str(s)),
            Value::Re(r) => Ok(BodyExp::Re(Pattern::regex(&r)?)),
            o => Err(format!("section `response_body`: got {}", o.describe())),
        })?;
        // response_body wins over response_body_like (Socket.pm: if/elsif)
        let response_body_like = if matches!(response_body, PerReq::None) {
            per_req(
                "response_body_like",
                val("response_body_like")?,
                nreq,
                |v| {
                    let port = self.ctx.port;
                    match v {
                        Value::Str(s) => Pattern::regex(&crate::eval::PerlRegex {
                            src: checks::server_port(&s, port),
                            flags: "s".into(),
                        }),
                        Value::Re(r) => Pattern::regex(&crate::eval::PerlRegex {
                            src: checks::server_port(&r.src, port),
                            flags: r.flags,
                        }),
                        o => Err(format!(
                            "section `response_body_like`: got {}",
                            o.describe()
                        )),
                    }
                },
            )?
        } else {
            PerReq::None
        };
        Ok(Spec {
            config,
            http_config,
            main_config,
            more_headers,
            error_code: per_req("error_code", val("error_code")?, nreq, |v| {
                string("error_code")(v).map(|s| s.trim().to_string())
            })?,
            response_headers: per_req(
                "response_headers",
                val("response_headers")?,
                nreq,
                string("response_headers"),
            )?,
            response_body,
            response_body_like,
            requests,
            error_log: pats("error_log")?.unwrap_or_default(),
            no_error_log: pats("no_error_log")?.unwrap_or_default(),
            grep_error_log,
            grep_error_log_out,
            shutdown_error_log,
            no_shutdown_error_log,
            wait,
            timeout,
            must_die,
            abort: block.has("abort"),
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

    /// Run one block.
    fn run_block(&mut self, block: &Block, is_last: bool) -> Outcome {
        let spec = match self.spec(block) {
            Ok(s) => s,
            Err(Stop::Bail(m)) => return self.bail(block, &m),
            Err(Stop::Refuse(e)) => {
                let a = Assertion::fail("block setup", vec![e.clone()]);
                eprintln!("{}: {}: {e}", self.file, block.name);
                self.emit(block, &a);
                return Outcome::Fail;
            }
        };
        self.had_config = true;
        let verdict = |ok: bool| if ok { Outcome::Pass } else { Outcome::Fail };
        let paths = Paths::new(&self.ctx.servroot);
        nginx::stop_stale(&paths);
        if let Err(e) = nginx::prepare_servroot(&paths) {
            self.emit(block, &Assertion::fail("prepare servroot", vec![e]));
            return Outcome::Fail;
        }
        for (name, content) in &spec.user_files {
            let p = paths.html.join(name);
            if let Some(dir) = p.parent() {
                let _ = fs::create_dir_all(dir);
            }
            if let Err(e) = fs::write(&p, content) {
                self.emit(
                    block,
                    &Assertion::fail("user_files", vec![format!("{}: {e}", p.display())]),
                );
                return Outcome::Fail;
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
            http2: spec.http2,
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
            self.emit(
                block,
                &Assertion::fail("write nginx.conf", vec![e.to_string()]),
            );
            return Outcome::Fail;
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
        let reps = self.prologue.repeat_each.max(1) as usize;
        if let Some(code) = spec.must_die {
            return verdict(self.must_die(block, &spec, &paths, &env, code, reps));
        }

        let pid = match nginx::start(&self.ctx.binary, &paths, &env) {
            Ok(Started::Running(pid)) => pid,
            Ok(Started::Died(status, _, stderr)) => {
                let mut d = vec![format!("nginx exited: {status}")];
                d.extend(stderr_diag(&stderr));
                self.out.diag(&d.join("\n"));
                self.block_failed(block, &paths, None);
                return self.bail(
                    block,
                    &format!(
                        "Cannot start nginx using command \"{} -p {}/ -c {} > /dev/null\" ({status}).",
                        self.ctx.binary,
                        paths.servroot.display(),
                        paths.conf.display()
                    ),
                );
            }
            Err(f) => {
                let mut d = vec![f.message.clone()];
                d.extend(stderr_diag(&f.stderr));
                self.out.diag(&d.join("\n"));
                self.block_failed(block, &paths, None);
                return self.bail(
                    block,
                    &format!(
                        "Cannot start nginx using command \"{}\": {}",
                        self.ctx.binary, f.message
                    ),
                );
            }
        };

        // run_test_helper, once per repetition; the error.log checks after every request
        // (Socket.pm: check_error_log after each request, element $repeated_req_idx of the
        // array-valued grep_error_log[_out] for every request of that repetition)
        let mut ok = true;
        let mut pos = 0u64;
        let settle = Duration::from_secs_f64(spec.wait.max(0.0) + 0.05);
        for rep in 0..reps {
            for (i, rq) in spec.requests.iter().enumerate() {
                ok &= self.do_request(block, &spec, rq, rep, i, "localhost");
                sleep(settle);
                let from = if self.prologue.check_accum_error_log {
                    0
                } else {
                    pos
                };
                let (data, newpos) = nginx::read_from(&paths.error_log, from);
                pos = newpos;
                ok &= self.log_checks(block, &spec, &nginx::lines(&data), rep);
            }
        }

        // shutdown: Test::Nginx stops nginx before the next block (or at the end) and, only
        // for a block with --- shutdown_error_log, checks what was logged since the last check
        let keep = self.ctx.no_clean && is_last;
        let mut before_stop = None;
        if !keep {
            before_stop = Some(nginx::file_len(&paths.error_log));
            nginx::stop_within(pid, Duration::from_secs_f64(self.kill_wait()));
            if let (Some(sd), false) = (&spec.shutdown_error_log, self.ctx.no_clean) {
                sleep(Duration::from_millis(45));
                let from = if self.prologue.check_accum_error_log {
                    0
                } else {
                    pos
                };
                let (data, _) = nginx::read_from(&paths.error_log, from);
                let lines = nginx::lines(&data);
                for a in checks::no_error_log(&spec.no_shutdown_error_log, &lines, "") {
                    ok &= self.emit(block, &a);
                }
                for a in checks::error_log(sd, &lines, "") {
                    ok &= self.emit(block, &a);
                }
                ok &= self.scan(block, &lines, true);
            }
        } else {
            self.out.diag(&format!(
                "TEST_NGINX_NO_CLEAN: nginx (pid {pid}) left running"
            ));
        }
        if !ok {
            self.block_failed(block, &paths, before_stop);
        }
        verdict(ok)
    }

    /// `timeout()` bounds the wait after SIGQUIT (Util.pm's kill_process).
    fn kill_wait(&self) -> f64 {
        self.prologue.timeout.unwrap_or(3.0)
    }

    /// `--- must_die`: nginx is run `repeat_each` times; each time its exit status is checked
    /// ("die as expected", or "die with the expected exit code" when the value is a number) and
    /// then the error_log checks read logs/error.log. nginx's stderr is not looked at (the
    /// library sends nothing of it to the checks), no request is sent.
    fn must_die(
        &mut self,
        block: &Block,
        spec: &Spec,
        paths: &Paths,
        env: &[(String, String)],
        code: Option<i32>,
        reps: usize,
    ) -> bool {
        let mut ok = true;
        let mut pos = 0u64;
        for rep in 0..reps {
            let started = nginx::start(&self.ctx.binary, paths, env);
            let desc = if code.is_some() {
                "die with the expected exit code"
            } else {
                "die as expected"
            };
            let mut running = None;
            let a = match started {
                Err(f) => Assertion::fail(
                    "failed to execute the nginx command line",
                    vec![format!("    {}", f.message)],
                ),
                Ok(Started::Died(status, exit, stderr)) => {
                    let pass = match code {
                        Some(c) => exit == Some(c),
                        None => true,
                    };
                    let mut d = vec![format!("    nginx exited: {status}")];
                    d.extend(stderr_diag(&stderr));
                    if pass {
                        if self.ctx.verbose {
                            self.out.diag(&d.join("\n"));
                        }
                        Assertion::pass(desc)
                    } else {
                        Assertion::fail(desc, d)
                    }
                }
                Ok(Started::Running(pid)) => {
                    running = Some(pid);
                    Assertion::fail(desc, vec!["    nginx started successfully".into()])
                }
            };
            ok &= self.emit(block, &a);
            sleep(Duration::from_millis(45));
            let (data, newpos) = nginx::read_from(&paths.error_log, pos);
            pos = newpos;
            ok &= self.log_checks(block, spec, &nginx::lines(&data), rep);
            if let Some(pid) = running {
                nginx::stop_within(pid, Duration::from_secs_f64(self.kill_wait()));
            }
        }
        if !ok {
            self.block_failed(block, paths, None);
        }
        ok
    }

    fn do_request(
        &mut self,
        block: &Block,
        spec: &Spec,
        rq: &str,
        rep: usize,
        i: usize,
        host: &str,
    ) -> bool {
        let mut ok = true;
        let req = match client::parse_request(rq) {
            Ok(r) => r,
            Err(e) => return self.emit(block, &Assertion::fail("request", vec![e])),
        };
        let timeout = Duration::from_secs_f64(spec.timeout.max(0.001));
        let port = self.ctx.port;
        let (resp, err) = if spec.http2 {
            let (resp, err) = client::send_http2(port, &req, &spec.more_headers, host, timeout);
            (resp, err.map(client::ClientError::Other))
        } else {
            let raw = client::build_raw(&req, &spec.more_headers, host);
            if self.ctx.verbose {
                self.out.diag(&format!(
                    "request: {}",
                    crate::tap::quote(&String::from_utf8_lossy(&raw))
                ));
            }
            let (data, err) = client::send_raw(port, &raw, timeout);
            if self.ctx.verbose {
                self.out.diag(&format!(
                    "response: {}",
                    crate::tap::quote(&String::from_utf8_lossy(&data))
                ));
            }
            (client::parse_response(&data, req.method == "HEAD"), err)
        };
        match err {
            // with --- abort a time-out is expected (Socket.pm timeout_event_handler)
            Some(client::ClientError::Timeout(_)) if spec.abort => {}
            Some(client::ClientError::Timeout(detail)) => {
                let full = format!("ERROR: client socket timed out - {}", self.name(block));
                ok &= self.emit_raw(
                    block,
                    &full,
                    &Assertion::fail("", vec![format!("    {detail}")]),
                );
            }
            Some(client::ClientError::Connect(e)) => {
                let full = format!(
                    "{} - Can't connect to 127.0.0.1:{port}: {e} (aborted)",
                    self.name(block)
                );
                ok &= self.emit_raw(block, &full, &Assertion::fail("", Vec::new()));
            }
            Some(client::ClientError::Other(e)) => {
                // Socket.pm only warns on read and write errors
                self.out
                    .diag(&format!("WARNING: {} - {e}", self.name(block)));
            }
            None => {}
        }
        let mut a = match spec.error_code.get(i) {
            Elem::Absent => checks::status(Some("200"), &resp),
            Elem::Val(c) => checks::status(Some(c), &resp),
            Elem::Undef => checks::status(None, &resp),
        };
        if !a.ok {
            if let Some(p) = &resp.problem {
                a.diag.push(format!("    response problem: {p}"));
            }
        }
        ok &= self.emit(block, &a);
        if let Elem::Val(h) = spec.response_headers.get(i) {
            for a in checks::headers(h, &resp, port) {
                ok &= self.emit(block, &a);
            }
        }
        match spec.response_body.get(i) {
            Elem::Val(BodyExp::Str(s)) => {
                let e = checks::server_port(s, port);
                ok &= self.emit(
                    block,
                    &checks::body(checks::Body::Str(&e), &resp.body, rep, i),
                );
            }
            Elem::Val(BodyExp::Re(p)) => {
                ok &= self.emit(
                    block,
                    &checks::body(checks::Body::Re(p), &resp.body, rep, i),
                );
            }
            Elem::Undef => {
                ok &= self.emit(
                    block,
                    &checks::body(checks::Body::Undef, &resp.body, rep, i),
                );
            }
            Elem::Absent => match spec.response_body_like.get(i) {
                Elem::Val(p) => ok &= self.emit(block, &checks::body_like(p, &resp.body)),
                // like($content, qr//s): an undef pattern matches anything
                Elem::Undef => {
                    let p = Pattern::Lit(String::new());
                    ok &= self.emit(block, &checks::body_like(&p, &resp.body));
                }
                Elem::Absent => {}
            },
        }
        ok
    }

    /// Socket.pm's check_error_log: grep_error_log_out, error_log, no_error_log, then the
    /// `Assertion ... failed` scan, on the lines written since the previous check.
    fn log_checks(&mut self, block: &Block, spec: &Spec, lines: &[String], rep: usize) -> bool {
        let mut ok = true;
        let suffix = format!(" (req {rep})");
        if let Elem::Val(p) = spec.grep_error_log.get(rep) {
            let got = checks::grep(p, lines);
            let a = match spec.grep_error_log_out.get(rep) {
                Elem::Val(GrepOut::Str(s)) => checks::grep_out(Expected::Str(s), &got, &suffix),
                Elem::Val(GrepOut::Re(r)) => checks::grep_out(Expected::Re(r), &got, &suffix),
                Elem::Undef | Elem::Absent => checks::grep_out(Expected::Undef, &got, &suffix),
            };
            ok &= self.emit(block, &a);
        }
        for a in checks::error_log(&spec.error_log, lines, &suffix) {
            ok &= self.emit(block, &a);
        }
        for a in checks::no_error_log(&spec.no_error_log, lines, &suffix) {
            ok &= self.emit(block, &a);
        }
        ok &= self.scan(block, lines, false);
        ok
    }

    /// `Assertion ... failed` fails; `[alert]`/`[crit]`/`[emerg]` are reported.
    fn scan(&mut self, block: &Block, lines: &[String], shutdown: bool) -> bool {
        let (asserts, alerts) = checks::scan(lines, shutdown);
        for l in &alerts {
            self.out
                .diag(&format!("WARNING: {} - {l}", self.name(block)));
        }
        let mut ok = true;
        for l in &asserts {
            ok &= self.emit(block, &Assertion::fail(l.clone(), Vec::new()));
        }
        ok
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
    use crate::eval::PerlRegex;

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

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    // Socket.pm get_indexed_value: several requests need arrays; one request takes a scalar
    // or the first element of an array.
    #[test]
    fn response_expectations_need_arrays_with_several_requests() {
        let e = per_req("response_body", Some(s("x")), 2, string("x")).unwrap_err();
        assert_eq!(
            e,
            Stop::Bail(
                "You asked for many requests, the expected results should be arrays as well."
                    .into()
            )
        );
        let v = per_req(
            "b",
            Some(Value::Array(vec![s("a"), s("b")])),
            2,
            string("x"),
        )
        .unwrap();
        assert_eq!(v.get(1), Elem::Val(&"b".to_string()));
        assert_eq!(v.get(2), Elem::Undef);
        let one = per_req("b", Some(s("a")), 1, string("x")).unwrap();
        assert_eq!(one.get(0), Elem::Val(&"a".to_string()));
        let first = per_req(
            "b",
            Some(Value::Array(vec![s("a"), s("z")])),
            1,
            string("x"),
        )
        .unwrap();
        assert_eq!(first.get(0), Elem::Val(&"a".to_string()));
        assert_eq!(
            per_req("b", None, 3, string("x")).unwrap().get(2),
            Elem::Absent
        );
    }

    // Socket.pm check_error_log: grep_error_log[_out] arrays are indexed by
    // $repeated_req_idx, a scalar applies to every request of every repetition.
    #[test]
    fn grep_expectations_are_indexed_by_repetition() {
        let v = per_rep(
            "g",
            Some(Value::Array(vec![s("r0"), s("r1")])),
            2,
            string("x"),
        )
        .unwrap();
        assert_eq!(v.get(0), Elem::Val(&"r0".to_string()));
        assert_eq!(v.get(1), Elem::Val(&"r1".to_string()));
        assert_eq!(v.get(2), Elem::Undef);
        let all = per_rep("g", Some(s("x")), 3, string("x")).unwrap();
        assert_eq!(all.get(2), Elem::Val(&"x".to_string()));
    }

    // Util.pm parse_time (--- timeout); --- wait is a plain number
    #[test]
    fn times() {
        assert_eq!(parse_time("500ms"), Some(0.5));
        assert_eq!(parse_time("2s"), Some(2.0));
        assert_eq!(parse_time("1.5"), Some(1.5));
        assert_eq!(parse_time("x"), None);
        assert_eq!(exit_code("1"), Some(1));
        assert_eq!(exit_code(""), None);
    }

    // Socket.pm get_req_from_block: leading whitespace and # comment lines are dropped
    #[test]
    fn request_comments() {
        assert_eq!(strip_request("\n  # a comment\nGET /t\n"), "GET /t\n");
        assert_eq!(strip_request("GET /t\n"), "GET /t\n");
    }

    fn block(text: &str) -> Block {
        let f = format!("use Test::Nginx::Socket 'no_plan';\nrun_tests();\n__DATA__\n{text}");
        parse::parse_file(&f).unwrap().blocks.remove(0)
    }

    fn spec_of(text: &str, had_config: bool) -> Result<Spec, Stop> {
        let ctx = FileCtx {
            binary: "nginx".into(),
            port: 1984,
            servroot: PathBuf::from("/nonexistent/servroot"),
            load_modules: Vec::new(),
            env_log_level: None,
            no_clean: false,
            verbose: false,
            no_shuffle_env: true,
            seed: 1,
        };
        let mut sink = Sink::Buffer(String::new());
        let r = Runner {
            ctx: &ctx,
            file: "t/x.t",
            prologue: Prologue::default(),
            out: &mut sink,
            n: 0,
            env: HashMap::new(),
            had_config,
        };
        r.spec(&block(text))
    }

    fn bail_of(text: &str) -> String {
        match spec_of(text, false) {
            Err(Stop::Bail(m)) => m,
            Err(Stop::Refuse(m)) => panic!("refused, not bailed: {m}"),
            Ok(_) => panic!("accepted"),
        }
    }

    // the bail-outs of Socket.pm/Util.pm that a block's text decides
    #[test]
    fn bail_outs() {
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- request eval\n[\"GET /a\", \"GET /b\"]\n--- response_body\nx\n"),
            "You asked for many requests, the expected results should be arrays as well."
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- request eval\n[\"GET /a\", \"GET /b\"]\n--- response_headers\nX: 1\n"),
            "You asked for many requests, the expected results should be arrays as well."
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- request eval\n[\"GET /a\", \"GET /b\"]\n--- error_code: 200\n"),
            "You asked for many requests, the expected results should be arrays as well."
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- response_body\nx\n"),
            "Request line should be non-empty"
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- request eval\n[]\n"),
            "request empty"
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- request\nGET /t\n--- grep_error_log_out\nx\n"),
            "No --- grep_error_log defined but --- grep_error_log_out is defined"
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- config\n--- request\nGET /t\n--- grep_error_log: x\n"),
            "No --- grep_error_log_out defined but --- grep_error_log is defined"
        );
        assert_eq!(
            bail_of("=== TEST 1: x\n--- request\nGET /t\n"),
            "No '--- config' section specified and could not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?"
        );
        assert_eq!(
            bail_of(
                "=== TEST 1: x\n--- config\n    listen $TEST_NGINX_NOPE_X;\n--- request\nGET /t\n"
            ),
            "No environment TEST_NGINX_NOPE_X defined."
        );
        assert!(bail_of("=== TEST 1: x\n--- config\n--- request\nGET /t HTTP/1.1 extra\n")
            .starts_with("Request line is not valid. Should be 'meth [url [version]]' but got \"GET /t HTTP/1.1 extra"));
        // a block without config after one with config: the runner refuses (no nginx reuse)
        assert!(matches!(
            spec_of("=== TEST 1: x\n--- request\nGET /t\n", true),
            Err(Stop::Refuse(_))
        ));
        // with one request a scalar is fine; response_body_like is not looked at when
        // response_body is there (if/elsif)
        assert!(spec_of(
            "=== TEST 1: x\n--- config\n--- request\nGET /t\n--- response_body\nx\n",
            false
        )
        .is_ok());
        assert!(spec_of("=== TEST 1: x\n--- config\n--- request eval\n[\"GET /a\", \"GET /b\"]\n--- response_body eval\n[\"a\", \"b\"]\n--- response_body_like: x\n", false).is_ok());
        // must_die needs no request
        assert!(spec_of("=== TEST 1: x\n--- config\n--- must_die\n", false).is_ok());
    }

    // Socket.pm check_response_body: $ServerPort is replaced, $TEST_NGINX_* is not expanded
    // in response_body / grep_error_log_out (only in config, http_config, main_config,
    // user_files)
    #[test]
    fn no_env_expansion_in_expectations() {
        let sp = spec_of(
            "=== TEST 1: x\n--- config\n--- request\nGET /t\n--- response_body\n$TEST_NGINX_UNSET_Y\n--- grep_error_log: x\n--- grep_error_log_out\n$TEST_NGINX_UNSET_Y\n",
            false,
        )
        .unwrap_or_else(|_| panic!("refused"));
        match sp.response_body.get(0) {
            Elem::Val(BodyExp::Str(s)) => assert_eq!(s, "$TEST_NGINX_UNSET_Y\n"),
            _ => panic!(),
        }
        assert_eq!(
            checks::server_port("a $ServerPort b $ServerPortForClient $ServerPortX", 8),
            "a 8 b 8 $ServerPortX"
        );
    }

    #[test]
    fn must_die_exit_code() {
        let sp = spec_of("=== TEST 1: x\n--- config\n--- must_die: 1\n", false)
            .unwrap_or_else(|_| panic!());
        assert_eq!(sp.must_die, Some(Some(1)));
        let sp = spec_of("=== TEST 1: x\n--- config\n--- must_die\n", false)
            .unwrap_or_else(|_| panic!());
        assert_eq!(sp.must_die, Some(None));
        let _ = PerlRegex {
            src: String::new(),
            flags: String::new(),
        };
    }
}
