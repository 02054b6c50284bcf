//! `ngx_http_proxy_wasm_module`: a Proxy-Wasm host for nginx.
//!
//! This crate is the thin nginx side of the project: the module declaration and its directives (this file),
//! the per-request state and log-phase handler (`request.rs`), the host-core backend over nginx structures
//! (`backend.rs`) and the C ABI that `lua/resty/proxy-wasm.lua` calls through LuaJIT FFI (`ffi.rs`). Everything
//! about Wasm and the Proxy-Wasm ABI lives in the `proxy-wasm-host` crate.

mod backend;
mod ffi;
mod log;
mod request;

use std::ffi::{c_char, c_void};
use std::ptr::addr_of;

use ngx::core::Status;
use ngx::ffi::{
    ngx_array_push, ngx_command_t, ngx_conf_t, ngx_http_handler_pt, ngx_http_module_t,
    ngx_http_phases_NGX_HTTP_LOG_PHASE, ngx_int_t, ngx_module_t, ngx_str_t, ngx_uint_t,
    NGX_CONF_TAKE1, NGX_HTTP_MAIN_CONF, NGX_HTTP_MODULE, NGX_LOG_EMERG,
};
use ngx::http::{HttpModule, HttpModuleMainConf, NgxHttpCoreModule};
use ngx::{ngx_conf_log_error, ngx_string};

pub(crate) struct Module;

impl HttpModule for Module {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the module object is only mutated by nginx while it loads the module.
        unsafe { &*addr_of!(ngx_http_proxy_wasm_module) }
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        proxy_wasm_host::set_default_backend(backend::cycle_backend);
        // SAFETY: nginx calls postconfiguration with a valid configuration.
        let cf = unsafe { &mut *cf };
        let Some(cmcf) = NgxHttpCoreModule::main_conf_mut(cf) else {
            return Status::NGX_ERROR.into();
        };
        // SAFETY: the phase array is initialised by the http core module before postconfiguration.
        let h = unsafe {
            ngx_array_push(&mut cmcf.phases[ngx_http_phases_NGX_HTTP_LOG_PHASE as usize].handlers)
        } as *mut ngx_http_handler_pt;
        if h.is_null() {
            return Status::NGX_ERROR.into();
        }
        // SAFETY: `h` points to a fresh slot of the handlers array.
        unsafe { *h = Some(request::log_phase_handler) };
        Status::NGX_OK.into()
    }
}

static mut NGX_HTTP_PROXY_WASM_COMMANDS: [ngx_command_t; 2] = [
    ngx_command_t {
        name: ngx_string!("wasm_vm"),
        type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1) as ngx_uint_t,
        set: Some(cmd_wasm_vm),
        conf: 0,
        offset: 0,
        post: std::ptr::null_mut(),
    },
    ngx_command_t::empty(),
];

static NGX_HTTP_PROXY_WASM_MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: None,
    postconfiguration: Some(Module::postconfiguration),
    create_main_conf: None,
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: None,
    merge_loc_conf: None,
};

ngx::ngx_modules!(ngx_http_proxy_wasm_module);

#[used]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_proxy_wasm_module: ngx_module_t = ngx_module_t {
    ctx: addr_of!(NGX_HTTP_PROXY_WASM_MODULE_CTX) as _,
    // SAFETY: nginx reads the command table; nothing writes it.
    commands: unsafe { addr_of!(NGX_HTTP_PROXY_WASM_COMMANDS[0]) as *mut _ },
    type_: NGX_HTTP_MODULE as _,
    ..ngx_module_t::default()
};

/// `wasm_vm wasmtime;` (context: http). Accepted for compatibility with api7/wasm-nginx-module, whose
/// configurations carry it; wasmtime is the only VM.
extern "C" fn cmd_wasm_vm(
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
