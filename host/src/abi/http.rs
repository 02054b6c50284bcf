//! HTTP stream control: `proxy_send_local_response` (alias `proxy_send_http_response`),
//! `proxy_continue_stream`, the 0.1.0 `proxy_continue_request`/`_response`, and `proxy_http_call` (alias
//! `proxy_dispatch_http_call`).

use wasmtime::Caller;

use super::host_log;
use super::memory::{
    copy_out, read, read_limited, status, with_bytes, write_u32, HostResult, Stop,
};
use crate::http_syntax::call_target;
use crate::limits::{
    DEFAULT_HTTP_CALL_TIMEOUT_MS, MAX_HTTP_CALLS_PER_CONTEXT, MAX_HTTP_CALL_BODY,
    MAX_HTTP_CALL_TIMEOUT_MS, MAX_LOCAL_RESPONSE_BODY, MAX_MAP_BYTES,
};
use crate::map;
use crate::messages::{HttpCall, LocalResponse};
use crate::types::{LogLevel, Status, StreamType};
use crate::vm::{ContextKind, HostState};

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
        let headers = match with_bytes(
            &caller,
            headers_ptr,
            headers_len,
            MAX_MAP_BYTES,
            map::decode,
        )? {
            Ok(h) => h,
            Err(e) => {
                let msg = format!("proxy_send_local_response: {e}");
                host_log(&mut caller, LogLevel::Error, msg.as_bytes());
                return Err(Stop::Status(Status::BadArgument));
            }
        };
        if !details.is_empty() {
            log_details(&mut caller, status_code, &details);
        }
        caller.data_mut().local_response = Some(Box::new(LocalResponse {
            status: status_code as u32,
            headers,
            body,
            details,
        }));
        Ok(())
    })())
}

/// The `details` of a local response, at debug level (the proxy logs local responses nowhere else): formatted
/// only when the log records debug lines.
#[cold]
fn log_details(caller: &mut Caller<'_, HostState>, status_code: i32, details: &[u8]) {
    let debug = caller
        .data_mut()
        .backend()
        .is_some_and(|b| b.log_level() <= LogLevel::Debug);
    if debug {
        let msg = format!(
            "proxy_send_local_response: status {status_code}, details \"{}\"",
            String::from_utf8_lossy(details)
        );
        host_log(caller, LogLevel::Debug, msg.as_bytes());
    }
}

/// Continuing is recorded in the callback's outcome (`Outcome::resumed`); the proxy resumes a stream it holds
/// for pending HTTP calls once they are answered. From another context (after `proxy_set_effective_context`)
/// it continues that context's paused request or held response.
pub(crate) fn proxy_continue_stream(
    mut caller: Caller<'_, HostState>,
    kind: i32,
) -> wasmtime::Result<i32> {
    let Some(kind) = StreamType::from_i32(kind) else {
        return Ok(Status::BadArgument as i32);
    };
    if matches!(kind, StreamType::HttpRequest | StreamType::HttpResponse) {
        let state = caller.data_mut();
        let target = state.effective_context;
        if state.stream == Some(target) {
            state.resumed = true;
        } else if matches!(state.contexts.get(&target), Some(ContextKind::Http { .. })) {
            // Another context continues this one's paused request: the proxy resumes it after this call.
            if !state.continued.contains(&target) {
                state.continued.push(target);
            }
            crate::schedule::wake_paused();
        }
    }
    Ok(Status::Ok as i32)
}

/// `proxy_close_stream(kind)`: the stream of the HTTP context whose callback runs is closed once the callback
/// returns (the proxy drops the connection: no response, or no more of it). Outside a stream callback:
/// `NotFound`.
pub(crate) fn proxy_close_stream(
    mut caller: Caller<'_, HostState>,
    kind: i32,
) -> wasmtime::Result<i32> {
    if StreamType::from_i32(kind).is_none() {
        return Ok(Status::BadArgument as i32);
    }
    let state = caller.data_mut();
    let target = state.effective_context;
    if state.stream.is_some() && state.stream == Some(target) {
        state.close = true;
        return Ok(Status::Ok as i32);
    }
    if matches!(state.contexts.get(&target), Some(ContextKind::Http { .. })) {
        // Another context closes this one's (paused) stream: the proxy drops it after this call.
        if !state.closed.contains(&target) {
            state.closed.push(target);
        }
        crate::schedule::wake_paused();
        return Ok(Status::Ok as i32);
    }
    if state.stream.is_none() {
        return Ok(Status::NotFound as i32);
    }
    state.close = true;
    Ok(Status::Ok as i32)
}

/// `proxy_get_status(code, message, message_size)`: during `proxy_on_http_call_response`, the call's status as
/// Envoy reports it: 0 and no message for a call that got a response, 11 ("broken connection") and a reason for
/// one that failed (timeout, refused, bad response); during `proxy_on_grpc_close`, the gRPC status and message.
/// Elsewhere there is no status: `NotFound`.
pub(crate) fn proxy_get_status(
    mut caller: Caller<'_, HostState>,
    code_out: i32,
    message_out: i32,
    message_size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        if let Some((code, message)) = caller.data().grpc_status.clone() {
            write_u32(&mut caller, code_out, code)?;
            return copy_out(&mut caller, &message, message_out, message_size_out);
        }
        let failed = match &caller.data().call_response {
            Some(r) => r.headers.is_empty(),
            None => return Err(Stop::Status(Status::NotFound)),
        };
        let (code, message): (u32, &[u8]) = if failed {
            (11, b"the call failed: no response")
        } else {
            (0, b"")
        };
        write_u32(&mut caller, code_out, code)?;
        copy_out(&mut caller, message, message_out, message_size_out)
    })())
}

/// `proxy_continue_request` (0.1.0); `proxy_continue_response` is accepted and has nothing to resume.
pub(crate) fn proxy_continue_request(mut caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    caller.data_mut().resumed = true;
    Ok(Status::Ok as i32)
}

pub(crate) fn proxy_continue_legacy(_caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    Ok(Status::Ok as i32)
}

/// Whether `v` can go on an HTTP/1.1 request line or header line as is.
pub(super) fn clean(v: &[u8], allow_space: bool) -> bool {
    v.iter()
        .all(|&b| b != b'\r' && b != b'\n' && b != 0 && (allow_space || b != b' '))
}

/// `proxy_http_call` (alias `proxy_dispatch_http_call`): record the call for the proxy to perform after the
/// callback returns, and hand the plugin its token.
#[allow(clippy::too_many_arguments)]
pub(crate) fn proxy_http_call(
    mut caller: Caller<'_, HostState>,
    upstream_ptr: i32,
    upstream_len: i32,
    headers_ptr: i32,
    headers_len: i32,
    body_ptr: i32,
    body_len: i32,
    trailers_ptr: i32,
    trailers_len: i32,
    timeout_ms: i32,
    token_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let refuse = |caller: &mut Caller<'_, HostState>, s: Status, why: &str| {
            let msg = format!("proxy_http_call: {why}");
            host_log(caller, LogLevel::Error, msg.as_bytes());
            Err(Stop::Status(s))
        };
        let context_id = dispatcher(&mut caller, "proxy_http_call", "HTTP")?;
        if body_len as u32 as usize > MAX_HTTP_CALL_BODY {
            return refuse(
                &mut caller,
                Status::BadArgument,
                &format!("body larger than the limit of {MAX_HTTP_CALL_BODY} bytes"),
            );
        }
        let upstream = read_limited(&mut caller, upstream_ptr, upstream_len, MAX_MAP_BYTES)?;
        let raw_headers = read_limited(&mut caller, headers_ptr, headers_len, MAX_MAP_BYTES)?;
        let body = read(&mut caller, body_ptr, body_len)?;
        let raw_trailers = read_limited(&mut caller, trailers_ptr, trailers_len, MAX_MAP_BYTES)?;
        let upstream = match String::from_utf8(upstream) {
            // The target is checked now, as on api7's host and Envoy (an unknown cluster): the plugin learns at
            // once, not from a failed call.
            Ok(u) if call_target(u.as_bytes()).is_some() => u,
            _ => {
                return refuse(
                    &mut caller,
                    Status::BadArgument,
                    "bad upstream (want host[:port] or an upstream name)",
                )
            }
        };
        let pairs = match map::decode(&raw_headers) {
            Ok(p) => p,
            Err(e) => return refuse(&mut caller, Status::BadArgument, &format!("headers: {e}")),
        };
        let trailers = match map::decode(&raw_trailers) {
            Ok(t) => t,
            Err(e) => return refuse(&mut caller, Status::BadArgument, &format!("trailers: {e}")),
        };
        let (mut method, mut path, mut scheme, mut authority) = (None, None, None, None);
        let mut headers = Vec::new();
        for (k, v) in pairs {
            let slot = match k.as_slice() {
                b":method" => &mut method,
                b":path" => &mut path,
                b":scheme" => &mut scheme,
                b":authority" => &mut authority,
                _ if k.starts_with(b":") => continue,
                _ => {
                    if k.is_empty() || !clean(&k, false) || !clean(&v, true) {
                        let msg = format!("bad header {:?}", String::from_utf8_lossy(&k));
                        return refuse(&mut caller, Status::BadArgument, &msg);
                    }
                    headers.push((k, v));
                    continue;
                }
            };
            *slot = Some(v);
        }
        // As api7's host does (its plugins rely on it): :method defaults to GET, :path to `/` (a relative one
        // gets a leading `/`), :authority to the upstream the call goes to.
        let method = method.unwrap_or_else(|| b"GET".to_vec());
        let path = match path {
            None => b"/".to_vec(),
            Some(p) if !p.starts_with(b"/") && !p.is_empty() => [b"/".as_slice(), &p].concat(),
            Some(p) => p,
        };
        let authority = authority.unwrap_or_else(|| upstream.as_bytes().to_vec());
        if method.is_empty() || !clean(&method, false) || path.is_empty() || !clean(&path, false) {
            return refuse(&mut caller, Status::BadArgument, "bad :method or :path");
        }
        if !clean(&authority, false) {
            return refuse(&mut caller, Status::BadArgument, "bad :authority");
        }
        let scheme = scheme.unwrap_or_else(|| b"http".to_vec());
        if scheme != b"http" && scheme != b"https" {
            return refuse(
                &mut caller,
                Status::BadArgument,
                "bad :scheme (http or https)",
            );
        }
        if !trailers.is_empty() {
            host_log(
                &mut caller,
                LogLevel::Warn,
                b"proxy_http_call: trailers are not sent over HTTP/1.1; dropped",
            );
        }
        let timeout_ms = call_timeout(timeout_ms);
        let token = new_token(caller.data_mut());
        write_u32(&mut caller, token_out, token)?;
        let state = caller.data_mut();
        state.pending_calls.insert(token, context_id);
        state.dispatched.push(HttpCall {
            token,
            context_id,
            upstream,
            method,
            path,
            scheme,
            authority,
            headers,
            body,
            timeout_ms,
            grpc: None,
        });
        Ok(())
    })())
}

/// The context a call dispatched now belongs to (the HTTP context whose callback runs, or the root context
/// whose tick, queue delivery or call answer runs); `func` refuses it (logged) anywhere else, or past
/// `MAX_HTTP_CALLS_PER_CONTEXT` outstanding calls of that context. `kind` names the calls in the line.
pub(super) fn dispatcher(
    caller: &mut Caller<'_, HostState>,
    func: &str,
    kind: &str,
) -> Result<u32, Stop> {
    let refuse = |caller: &mut Caller<'_, HostState>, why: &str| {
        host_log(caller, LogLevel::Error, format!("{func}: {why}").as_bytes());
        Err(Stop::Status(Status::InternalFailure))
    };
    let state = caller.data();
    if state.stream.is_some() && state.response_callback {
        // As api7's host: the plugin learns at once (a call from a response callback could not be waited for).
        let why = format!(
            "{kind} calls cannot be dispatched from a response callback (the response cannot wait for them)"
        );
        host_log(caller, LogLevel::Error, format!("{func}: {why}").as_bytes());
        return Err(Stop::Status(Status::BadArgument));
    }
    let Some(context_id) = state.stream.or(state.running_root) else {
        let why = format!(
            "{kind} calls are dispatched from request callbacks, ticks, queue deliveries and call answers"
        );
        return refuse(caller, &why);
    };
    let outstanding = state
        .pending_calls
        .values()
        .filter(|c| **c == context_id)
        .count();
    if outstanding >= MAX_HTTP_CALLS_PER_CONTEXT {
        let why = format!("more than {MAX_HTTP_CALLS_PER_CONTEXT} calls outstanding");
        return refuse(caller, &why);
    }
    Ok(context_id)
}

/// A call's timeout in milliseconds: the plugin's, `DEFAULT_HTTP_CALL_TIMEOUT_MS` for 0, at most
/// `MAX_HTTP_CALL_TIMEOUT_MS`.
pub(super) fn call_timeout(ms: i32) -> u32 {
    match ms as u32 {
        0 => DEFAULT_HTTP_CALL_TIMEOUT_MS,
        t => t.min(MAX_HTTP_CALL_TIMEOUT_MS),
    }
}

/// A token no outstanding call holds (HTTP and gRPC calls share them).
pub(super) fn new_token(state: &mut HostState) -> u32 {
    loop {
        state.next_token = state.next_token.wrapping_add(1);
        let t = state.next_token;
        if t != 0 && !state.pending_calls.contains_key(&t) && !state.cancelled_calls.contains(&t) {
            return t;
        }
    }
}

/// nginx has no route cache to clear: the call is accepted and has no effect (documented).
pub(crate) fn proxy_clear_route_cache(_caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    Ok(Status::Ok as i32)
}
