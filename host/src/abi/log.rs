//! Logging and time: `proxy_log`, `proxy_get_log_level`, `proxy_get_current_time_nanoseconds`.

use std::time::{SystemTime, UNIX_EPOCH};

use wasmtime::Caller;

use super::memory::{read, status, write_u32, write_u64};
use crate::limits::MAX_LOG_MESSAGE;
use crate::types::{LogLevel, Status};
use crate::vm::HostState;

pub(crate) fn proxy_log(
    mut caller: Caller<'_, HostState>,
    level: i32,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let level = LogLevel::from_i32(level).ok_or(Status::BadArgument)?;
        let shown = (len as u32 as usize).min(MAX_LOG_MESSAGE) as i32;
        let mut message = read(&mut caller, ptr, shown)?;
        if shown < len {
            message.extend_from_slice(
                format!(" [message truncated from {len} to {MAX_LOG_MESSAGE} bytes]").as_bytes(),
            );
        }
        super::plugin_log(&mut caller, level, &message);
        Ok(())
    })())
}

pub(crate) fn proxy_get_log_level(
    mut caller: Caller<'_, HostState>,
    out: i32,
) -> wasmtime::Result<i32> {
    let level = caller
        .data_mut()
        .backend()
        .map(|b| b.log_level())
        .unwrap_or(LogLevel::Info);
    status(write_u32(&mut caller, out, level as u32))
}

pub(crate) fn proxy_get_current_time_nanoseconds(
    mut caller: Caller<'_, HostState>,
    out: i32,
) -> wasmtime::Result<i32> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    status(write_u64(&mut caller, out, now))
}

/// The period belongs to the root context of the effective context (as in Envoy); 0 cancels the tick.
pub(crate) fn proxy_set_tick_period_milliseconds(
    mut caller: Caller<'_, HostState>,
    period: i32,
) -> wasmtime::Result<i32> {
    let state = caller.data_mut();
    let Some(root) = state.root_of(state.effective_context) else {
        return Ok(Status::BadArgument as i32);
    };
    let period = period as u32;
    if period == 0 {
        state.tick_periods.remove(&root);
    } else {
        let period = period.max(crate::limits::MIN_TICK_PERIOD_MS as u32);
        state.tick_periods.insert(root, period);
        crate::schedule::wake(std::time::Duration::from_millis(period as u64));
    }
    Ok(Status::Ok as i32)
}
