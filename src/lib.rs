//! `ngx_http_proxy_wasm_module`: a Proxy-Wasm host for nginx.
//!
//! This crate is the thin nginx side of the project, one nginx concept per file: the module declaration, its
//! directive table and worker start (this file), directives (`conf.rs`), per-request state and the log phase
//! (`request.rs`), the access phase (`access.rs`), the filters (`filters.rs`), the chain runner carrying out the
//! host core's verdicts (`chain.rs`), paused requests (`pause.rs`), HTTP calls (`http_call.rs`, and `root_call.rs`
//! for those no request carries), the worker timer (`timer.rs`), shared memory and metrics (`shared.rs`), the C ABI
//! Lua calls (`ffi.rs`), the panic guard (`unwind.rs`), and nginx struct walking (`backend.rs`, `backend/`).
//! Everything about Wasm and the Proxy-Wasm ABI, and what a plugin's result means for a request, lives in the
//! `proxy-wasm-host` crate.

mod access;
mod backend;
mod chain;
mod conf;
mod ffi;
mod filters;
mod held_response;
mod http_call;
mod log;
mod pause;
mod request;
mod root_call;
mod shared;
mod timer;
mod unwind;

use std::ffi::{c_char, c_void};
use std::ptr::addr_of;

use ngx::core::Status;
use ngx::ffi::{
    ngx_array_push, ngx_command_t, ngx_conf_t, ngx_http_handler_pt, ngx_http_module_t,
    ngx_http_phases_NGX_HTTP_ACCESS_PHASE, ngx_http_phases_NGX_HTTP_LOG_PHASE, ngx_int_t,
    ngx_module_t, ngx_str_t, ngx_uint_t, NGX_CONF_2MORE, NGX_CONF_NOARGS, NGX_CONF_TAKE1,
    NGX_CONF_TAKE12, NGX_CONF_TAKE123, NGX_HTTP_LOC_CONF, NGX_HTTP_LOC_CONF_OFFSET,
    NGX_HTTP_MAIN_CONF, NGX_HTTP_MAIN_CONF_OFFSET, NGX_HTTP_MODULE, NGX_HTTP_SRV_CONF,
    NGX_LOG_EMERG,
};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};
use ngx::{ngx_conf_log_error, ngx_string};

pub(crate) struct Module;

impl HttpModule for Module {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the module object is only mutated by nginx while it loads the module.
        unsafe { &*addr_of!(ngx_http_proxy_wasm_module) }
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        crate::unwind::catch("postconfiguration", Status::NGX_ERROR.into(), || {
            postconfiguration(cf)
        })
    }
}

fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    proxy_wasm_host::set_default_backend(backend::cycle_backend);
    shared::ensure_region();
    // SAFETY: nginx calls postconfiguration with a valid configuration.
    let cf = unsafe { &mut *cf };
    let Some(cmcf) = NgxHttpCoreModule::main_conf_mut(cf) else {
        return Status::NGX_ERROR.into();
    };
    let handlers: [(usize, ngx_http_handler_pt); 2] = [
        (
            ngx_http_phases_NGX_HTTP_ACCESS_PHASE as usize,
            Some(access::access_handler),
        ),
        (
            ngx_http_phases_NGX_HTTP_LOG_PHASE as usize,
            Some(request::log_phase_handler),
        ),
    ];
    for (phase, handler) in handlers {
        // SAFETY: the phase arrays are initialised by the http core module before postconfiguration.
        let h =
            unsafe { ngx_array_push(&mut cmcf.phases[phase].handlers) } as *mut ngx_http_handler_pt;
        if h.is_null() {
            return Status::NGX_ERROR.into();
        }
        // SAFETY: `h` points to a fresh slot of the handlers array.
        unsafe { *h = handler };
    }
    // SAFETY: filters are chained once, here, while nginx is single-threaded and reading its configuration.
    unsafe {
        filters::NEXT_HEADER_FILTER = ngx::ffi::ngx_http_top_header_filter;
        ngx::ffi::ngx_http_top_header_filter = Some(filters::header_filter);
        filters::NEXT_BODY_FILTER = ngx::ffi::ngx_http_top_body_filter;
        ngx::ffi::ngx_http_top_body_filter = Some(filters::body_filter);
    }
    Status::NGX_OK.into()
}

/// A configuration starts without a compiled-code directory (`proxy_wasm_cache`). The module's variables:
/// `$proxy_wasm_call_url`, `$proxy_wasm_call_authority`, `$proxy_wasm_call_host`
/// (values for the subrequest of an HTTP call, `http_call.rs`).
unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    unwind::catch("preconfiguration", Status::NGX_ERROR.into(), || {
        // Each configuration (a reload's too) starts without a compiled-code directory until it names one.
        let _ = proxy_wasm_host::set_cache_dir(None);
        let names = [
            ngx_string!("proxy_wasm_call_url"),
            ngx_string!("proxy_wasm_call_authority"),
            ngx_string!("proxy_wasm_call_host"),
        ];
        for (data, mut name) in names.into_iter().enumerate() {
            // SAFETY: nginx calls preconfiguration with a valid configuration; the variable lives in its pool.
            unsafe {
                let v = ngx::ffi::ngx_http_add_variable(
                    cf,
                    &mut name,
                    ngx::ffi::NGX_HTTP_VAR_NOCACHEABLE as ngx_uint_t,
                );
                if v.is_null() {
                    return Status::NGX_ERROR.into();
                }
                (*v).get_handler = Some(http_call::call_variable);
                (*v).data = data;
            }
        }
        Status::NGX_OK.into()
    })
}

// SAFETY (for both): the configuration types are what the directive handlers and nginx's conf offsets expect.
unsafe impl HttpModuleMainConf for Module {
    type MainConf = conf::MainConf;
}

unsafe impl HttpModuleLocationConf for Module {
    type LocationConf = conf::LocConf;
}

const ANY_LEVEL: u32 = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

static mut NGX_HTTP_PROXY_WASM_COMMANDS: [ngx_command_t; 12] = [
    ngx_command_t {
        name: ngx_string!("wasm_vm"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1) as ngx_uint_t,
        set: Some(cmd_wasm_vm),
        conf: 0,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_cache"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm_cache),
        conf: NGX_HTTP_MAIN_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("wasm_plugin"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_2MORE) as ngx_uint_t,
        set: Some(conf::cmd_wasm_plugin),
        conf: NGX_HTTP_MAIN_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm"),
        type_: (ANY_LEVEL | NGX_CONF_TAKE12) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_service"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE123) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm_service),
        conf: NGX_HTTP_MAIN_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_failure"),
        type_: (ANY_LEVEL | NGX_CONF_TAKE1) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm_failure),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_pause_timeout"),
        type_: (ANY_LEVEL | NGX_CONF_TAKE1) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm_pause_timeout),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_http_calls"),
        type_: (NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm_http_calls),
        conf: NGX_HTTP_MAIN_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_grpc_calls"),
        type_: (NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS) as ngx_uint_t,
        set: Some(conf::cmd_proxy_wasm_grpc_calls),
        conf: NGX_HTTP_MAIN_CONF_OFFSET,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_shared_memory"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1) as ngx_uint_t,
        set: Some(shared::cmd_shared_memory),
        conf: 0,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t {
        name: ngx_string!("proxy_wasm_metrics"),
        type_: (NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS) as ngx_uint_t,
        set: Some(shared::cmd_metrics),
        conf: 0,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t::empty(),
];

static NGX_HTTP_PROXY_WASM_MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: Some(preconfiguration),
    postconfiguration: Some(Module::postconfiguration),
    create_main_conf: Some(Module::create_main_conf),
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(Module::create_loc_conf),
    merge_loc_conf: Some(Module::merge_loc_conf),
};

ngx::ngx_modules!(ngx_http_proxy_wasm_module);

#[used]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_proxy_wasm_module: ngx_module_t = ngx_module_t {
    ctx: addr_of!(NGX_HTTP_PROXY_WASM_MODULE_CTX) as _,
    // SAFETY: nginx reads the command table; nothing writes it.
    commands: unsafe { addr_of!(NGX_HTTP_PROXY_WASM_COMMANDS[0]) as *mut _ },
    type_: NGX_HTTP_MODULE as _,
    init_process: Some(init_process),
    ..ngx_module_t::default()
};

/// Each worker (after fork) starts the epoch ticker that enforces plugin call deadlines, lets go of the singleton
/// services another worker runs, starts its own instance of every plugin the master loaded (configured again),
/// and its timer for ticks and queue deliveries.
unsafe extern "C" fn init_process(_cycle: *mut ngx::ffi::ngx_cycle_t) -> ngx_int_t {
    unwind::catch("init_process", Status::NGX_ERROR.into(), || {
        proxy_wasm_host::start_epoch_ticker();
        conf::detach_services_of_other_workers();
        proxy_wasm_host::start_worker(&mut *backend::cycle_backend());
        timer::init_worker();
        pause::init_worker();
        Status::NGX_OK.into()
    })
}

/// `wasm_vm wasmtime;` (context: http). Accepted for compatibility with api7/wasm-nginx-module, whose
/// configurations carry it; wasmtime is the only VM.
extern "C" fn cmd_wasm_vm(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    crate::unwind::directive(cf, "wasm_vm", || cmd_wasm_vm_inner(cf, _cmd, _conf))
}

fn cmd_wasm_vm_inner(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx calls directive handlers with a valid `cf` whose `args` holds the directive's words.
    let args: &[ngx_str_t] = unsafe { (*(*cf).args).as_slice() };
    if args[1].as_bytes() != b"wasmtime" {
        ngx_conf_log_error!(
            NGX_LOG_EMERG,
            cf,
            "unsupported wasm_vm \"{}\": this module runs plugins on \"wasmtime\" only",
            String::from_utf8_lossy(args[1].as_bytes())
        );
        return ngx::core::NGX_CONF_ERROR;
    }
    ngx::core::NGX_CONF_OK
}
