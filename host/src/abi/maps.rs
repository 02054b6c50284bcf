//! Header maps: `proxy_get_header_map_*`, `proxy_set_header_map_pairs`, `proxy_add/replace/remove_header_map_value`.

use wasmtime::Caller;

use super::memory::{copy_out, read, read_limited, status, write_u32, HostResult, Stop};
use crate::backend::HttpBackend;
use crate::limits::{MAX_MAP_BYTES, MAX_PROPERTY_BYTES};
use crate::map;
use crate::types::{MapType, Status};
use crate::vm::HostState;

/// Run `f` against the HTTP stream of the current call; maps exist only for an HTTP context.
fn with_http<R>(
    caller: &mut Caller<'_, HostState>,
    f: impl FnOnce(&mut dyn HttpBackend) -> Result<R, Status>,
) -> Result<R, Stop> {
    let backend = caller.data_mut().backend().ok_or(Status::InternalFailure)?;
    let http = backend.http().ok_or(Status::NotFound)?;
    f(http).map_err(Stop::Status)
}

fn map_type(v: i32) -> Result<MapType, Stop> {
    MapType::from_i32(v).ok_or(Stop::Status(Status::BadArgument))
}

/// Maps this host never has: request trailers (nginx does not expose them to modules) and gRPC metadata (no
/// gRPC calls). Reading one gives an empty map and changing one is ignored, both with `Ok` (the SDKs trap on
/// any other status from map calls); the first use per instance is logged.
fn unavailable(caller: &mut Caller<'_, HostState>, kind: MapType) -> bool {
    let grpc = caller.data().grpc_status.is_some();
    let what: &'static str = match kind {
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata if grpc => {
            return false
        }
        MapType::HttpRequestTrailers => "request trailers",
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata => {
            "gRPC metadata"
        }
        _ => return false,
    };
    if !caller.data().warned_once.contains(&what) {
        caller.data_mut().warned_once.push(what);
        let msg = format!(
            "{what} are not available in this host: reading gives an empty map, changes are ignored"
        );
        super::host_log(caller, crate::types::LogLevel::Warn, msg.as_bytes());
    }
    true
}

/// The pairs of an HTTP-call response map (types 6 and 7), which the host holds itself; `None` for the
/// maps of the stream. Outside `proxy_on_http_call_response` there is no such map (`NotFound`).
fn call_map(caller: &Caller<'_, HostState>, kind: MapType) -> Option<Result<Vec<map::Pair>, Stop>> {
    let pick = |r: &crate::messages::CallResponse| match kind {
        MapType::HttpCallResponseHeaders | MapType::GrpcReceiveInitialMetadata => r.headers.clone(),
        _ => r.trailers.clone(),
    };
    let grpc = caller.data().grpc_status.is_some();
    match kind {
        MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers if grpc => {
            Some(Err(Stop::Status(Status::NotFound)))
        }
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata if !grpc => None,
        MapType::HttpCallResponseHeaders
        | MapType::HttpCallResponseTrailers
        | MapType::GrpcReceiveInitialMetadata
        | MapType::GrpcReceiveTrailingMetadata => Some(
            caller
                .data()
                .call_response
                .as_ref()
                .map(pick)
                .ok_or(Stop::Status(Status::NotFound)),
        ),
        _ => None,
    }
}

/// The pairs of any map readable now.
fn pairs_of(caller: &mut Caller<'_, HostState>, kind: MapType) -> Result<Vec<map::Pair>, Stop> {
    if unavailable(caller, kind) {
        return Ok(Vec::new());
    }
    match call_map(caller, kind) {
        Some(r) => r,
        None => with_http(caller, |h| h.map_pairs(kind)),
    }
}

/// Whether a change to `kind` is to be made: HTTP-call response maps are read-only (`BadArgument`), and absent
/// outside `proxy_on_http_call_response` (`NotFound`); changes to unavailable maps are ignored (`Ok(false)`).
fn writable(caller: &mut Caller<'_, HostState>, kind: MapType) -> Result<bool, Stop> {
    if unavailable(caller, kind) {
        return Ok(false);
    }
    match kind {
        MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers => {
            Err(Stop::Status(if caller.data().call_response.is_some() {
                Status::BadArgument
            } else {
                Status::NotFound
            }))
        }
        _ => Ok(true),
    }
}

pub(crate) fn proxy_get_header_map_pairs(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    ptr_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = map_type(kind)?;
        let pairs = pairs_of(&mut caller, kind)?;
        copy_out(&mut caller, &map::encode(&pairs), ptr_out, size_out)
    })())
}

pub(crate) fn proxy_get_header_map_size(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = map_type(kind)?;
        let pairs = pairs_of(&mut caller, kind)?;
        write_u32(&mut caller, size_out, map::encoded_len(&pairs) as u32)
    })())
}

pub(crate) fn proxy_get_header_map_value(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    key_ptr: i32,
    key_len: i32,
    ptr_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = map_type(kind)?;
        let key = read_limited(&mut caller, key_ptr, key_len, MAX_PROPERTY_BYTES)?;
        if unavailable(&mut caller, kind) {
            return Err(Stop::Status(Status::NotFound));
        }
        let value = match call_map(&caller, kind) {
            Some(pairs) => pairs?
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                .map(|(_, v)| v),
            None => with_http(&mut caller, |h| h.map_value(kind, &key))?,
        };
        match value {
            Some(v) => copy_out(&mut caller, &v, ptr_out, size_out),
            None => Err(Stop::Status(Status::NotFound)),
        }
    })())
}

pub(crate) fn proxy_set_header_map_pairs(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let kind = map_type(kind)?;
        if !writable(&mut caller, kind)? {
            return Ok(());
        }
        let bytes = read_limited(&mut caller, ptr, len, MAX_MAP_BYTES)?;
        let pairs = map::decode(&bytes).map_err(|_| Status::BadArgument)?;
        with_http(&mut caller, |h| {
            for (k, _) in h.map_pairs(kind)? {
                if !k.starts_with(b":") {
                    h.map_remove(kind, &k)?;
                }
            }
            for (k, v) in &pairs {
                if k.starts_with(b":") {
                    h.map_replace(kind, k, v)?;
                } else {
                    h.map_add(kind, k, v)?;
                }
            }
            Ok(())
        })
    })())
}

fn key_value(
    caller: &mut Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> Result<(Vec<u8>, Vec<u8>), Stop> {
    let key = read_limited(caller, key_ptr, key_len, MAX_PROPERTY_BYTES)?;
    let value = read(caller, value_ptr, value_len)?;
    Ok((key, value))
}

pub(crate) fn proxy_add_header_map_value(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = map_type(kind)?;
        if !writable(&mut caller, kind)? {
            return Ok(());
        }
        let (k, v) = key_value(&mut caller, key_ptr, key_len, value_ptr, value_len)?;
        if k.is_empty() {
            // An empty name changes nothing (as on api7's host; the SDKs need Ok from map writes).
            return Ok(());
        }
        with_http(&mut caller, |h| h.map_add(kind, &k, &v))
    })())
}

pub(crate) fn proxy_replace_header_map_value(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = map_type(kind)?;
        if !writable(&mut caller, kind)? {
            return Ok(());
        }
        let (k, v) = key_value(&mut caller, key_ptr, key_len, value_ptr, value_len)?;
        if k.is_empty() {
            return Ok(());
        }
        with_http(&mut caller, |h| h.map_replace(kind, &k, &v))
    })())
}

pub(crate) fn proxy_remove_header_map_value(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    key_ptr: i32,
    key_len: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = map_type(kind)?;
        if !writable(&mut caller, kind)? {
            return Ok(());
        }
        let key = read_limited(&mut caller, key_ptr, key_len, MAX_PROPERTY_BYTES)?;
        if key.is_empty() {
            return Ok(());
        }
        with_http(&mut caller, |h| h.map_remove(kind, &key))
    })())
}
