//! Log levels and plugin log lines in nginx's error log.

use ngx::ffi::{
    ngx_log_t, ngx_uint_t, NGX_LOG_CRIT, NGX_LOG_DEBUG, NGX_LOG_ERR, NGX_LOG_INFO, NGX_LOG_NOTICE,
    NGX_LOG_WARN,
};
use proxy_wasm_host::LogLevel;

fn ngx_level(level: LogLevel) -> ngx_uint_t {
    (match level {
        LogLevel::Trace | LogLevel::Debug => NGX_LOG_DEBUG,
        LogLevel::Info => NGX_LOG_INFO,
        LogLevel::Warn => NGX_LOG_WARN,
        LogLevel::Error => NGX_LOG_ERR,
        LogLevel::Critical => NGX_LOG_CRIT,
    }) as ngx_uint_t
}

/// The most verbose Proxy-Wasm level `log` records.
pub(crate) fn level_of(log: *mut ngx_log_t) -> LogLevel {
    // SAFETY: callers pass a live nginx log.
    let level = unsafe { (*log).log_level } as u32;
    if level >= NGX_LOG_DEBUG {
        LogLevel::Trace
    } else if level >= NGX_LOG_NOTICE {
        // notice and info both record Proxy-Wasm info lines (nginx prints them at [info]).
        if level >= NGX_LOG_INFO {
            LogLevel::Info
        } else {
            LogLevel::Warn
        }
    } else if level >= NGX_LOG_WARN {
        LogLevel::Warn
    } else if level >= NGX_LOG_ERR {
        LogLevel::Error
    } else {
        LogLevel::Critical
    }
}

/// Write `message` to `log` at `level`, prefixed with the plugin's name: `wasm plugin "NAME": MESSAGE`.
pub(crate) fn plugin_line(log: *mut ngx_log_t, level: LogLevel, plugin: &str, message: &[u8]) {
    write(
        log,
        level,
        format_args!(
            "wasm plugin \"{plugin}\": {}",
            String::from_utf8_lossy(message)
        ),
    );
}

/// Write a host line (not from a plugin) to `log`.
pub(crate) fn write(log: *mut ngx_log_t, level: LogLevel, args: std::fmt::Arguments<'_>) {
    write_at(log, ngx_level(level), args);
}

/// Write an `[alert]` line: the module itself went wrong (a panic it caught).
pub(crate) fn alert(log: *mut ngx_log_t, args: std::fmt::Arguments<'_>) {
    write_at(log, ngx::ffi::NGX_LOG_ALERT as ngx_uint_t, args);
}

fn write_at(log: *mut ngx_log_t, level: ngx_uint_t, args: std::fmt::Arguments<'_>) {
    // SAFETY: callers pass a live nginx log.
    if log.is_null() || level > unsafe { (*log).log_level } {
        return;
    }
    let text = args.to_string();
    // SAFETY: `log` is live; the buffer outlives the call.
    unsafe { ngx::log::log_error(level, log, 0, text.as_bytes()) };
}
