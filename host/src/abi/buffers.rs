//! Buffers: `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`, `proxy_get_buffer_status`, and the 0.1.0
//! `proxy_get_configuration`.

use std::rc::Rc;

use wasmtime::Caller;

use super::memory::{copy_out, read, status, write_u32, HostResult, Stop};
use crate::types::{BufferType, Status};
use crate::vm::{ContextKind, HostState};

/// The bytes of a buffer as the current callback sees them, or the status explaining why there are none.
fn buffer(state: &HostState, kind: BufferType) -> Result<Rc<[u8]>, Status> {
    match kind {
        BufferType::VmConfiguration => Ok(state.vm_configuration.clone()),
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
                .ok_or(Status::NotFound)
        }
        BufferType::HttpRequestBody | BufferType::HttpResponseBody => {
            if state.body.kind == Some(kind) {
                Ok(Rc::from(state.body.bytes.as_slice()))
            } else {
                Err(Status::NotFound)
            }
        }
        BufferType::HttpCallResponseBody if state.grpc_status.is_none() => state
            .call_response
            .as_ref()
            .map(|r| Rc::from(r.body.as_slice()))
            .ok_or(Status::NotFound),
        BufferType::GrpcReceiveBuffer if state.grpc_status.is_some() => state
            .call_response
            .as_ref()
            .map(|r| Rc::from(r.body.as_slice()))
            .ok_or(Status::NotFound),
        _ => Err(Status::NotFound),
    }
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
        let bytes = buffer(caller.data(), kind)?;
        // Both are unsigned in the ABI: SDKs pass u32::MAX as `max_size` to mean "all of it". A start past the
        // end is a bad argument, as in Envoy and api7's host.
        let start = start as u32 as usize;
        if start > bytes.len() {
            return Err(Stop::Status(Status::BadArgument));
        }
        let end = start
            .saturating_add(max_size as u32 as usize)
            .min(bytes.len());
        copy_out(&mut caller, &bytes[start..end], ptr_out, size_out)
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
        let bytes = buffer(caller.data(), kind)?;
        let eos = match kind {
            BufferType::HttpRequestBody | BufferType::HttpResponseBody => {
                caller.data().body.end_of_stream
            }
            // The whole call response is there at once.
            BufferType::HttpCallResponseBody => true,
            _ => false,
        };
        write_u32(&mut caller, length_out, bytes.len() as u32)?;
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
    status((|| {
        let bytes = buffer(caller.data(), BufferType::PluginConfiguration)?;
        copy_out(&mut caller, &bytes, ptr_out, size_out)
    })())
}
