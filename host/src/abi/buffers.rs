//! Buffers: `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`, `proxy_get_buffer_status`, and the 0.1.0
//! `proxy_get_configuration`.

use std::rc::Rc;

use wasmtime::Caller;

use super::memory::{copy_out, read, status, write_u32, HostResult, Stop};
use crate::types::{BufferType, Status};
use crate::vm::{ContextKind, HostState};

/// The bytes of a buffer as the current callback sees them, lent out of the state for the time of one host call:
/// the configurations are shared, a body or a call's response body is moved out (no copy; reading it calls the
/// guest's allocator, which needs the store) and put back with `give_back`.
enum Lent {
    Shared(Rc<[u8]>),
    Body(Vec<u8>),
    CallBody(Vec<u8>),
}

impl std::ops::Deref for Lent {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Lent::Shared(b) => b,
            Lent::Body(b) | Lent::CallBody(b) => b,
        }
    }
}

/// Lend the buffer of `kind`, or the status explaining why there is none.
fn lend(state: &mut HostState, kind: BufferType) -> Result<Lent, Status> {
    match kind {
        BufferType::VmConfiguration => Ok(Lent::Shared(state.vm_configuration.clone())),
        BufferType::PluginConfiguration => {
            // The configuration of the effective context's root context (its own, for a root context).
            let root = match state.contexts.get(&state.effective_context) {
                Some(ContextKind::Root) => state.effective_context,
                Some(ContextKind::Http { root }) => *root,
                None => return Err(Status::NotFound),
            };
            state
                .configurations
                .get(&root)
                .cloned()
                .map(Lent::Shared)
                .ok_or(Status::NotFound)
        }
        BufferType::HttpRequestBody | BufferType::HttpResponseBody => {
            if state.body.kind == Some(kind) {
                Ok(Lent::Body(std::mem::take(&mut state.body.bytes)))
            } else {
                Err(Status::NotFound)
            }
        }
        BufferType::HttpCallResponseBody if state.grpc_status.is_none() => call_body(state),
        BufferType::GrpcReceiveBuffer if state.grpc_status.is_some() => call_body(state),
        _ => Err(Status::NotFound),
    }
}

fn call_body(state: &mut HostState) -> Result<Lent, Status> {
    state
        .call_response
        .as_mut()
        .map(|r| Lent::CallBody(std::mem::take(&mut r.body)))
        .ok_or(Status::NotFound)
}

/// Put a lent buffer back where `lend` took it from.
fn give_back(state: &mut HostState, lent: Lent) {
    match lent {
        Lent::Shared(_) => {}
        Lent::Body(b) => state.body.bytes = b,
        Lent::CallBody(b) => {
            if let Some(r) = state.call_response.as_mut() {
                r.body = b;
            }
        }
    }
}

/// Run `f` on the buffer of `kind`, lent for the time of the call.
fn with_lent<T>(
    caller: &mut Caller<'_, HostState>,
    kind: BufferType,
    f: impl FnOnce(&mut Caller<'_, HostState>, &[u8]) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let lent = lend(caller.data_mut(), kind)?;
    let r = f(caller, &lent);
    give_back(caller.data_mut(), lent);
    r
}

pub(crate) fn proxy_get_buffer_bytes(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    start: i32,
    max_size: i32,
    ptr_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = BufferType::from_i32(kind).ok_or(Status::BadArgument)?;
        with_lent(&mut caller, kind, |caller, bytes| {
            // Both are unsigned in the ABI: SDKs pass u32::MAX as `max_size` to mean "all of it". A start past
            // the end is a bad argument, as in Envoy and api7's host.
            let start = start as u32 as usize;
            if start > bytes.len() {
                return Err(Stop::Status(Status::BadArgument));
            }
            let end = start
                .saturating_add(max_size as u32 as usize)
                .min(bytes.len());
            copy_out(caller, &bytes[start..end], ptr_out, size_out)
        })
    })())
}

pub(crate) fn proxy_get_buffer_status(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    length_out: i32,
    flags_out: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let kind = BufferType::from_i32(kind).ok_or(Status::BadArgument)?;
        let len = with_lent(&mut caller, kind, |_, bytes| Ok(bytes.len()))?;
        let eos = match kind {
            BufferType::HttpRequestBody | BufferType::HttpResponseBody => {
                caller.data().body.end_of_stream
            }
            // The whole call response is there at once.
            BufferType::HttpCallResponseBody => true,
            _ => false,
        };
        write_u32(&mut caller, length_out, len as u32)?;
        write_u32(&mut caller, flags_out, eos as u32)
    })())
}

pub(crate) fn proxy_set_buffer_bytes(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    start: i32,
    size: i32,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let kind = BufferType::from_i32(kind).ok_or(Status::BadArgument)?;
        if !matches!(
            kind,
            BufferType::HttpRequestBody | BufferType::HttpResponseBody
        ) || caller.data().body.kind != Some(kind)
        {
            return Err(Stop::Status(Status::NotFound));
        }
        let data = read(&mut caller, ptr, len)?;
        let body = &mut caller.data_mut().body;
        // Replace `size` bytes at `start` (both clamped to the buffer): start 0 size 0 prepends,
        // start = len appends, start 0 size = len replaces, as the SDKs use it.
        let start = (start as u32 as usize).min(body.bytes.len());
        let end = start
            .saturating_add(size as u32 as usize)
            .min(body.bytes.len());
        body.bytes.splice(start..end, data);
        body.modified = true;
        Ok(())
    })())
}

pub(crate) fn proxy_get_configuration(
    mut caller: Caller<'_, HostState>,
    ptr_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    status(with_lent(
        &mut caller,
        BufferType::PluginConfiguration,
        |caller, bytes| copy_out(caller, bytes, ptr_out, size_out),
    ))
}
