//! No panic crosses into nginx: every `extern "C"` entry point of this crate runs its body through one of the
//! guards here. A panic becomes the entry point's error value and one `[alert]` line naming it (the master's
//! directive setters fail `nginx -t` or the reload with `[emerg]` instead of aborting the master).
//!
//! For the tests that prove it, `PROXY_WASM_TEST_PANIC=<entry point>` in nginx's environment makes that entry
//! point panic inside its guard (`test_hook`); the variable is read once per process.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use ngx::ffi::{ngx_conf_t, NGX_LOG_EMERG};
use ngx::ngx_conf_log_error;

/// Run `f` for the entry point `what`; a panic turns into `on_panic` and an `[alert]` line.
pub(crate) fn catch<T>(what: &str, on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| {
        test_hook(what);
        f()
    })) {
        Ok(v) => v,
        Err(payload) => {
            alert(what, &*payload);
            on_panic
        }
    }
}

/// Run a directive setter; a panic fails the directive with an `[emerg]` line that names it (and so fails
/// `nginx -t` or the reload), never the master process.
pub(crate) fn directive(
    cf: *mut ngx_conf_t,
    what: &str,
    f: impl FnOnce() -> *mut c_char,
) -> *mut c_char {
    match catch_unwind(AssertUnwindSafe(|| {
        test_hook(what);
        f()
    })) {
        Ok(v) => v,
        Err(payload) => {
            ngx_conf_log_error!(
                NGX_LOG_EMERG,
                cf,
                "proxy-wasm: internal error (panic) in \"{}\": {}",
                what,
                message(&*payload)
            );
            ngx::core::NGX_CONF_ERROR
        }
    }
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

fn alert(what: &str, payload: &(dyn std::any::Any + Send)) {
    crate::log::alert(
        ngx::log::ngx_cycle_log().as_ptr(),
        format_args!(
            "proxy-wasm: panic in {what}: {}; the call failed",
            message(payload)
        ),
    );
}

/// Panic here when the tests asked for it (`PROXY_WASM_TEST_PANIC` names `what`).
pub(crate) fn test_hook(what: &str) {
    static SITE: OnceLock<Option<String>> = OnceLock::new();
    let site = SITE.get_or_init(|| std::env::var("PROXY_WASM_TEST_PANIC").ok());
    if site.as_deref() == Some(what) {
        panic!("test panic requested by PROXY_WASM_TEST_PANIC");
    }
}
