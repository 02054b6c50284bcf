//! HTTP stream control: `proxy_send_local_response` (alias `proxy_send_http_response`),
//! `proxy_continue_stream`, `proxy_close_stream` and the 0.1.0 `proxy_continue_request`/`_response`.

use wasmtime::Caller;

use super::host_log;
use super::memory::{read, read_limited, status, HostResult, Stop};
use crate::limits::{MAX_LOCAL_RESPONSE_BODY, MAX_MAP_BYTES};
use crate::map;
use crate::types::{LogLevel, Status};
use crate::vm::{ContextKind, HostState, LocalResponse};

#[allow(clippy::too_many_arguments)]
pub(crate) fn proxy_send_local_response(
    mut caller: Caller<'_, HostState>,
    status_code: i32,
    details_ptr: i32,
    details_len: i32,
    body_ptr: i32,
    body_len: i32,
    headers_ptr: i32,
    headers_len: i32,
    _grpc_status: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let state = caller.data();
        let in_http = matches!(
            state.contexts.get(&state.effective_context),
            Some(ContextKind::Http { .. })
        );
        if !in_http {
            host_log(
                &mut caller,
                LogLevel::Error,
                b"proxy_send_local_response: only an HTTP context can send a local response",
            );
            return Err(Stop::Status(Status::BadArgument));
        }
        if !(100..=599).contains(&status_code) {
            let msg = format!("proxy_send_local_response: invalid HTTP status {status_code}");
            host_log(&mut caller, LogLevel::Error, msg.as_bytes());
            return Err(Stop::Status(Status::BadArgument));
        }
        if body_len as u32 as usize > MAX_LOCAL_RESPONSE_BODY {
            let msg = format!(
                "proxy_send_local_response: body of {} bytes is larger than the limit of {MAX_LOCAL_RESPONSE_BODY}",
                body_len as u32
            );
            host_log(&mut caller, LogLevel::Error, msg.as_bytes());
            return Err(Stop::Status(Status::BadArgument));
        }
        let details = read_limited(&mut caller, details_ptr, details_len, MAX_MAP_BYTES)?;
        let body = read(&mut caller, body_ptr, body_len)?;
        let raw_headers = read_limited(&mut caller, headers_ptr, headers_len, MAX_MAP_BYTES)?;
        let headers = match map::decode(&raw_headers) {
            Ok(h) => h,
            Err(e) => {
                let msg = format!("proxy_send_local_response: {e}");
                host_log(&mut caller, LogLevel::Error, msg.as_bytes());
                return Err(Stop::Status(Status::BadArgument));
            }
        };
        caller.data_mut().local_response = Some(LocalResponse {
            status: status_code as u32,
            headers,
            body,
            details,
        });
        Ok(())
    })())
}

/// Nothing is ever left paused by this host between callbacks yet, so continuing is always satisfied.
pub(crate) fn proxy_continue_stream(
    _caller: Caller<'_, HostState>,
    kind: i32,
) -> wasmtime::Result<i32> {
    Ok(if (0..=3).contains(&kind) {
        Status::Ok
    } else {
        Status::BadArgument
    } as i32)
}

pub(crate) fn proxy_continue_legacy(_caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    Ok(Status::Ok as i32)
}

/// nginx has no route cache to clear: the call is accepted and has no effect (documented).
pub(crate) fn proxy_clear_route_cache(_caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    Ok(Status::Ok as i32)
}
