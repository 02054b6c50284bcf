//! Unary gRPC calls: `proxy_grpc_call` records an HTTP/2 POST for the proxy to send to a gRPC upstream (the
//! call's `grpc` field says it is one), `proxy_grpc_cancel` forgets one (its answer, if it comes, is dropped).
//! The answer goes to `proxy_on_grpc_receive` or `proxy_on_grpc_close` (`HttpContext::on_http_call_response`).
//! Streams (`proxy_grpc_stream`, `_send`, `_close`) stay refused.

use wasmtime::Caller;

use super::host_log;
use super::http::{call_timeout, clean, dispatcher, new_token};
use super::memory::{read, read_limited, status, write_u32, HostResult, Stop};
use crate::http_syntax::call_target;
use crate::limits::{MAX_HTTP_CALL_BODY, MAX_MAP_BYTES};
use crate::map;
use crate::messages::{GrpcMethod, HttpCall};
use crate::types::{LogLevel, Status};
use crate::vm::HostState;

/// `proxy_grpc_call(service, service_name, method_name, initial_metadata, message, timeout_ms, token_out)`:
/// `service` names the upstream (a cluster name, as the Rust SDK's `dispatch_grpc_call` passes it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn proxy_grpc_call(
    mut caller: Caller<'_, HostState>,
    service_ptr: i32,
    service_len: i32,
    service_name_ptr: i32,
    service_name_len: i32,
    method_ptr: i32,
    method_len: i32,
    metadata_ptr: i32,
    metadata_len: i32,
    message_ptr: i32,
    message_len: i32,
    timeout_ms: i32,
    token_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let refuse = |caller: &mut Caller<'_, HostState>, s: Status, why: &str| {
            let msg = format!("proxy_grpc_call: {why}");
            host_log(caller, LogLevel::Error, msg.as_bytes());
            Err(Stop::Status(s))
        };
        let context_id = dispatcher(&mut caller, "proxy_grpc_call", "gRPC")?;
        if message_len as u32 as usize > MAX_HTTP_CALL_BODY - 5 {
            let why = format!("message larger than the limit of {MAX_HTTP_CALL_BODY} bytes");
            return refuse(&mut caller, Status::BadArgument, &why);
        }
        let upstream = read_limited(&mut caller, service_ptr, service_len, MAX_MAP_BYTES)?;
        let service = read_limited(
            &mut caller,
            service_name_ptr,
            service_name_len,
            MAX_MAP_BYTES,
        )?;
        let method = read_limited(&mut caller, method_ptr, method_len, MAX_MAP_BYTES)?;
        let metadata = read_limited(&mut caller, metadata_ptr, metadata_len, MAX_MAP_BYTES)?;
        let message = read(&mut caller, message_ptr, message_len)?;
        let upstream = match String::from_utf8(upstream) {
            Ok(u) if call_target(u.as_bytes()).is_some() => u,
            _ => {
                return refuse(
                    &mut caller,
                    Status::BadArgument,
                    "bad service (an upstream name)",
                )
            }
        };
        let name_ok =
            |v: &[u8]| !v.is_empty() && v.iter().all(|c| c.is_ascii_graphic() && *c != b'/');
        if !name_ok(&service) || !name_ok(&method) {
            return refuse(
                &mut caller,
                Status::BadArgument,
                "bad service or method name",
            );
        }
        let pairs = match map::decode(&metadata) {
            Ok(p) => p,
            Err(e) => {
                return refuse(&mut caller, Status::BadArgument, &format!("metadata: {e}"));
            }
        };
        let mut headers = vec![
            (b"content-type".to_vec(), b"application/grpc".to_vec()),
            (b"te".to_vec(), b"trailers".to_vec()),
        ];
        for (k, v) in pairs {
            if k.is_empty() || k.starts_with(b":") || !clean(&k, false) || !clean(&v, true) {
                let msg = format!("bad metadata {:?}", String::from_utf8_lossy(&k));
                return refuse(&mut caller, Status::BadArgument, &msg);
            }
            headers.push((k, v));
        }
        let timeout_ms = call_timeout(timeout_ms);
        headers.push((
            b"grpc-timeout".to_vec(),
            format!("{timeout_ms}m").into_bytes(),
        ));
        // One length-prefixed message, uncompressed.
        let mut body = Vec::with_capacity(5 + message.len());
        body.push(0);
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(&message);
        let path = [b"/".as_slice(), &service, b"/", &method].concat();
        let state = caller.data_mut();
        let token = new_token(state);
        state.pending_calls.insert(token, context_id);
        state.grpc_calls.push(token);
        state.dispatched.push(HttpCall {
            token,
            context_id,
            authority: upstream.clone().into_bytes(),
            upstream,
            method: b"POST".to_vec(),
            path,
            scheme: b"http".to_vec(),
            headers,
            body,
            timeout_ms,
            grpc: Some(GrpcMethod { service, method }),
        });
        write_u32(&mut caller, token_out, token)?;
        Ok(())
    })())
}

/// `proxy_grpc_cancel(token)`: forget an outstanding gRPC call of the running context; no callback runs for it.
pub(crate) fn proxy_grpc_cancel(
    mut caller: Caller<'_, HostState>,
    token: i32,
) -> wasmtime::Result<i32> {
    let token = token as u32;
    let state = caller.data_mut();
    let Some(pos) = state.grpc_calls.iter().position(|t| *t == token) else {
        return Ok(Status::NotFound as i32);
    };
    state.grpc_calls.swap_remove(pos);
    state.pending_calls.remove(&token);
    if let Some(at) = state.dispatched.iter().position(|c| c.token == token) {
        // Dispatched in this same callback: never performed.
        state.dispatched.remove(at);
        return Ok(Status::Ok as i32);
    }
    if state.cancelled_calls.len() >= crate::limits::MAX_HTTP_CALLS_PER_CONTEXT * 16 {
        state.cancelled_calls.remove(0);
    }
    state.cancelled_calls.push(token);
    Ok(Status::Ok as i32)
}
