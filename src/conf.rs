//! Configuration: the module's directives and the structures they fill.
//!
//! ```nginx
//! wasm_vm wasmtime;                                  # http; accepted for api7 compatibility
//! wasm_plugin NAME PATH [vm_config=STRING] [time_limit=TIME] [memory_limit=SIZE];
//!                                                    # http; compile and instantiate a plugin (master);
//!                                                    # defaults: time_limit=10ms memory_limit=128m
//! proxy_wasm NAME [CONFIGURATION];                   # http, server, location; attach (repeatable: a chain)
//! proxy_wasm_failure closed | open;                  # http, server, location; default closed
//! proxy_wasm_pause_timeout TIME;                     # http, server, location; default 60s
//! ```
//!
//! Plugins are compiled, instantiated and configured while nginx reads its configuration (in the master), so
//! `nginx -t` reports a bad file, a module that is not a plugin, an import the host lacks or a configuration
//! the plugin refuses, with the file and line of the directive. Each worker then starts its own instances
//! (`proxy_wasm_host::start_worker`).

use std::ffi::{c_char, c_void};
use std::rc::Rc;

use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{ngx_command_t, ngx_conf_t, ngx_str_t, NGX_LOG_EMERG};
use ngx::http::{HttpModuleMainConf, Merge, MergeConfigError};
use ngx::ngx_conf_log_error;
use proxy_wasm_host::{limits, Plugin, PluginOptions, RootContext};

use crate::backend::cycle_backend;
use crate::Module;

/// A plugin declared with `wasm_plugin`.
pub(crate) struct DeclaredPlugin {
    pub name: String,
    pub plugin: Plugin,
}

#[derive(Default)]
pub(crate) struct MainConf {
    pub plugins: Vec<DeclaredPlugin>,
    /// Locations marked `proxy_wasm_http_calls`, in configuration order.
    pub call_locations: Vec<crate::http_call::CallLocation>,
    /// Plugins run as services (`proxy_wasm_service`).
    pub services: Vec<Service>,
}

/// One `proxy_wasm` directive: a configured root context of a declared plugin.
pub(crate) struct Filter {
    pub root: RootContext,
    pub request_body: bool,
    pub response_body: bool,
}

/// What to do when a plugin fails (traps, refuses, errs) while handling a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Answer 500 (or abort the response if it already started).
    Closed,
    /// Log and go on as if the plugin were absent.
    Open,
}

#[derive(Default)]
pub(crate) struct LocConf {
    /// The chain, in directive order; `None` when this level has no `proxy_wasm` (inherits its parent's).
    pub filters: Option<Rc<Vec<Filter>>>,
    pub failure: Option<Failure>,
    /// How long a request a plugin paused waits to be continued (ms).
    pub pause_timeout_ms: Option<u64>,
}

impl LocConf {
    pub fn failure(&self) -> Failure {
        self.failure.unwrap_or(Failure::Closed)
    }

    pub fn pause_timeout_ms(&self) -> u64 {
        self.pause_timeout_ms
            .unwrap_or(limits::DEFAULT_PAUSE_TIMEOUT_MS)
    }
}

impl Merge for LocConf {
    fn merge(&mut self, prev: &LocConf) -> Result<(), MergeConfigError> {
        if self.filters.is_none() {
            self.filters = prev.filters.clone();
        }
        if self.failure.is_none() {
            self.failure = prev.failure;
        }
        if self.pause_timeout_ms.is_none() {
            self.pause_timeout_ms = prev.pause_timeout_ms;
        }
        Ok(())
    }
}

fn args<'a>(cf: *mut ngx_conf_t) -> &'a [ngx_str_t] {
    // SAFETY: nginx calls directive handlers with a valid `cf` whose `args` holds the directive's words.
    unsafe { (*(*cf).args).as_slice() }
}

fn text(s: &ngx_str_t) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

/// `path` made absolute against nginx's prefix, as nginx resolves relative paths in its configuration.
fn full_path(cf: *mut ngx_conf_t, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    // SAFETY: the cycle and its prefix are valid while the configuration is read.
    let prefix = unsafe { text(&(*(*cf).cycle).prefix) };
    format!("{prefix}{path}")
}

/// `wasm_plugin NAME PATH [vm_config=STRING] [root_id=STRING] [time_limit=TIME] [memory_limit=SIZE];`
pub(crate) extern "C" fn cmd_wasm_plugin(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "wasm_plugin", || cmd_wasm_plugin_inner(cf, _cmd, conf))
}

fn cmd_wasm_plugin_inner(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: this directive is registered with NGX_HTTP_MAIN_CONF_OFFSET, so `conf` is our main conf.
    let main = unsafe { &mut *(conf as *mut MainConf) };
    let a = args(cf);
    let name = text(&a[1]);
    if main.plugins.iter().any(|p| p.name == name) {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "wasm plugin \"{name}\" is already declared"
        );
        return NGX_CONF_ERROR;
    }
    let path = full_path(cf, &text(&a[2]));
    let mut vm_config: &[u8] = b"";
    let mut root_id: &[u8] = b"";
    let mut options = PluginOptions::default();
    for arg in &a[3..] {
        let arg = arg.as_bytes();
        let parsed = if let Some(v) = arg.strip_prefix(b"vm_config=") {
            vm_config = v;
            true
        } else if let Some(v) = arg.strip_prefix(b"root_id=") {
            root_id = v;
            true
        } else if let Some(v) = arg.strip_prefix(b"time_limit=") {
            parse_ms(v).map(|ms| options.time_limit_ms = ms).is_some()
        } else if let Some(v) = arg.strip_prefix(b"memory_limit=") {
            parse_size(v).map(|n| options.memory_limit = n).is_some()
        } else {
            false
        };
        if !parsed {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "wasm plugin \"{name}\": invalid parameter \"{}\" (expected vm_config=, root_id=, time_limit=, memory_limit=)",
                String::from_utf8_lossy(arg)
            );
            return NGX_CONF_ERROR;
        }
    }
    let wasm = match std::fs::read(&path) {
        Ok(w) => w,
        Err(e) => {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "wasm plugin \"{name}\": cannot read \"{path}\": {e}"
            );
            return NGX_CONF_ERROR;
        }
    };
    match Plugin::load_with(&name, &wasm, vm_config, options, &mut *cycle_backend()) {
        Ok(plugin) => {
            plugin.set_root_id(&String::from_utf8_lossy(root_id));
            main.plugins.push(DeclaredPlugin { name, plugin });
            NGX_CONF_OK
        }
        Err(e) => {
            ngx_conf_log_error!(NGX_LOG_EMERG, cf, "wasm plugin \"{name}\": \"{path}\": {e}");
            NGX_CONF_ERROR
        }
    }
}

/// A time in nginx's notation (its own parser, as every nginx directive: `500ms`, `2s`, `1m30s`, a bare
/// number of milliseconds), as milliseconds, at least 1.
fn parse_ms(v: &[u8]) -> Option<u64> {
    let mut text = ngx_str_t {
        len: v.len(),
        data: v.as_ptr() as *mut u8,
    };
    // SAFETY: nginx's parser reads the `len` bytes of `data` and writes nothing.
    let ms = unsafe { ngx::ffi::ngx_parse_time(&mut text, 0) };
    (ms > 0).then_some(ms as u64)
}

/// A size in nginx's notation (its own parser: `512k`, `64m`, `1g`, bytes), at least one wasm page (64k).
pub(crate) fn parse_size(v: &[u8]) -> Option<usize> {
    let mut text = ngx_str_t {
        len: v.len(),
        data: v.as_ptr() as *mut u8,
    };
    // SAFETY: nginx's parser reads the `len` bytes of `data` and writes nothing.
    let n = unsafe { ngx::ffi::ngx_parse_size(&mut text) };
    usize::try_from(n)
        .ok()
        .filter(|n| *n >= limits::MIN_MEMORY_LIMIT)
}

/// `proxy_wasm NAME [CONFIGURATION];`
pub(crate) extern "C" fn cmd_proxy_wasm(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm", || cmd_proxy_wasm_inner(cf, _cmd, conf))
}

fn cmd_proxy_wasm_inner(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: registered with NGX_HTTP_LOC_CONF_OFFSET, so `conf` is our location conf.
    let lc = unsafe { &mut *(conf as *mut LocConf) };
    let a = args(cf);
    let name = text(&a[1]);
    let configuration = a.get(2).map(|s| s.as_bytes()).unwrap_or(b"");
    // SAFETY: `cf` is valid; the http main conf exists while http{} is parsed.
    let Some(main) = Module::main_conf(unsafe { &*cf }) else {
        return NGX_CONF_ERROR;
    };
    let Some(declared) = main.plugins.iter().find(|p| p.name == name) else {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "unknown wasm plugin \"{name}\": declare it with \"wasm_plugin {name} <path>;\" in http{{}} first"
        );
        return NGX_CONF_ERROR;
    };
    let root = match declared
        .plugin
        .configure(configuration, &mut *cycle_backend())
    {
        Ok(r) => r,
        Err(e) => {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "wasm plugin \"{name}\" refused its configuration: {e}"
            );
            return NGX_CONF_ERROR;
        }
    };
    let filter = Filter {
        request_body: root.has_request_body_callback(),
        response_body: root.has_response_body_callback(),
        root,
    };
    match &mut lc.filters {
        Some(chain) => match Rc::get_mut(chain) {
            Some(chain) => chain.push(filter),
            None => return NGX_CONF_ERROR,
        },
        None => lc.filters = Some(Rc::new(vec![filter])),
    }
    NGX_CONF_OK
}

/// `proxy_wasm_failure closed | open;`
pub(crate) extern "C" fn cmd_proxy_wasm_failure(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_failure", || {
        cmd_proxy_wasm_failure_inner(cf, _cmd, conf)
    })
}

fn cmd_proxy_wasm_failure_inner(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: registered with NGX_HTTP_LOC_CONF_OFFSET, so `conf` is our location conf.
    let lc = unsafe { &mut *(conf as *mut LocConf) };
    if lc.failure.is_some() {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "\"proxy_wasm_failure\" directive is duplicate"
        );
        return NGX_CONF_ERROR;
    }
    lc.failure = match args(cf)[1].as_bytes() {
        b"closed" => Some(Failure::Closed),
        b"open" => Some(Failure::Open),
        other => {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "invalid value \"{}\" in \"proxy_wasm_failure\": use \"closed\" or \"open\"",
                String::from_utf8_lossy(other)
            );
            return NGX_CONF_ERROR;
        }
    };
    NGX_CONF_OK
}

/// `proxy_wasm_pause_timeout TIME;`
pub(crate) extern "C" fn cmd_proxy_wasm_pause_timeout(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_pause_timeout", || {
        // SAFETY: registered with NGX_HTTP_LOC_CONF_OFFSET, so `conf` is our location conf.
        let lc = unsafe { &mut *(conf as *mut LocConf) };
        if lc.pause_timeout_ms.is_some() {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "\"proxy_wasm_pause_timeout\" directive is duplicate"
            );
            return NGX_CONF_ERROR;
        }
        let value = args(cf)[1].as_bytes();
        match parse_ms(value) {
            Some(ms) => {
                lc.pause_timeout_ms = Some(ms);
                NGX_CONF_OK
            }
            None => {
                ngx_conf_log_error!(
                    NGX_LOG_EMERG,
                    cf,
                    "invalid value \"{}\" in \"proxy_wasm_pause_timeout\": a time such as 500ms or 30s",
                    String::from_utf8_lossy(value)
                );
                NGX_CONF_ERROR
            }
        }
    })
}

/// `proxy_wasm_http_calls;` (context: location): plugins' HTTP calls of requests in this server (and of
/// servers that declare none) run as subrequests in this location (`http_call.rs`).
pub(crate) extern "C" fn cmd_proxy_wasm_http_calls(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_http_calls", || {
        call_location(cf, conf, "proxy_wasm_http_calls", false)
    })
}

/// `proxy_wasm_grpc_calls;` (context: location): the same for plugins' gRPC calls (a `grpc_pass` location).
pub(crate) extern "C" fn cmd_proxy_wasm_grpc_calls(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_grpc_calls", || {
        call_location(cf, conf, "proxy_wasm_grpc_calls", true)
    })
}

fn call_location(cf: *mut ngx_conf_t, conf: *mut c_void, name: &str, grpc: bool) -> *mut c_char {
    // SAFETY: registered with NGX_HTTP_MAIN_CONF_OFFSET, so `conf` is our main conf; inside a location block
    // `cf->ctx` is that location's configuration context, which lives as long as the cycle.
    let (main, ctx) = unsafe {
        (
            &mut *(conf as *mut MainConf),
            (*cf).ctx as *mut ngx::ffi::ngx_http_conf_ctx_t,
        )
    };
    // SAFETY: as above.
    let srv_conf = unsafe { (*ctx).srv_conf };
    if main
        .call_locations
        .iter()
        .any(|l| l.srv_conf == srv_conf && l.grpc == grpc)
    {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "\"{}\" directive is duplicate: one location per server performs the calls",
            name
        );
        return NGX_CONF_ERROR;
    }
    main.call_locations.push(crate::http_call::CallLocation {
        srv_conf,
        ctx,
        grpc,
    });
    NGX_CONF_OK
}

/// A plugin run as a service (`proxy_wasm_service`): its root context, configured, in every worker or in one.
pub(crate) struct Service {
    pub root: Option<RootContext>,
    pub singleton: bool,
}

/// `proxy_wasm_service NAME [CONFIGURATION] [singleton];` (context: http): a declared plugin's root context
/// that no location attaches, started in every worker (ticks, queue items, calls), or with `singleton` in one.
pub(crate) extern "C" fn cmd_proxy_wasm_service(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_service", || {
        // SAFETY: registered with NGX_HTTP_MAIN_CONF_OFFSET, so `conf` is our main conf.
        let main = unsafe { &mut *(conf as *mut MainConf) };
        let a = args(cf);
        let name = text(&a[1]);
        let configuration = a.get(2).map(|s| s.as_bytes()).unwrap_or(b"");
        let singleton = match a.get(3).map(|s| s.as_bytes()) {
            None => false,
            Some(b"singleton") => true,
            Some(other) => {
                ngx_conf_log_error!(
                    NGX_LOG_EMERG,
                    cf,
                    "invalid parameter \"{}\" in \"proxy_wasm_service\": only \"singleton\" may follow the configuration",
                    String::from_utf8_lossy(other)
                );
                return NGX_CONF_ERROR;
            }
        };
        let Some(declared) = main.plugins.iter().find(|p| p.name == name) else {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "unknown wasm plugin \"{name}\": declare it with \"wasm_plugin {name} <path>;\" first"
            );
            return NGX_CONF_ERROR;
        };
        match declared
            .plugin
            .configure(configuration, &mut *cycle_backend())
        {
            Ok(root) => {
                main.services.push(Service {
                    root: Some(root),
                    singleton,
                });
                NGX_CONF_OK
            }
            Err(e) => {
                ngx_conf_log_error!(
                    NGX_LOG_EMERG,
                    cf,
                    "wasm plugin \"{name}\" refused its configuration: {e}"
                );
                NGX_CONF_ERROR
            }
        }
    })
}

/// In a worker, before its instances start: let go of the singleton services another worker runs (worker 0
/// runs them; a respawned worker 0 takes them again).
pub(crate) fn detach_services_of_other_workers() {
    // SAFETY: a plain read of nginx's worker number, in the worker.
    if unsafe { ngx::ffi::ngx_worker } == 0 {
        return;
    }
    let Some(main) = cycle_main_conf() else {
        return;
    };
    for service in main.services.iter_mut().filter(|s| s.singleton) {
        if let Some(root) = service.root.take() {
            root.detach();
        }
    }
}

/// The module's main configuration of the running cycle, for work no request carries (in a worker, where the
/// cycle's http configuration is complete and this process's own); `None` without an http block.
pub(crate) fn cycle_main_conf<'a>() -> Option<&'a mut MainConf> {
    // SAFETY: the cycle's conf_ctx holds the http module's configuration context (or null); ours is in its
    // main_conf array at our ctx_index. Only this thread touches it.
    unsafe {
        let conf_ctx = (*ngx::ffi::ngx_cycle).conf_ctx;
        let http =
            *conf_ctx.add(ngx::ffi::ngx_http_module.index) as *mut ngx::ffi::ngx_http_conf_ctx_t;
        if http.is_null() {
            return None;
        }
        let index = <Module as ngx::http::HttpModule>::module().ctx_index;
        (*(*http).main_conf.add(index) as *mut MainConf).as_mut()
    }
}

/// `proxy_wasm_cache PATH;` (context: http, before the `wasm_plugin` lines): keep plugins' compiled code in PATH
/// (relative to nginx's prefix; created with mode 0700), so that starts, `nginx -t` and reloads load it instead
/// of compiling again.
pub(crate) extern "C" fn cmd_proxy_wasm_cache(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "proxy_wasm_cache", || {
        // SAFETY: registered with NGX_HTTP_MAIN_CONF_OFFSET, so `conf` is our main conf.
        let main = unsafe { &mut *(conf as *mut MainConf) };
        if !main.plugins.is_empty() {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "\"proxy_wasm_cache\" must come before the \"wasm_plugin\" lines (they compile where they stand)"
            );
            return NGX_CONF_ERROR;
        }
        let mut path = args(cf)[1];
        // SAFETY: `cf` is valid while its directive is parsed; nginx allocates the full name in the cycle pool.
        if unsafe { ngx::ffi::ngx_conf_full_name((*cf).cycle, &mut path, 0) }
            != ngx::ffi::NGX_OK as isize
        {
            return NGX_CONF_ERROR;
        }
        let dir = std::path::PathBuf::from(text(&path));
        match proxy_wasm_host::set_cache_dir(Some(&dir)) {
            Ok(()) => NGX_CONF_OK,
            Err(e) => {
                ngx_conf_log_error!(NGX_LOG_EMERG, cf, "proxy_wasm_cache: {}", e);
                NGX_CONF_ERROR
            }
        }
    })
}
