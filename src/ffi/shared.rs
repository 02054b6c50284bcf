//! The C functions of the Lua API for the state all workers share (`wasm.get_shared_data` and friends, metrics,
//! foreign functions), on the return-code convention of `ffi.rs`. Each one runs in the panic guard and checks
//! nothing beyond its pointers: the host core's shared store validates the rest.

use std::cell::RefCell;
use std::ffi::c_int;

use proxy_wasm_host::shared::{self, SharedError};
use proxy_wasm_host::LogLevel;

use crate::backend::bytes_raw;
use crate::log;

thread_local! {
    // Results handed to Lua; valid until the next call.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

use super::{
    NGX_PROXY_WASM_CAS_MISMATCH as CAS_MISMATCH, NGX_PROXY_WASM_ERROR as FAILED,
    NGX_PROXY_WASM_NOT_FOUND as NOT_FOUND, NGX_PROXY_WASM_OK as FOUND,
};

fn failed(call: &str, e: SharedError) -> c_int {
    log::write(
        ngx::log::ngx_cycle_log().as_ptr(),
        LogLevel::Error,
        format_args!("proxy-wasm: {call}: {e}"),
    );
    FAILED
}

/// Hand `bytes` to Lua through the thread's result buffer.
///
/// # Safety
/// `ptr_out`/`len_out` must be writable.
unsafe fn hand_out(bytes: &[u8], ptr_out: *mut *const u8, len_out: *mut usize) {
    OUT.with(|o| {
        let mut o = o.borrow_mut();
        o.clear();
        o.extend_from_slice(bytes);
        // SAFETY: guaranteed by the caller; the buffer lives in a thread-local until the next call.
        unsafe {
            *ptr_out = o.as_ptr();
            *len_out = o.len();
        }
    });
}

/// The value of `key` and its cas: `FOUND`, `NOT_FOUND` or `FAILED` (logged).
///
/// # Safety
/// `key` must point to `key_len` bytes; the out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_shared_get(
    key: *const u8,
    key_len: usize,
    value: *mut *const u8,
    value_len: *mut usize,
    cas: *mut u32,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_shared_get", FAILED, || {
        // SAFETY: guaranteed by the caller.
        match shared::get_data(unsafe { bytes_raw(key, key_len) }) {
            Ok(Some((v, c))) => {
                // SAFETY: guaranteed by the caller.
                unsafe {
                    hand_out(&v, value, value_len);
                    *cas = c;
                }
                FOUND
            }
            Ok(None) => NOT_FOUND,
            Err(e) => failed("shared data get", e),
        }
    })
}

/// Store `value` under `key` (with `cas` 0: unconditionally). `FOUND` (stored), `CAS_MISMATCH` or `FAILED`.
///
/// # Safety
/// `key`/`value` must point to `key_len`/`value_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_shared_set(
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    cas: u32,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_shared_set", FAILED, || {
        // SAFETY: guaranteed by the caller.
        let (key, value) = unsafe { (bytes_raw(key, key_len), bytes_raw(value, value_len)) };
        match shared::set_data(key, value, cas) {
            Ok(()) => FOUND,
            Err(SharedError::CasMismatch) => CAS_MISMATCH,
            Err(e) => failed("shared data set", e),
        }
    })
}

/// Remove `key`: `FOUND` (removed), `NOT_FOUND` or `FAILED`.
///
/// # Safety
/// `key` must point to `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_shared_delete(key: *const u8, key_len: usize) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_shared_delete", FAILED, || {
        // SAFETY: guaranteed by the caller.
        match shared::delete_data(unsafe { bytes_raw(key, key_len) }) {
            Ok(true) => FOUND,
            Ok(false) => NOT_FOUND,
            Err(e) => failed("shared data delete", e),
        }
    })
}

/// The value of metric `name` (a histogram's sample count): `FOUND`, `NOT_FOUND` or `FAILED`.
///
/// # Safety
/// `name` must point to `name_len` bytes; `value` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_metric(
    name: *const u8,
    name_len: usize,
    value: *mut i64,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_metric", FAILED, || {
        // SAFETY: guaranteed by the caller.
        let name = unsafe { bytes_raw(name, name_len) };
        match shared::metrics() {
            Ok(all) => match all.iter().find(|m| m.name == name) {
                Some(m) => {
                    // SAFETY: guaranteed by the caller.
                    unsafe { *value = m.value };
                    FOUND
                }
                None => NOT_FOUND,
            },
            Err(e) => failed("metric", e),
        }
    })
}

/// Every metric in the Prometheus text format.
///
/// # Safety
/// The out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_metrics_text(
    text: *mut *const u8,
    len: *mut usize,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_metrics_text", FAILED, || {
        match shared::metrics() {
            Ok(all) => {
                // SAFETY: guaranteed by the caller.
                unsafe { hand_out(shared::prometheus_text(&all).as_bytes(), text, len) };
                FOUND
            }
            Err(e) => failed("metrics", e),
        }
    })
}

/// A foreign function implemented in Lua (a LuaJIT FFI callback): arguments in; 0 with the result in
/// `out`/`out_len` (valid until it returns), or -1 when it failed (it logs why).
#[allow(non_camel_case_types)]
pub type ngx_proxy_wasm_foreign_fn =
    unsafe extern "C" fn(*const u8, usize, *mut *const u8, *mut usize) -> c_int;

/// Register the foreign function `name` (replacing one of that name), or remove it when `f` is null.
///
/// # Safety
/// `name` must point to `name_len` bytes; `f` must stay callable until it is replaced or removed.
#[no_mangle]
pub unsafe extern "C" fn ngx_proxy_wasm_register_foreign_function(
    name: *const u8,
    name_len: usize,
    f: Option<ngx_proxy_wasm_foreign_fn>,
) -> c_int {
    crate::unwind::catch("ngx_proxy_wasm_register_foreign_function", FAILED, || {
        // SAFETY: guaranteed by the caller.
        let name = unsafe { bytes_raw(name, name_len) };
        let f = f.map(|f| -> proxy_wasm_host::ForeignFunction {
            std::rc::Rc::new(move |args: &[u8]| {
                if !crate::ffi::inside_lua_call() {
                    return Err(
                    "a Lua foreign function can only be called by plugins run through the Lua API \
                            (resty.proxy-wasm), not from the directive path or a timer"
                        .to_string(),
                );
                }
                let mut out: *const u8 = std::ptr::null();
                let mut out_len: usize = 0;
                // SAFETY: the callback reads `args` during the call and fills `out`/`out_len`.
                let rc = unsafe { f(args.as_ptr(), args.len(), &mut out, &mut out_len) };
                if rc != 0 {
                    return Err("the Lua function failed (see the log line above)".to_string());
                }
                // SAFETY: the callback's result stays valid until it returns to us, and it just did; it is copied
                // at once, before any Lua code runs again.
                Ok(unsafe { bytes_raw(out, out_len) }.to_vec())
            })
        });
        proxy_wasm_host::register_foreign_function(name, f);
        FOUND
    })
}
