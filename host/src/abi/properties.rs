//! Properties: `proxy_get_property`, `proxy_set_property`. A path is NUL-separated segments. Also
//! `proxy_call_foreign_function`, the other way a plugin asks the proxy for something by name.
//!
//! The host answers the plugin's own properties (`plugin_name`, `plugin_root_id`, `plugin_vm_id`); everything
//! else goes to the proxy.

use wasmtime::Caller;

use super::memory::{copy_out, read_limited, status, HostResult, Stop};
use crate::limits::{MAX_FOREIGN_ARGUMENTS, MAX_PROPERTY_BYTES};
use crate::types::Status;
use crate::vm::HostState;

fn segments(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == 0).filter(|s| !s.is_empty()).collect()
}

pub(crate) fn proxy_get_property(
    mut caller: Caller<'_, HostState>,
    path_ptr: i32,
    path_len: i32,
    ptr_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| {
        let path = read_limited(&mut caller, path_ptr, path_len, MAX_PROPERTY_BYTES)?;
        let segs = segments(&path);
        let value = match segs.as_slice() {
            [b"plugin_name"] => Some(caller.data().plugin.as_bytes().to_vec()),
            [b"plugin_root_id"] => Some(caller.data().root_id.as_bytes().to_vec()),
            [b"plugin_vm_id"] => Some(Vec::new()),
            _ => {
                let backend = caller.data_mut().backend().ok_or(Status::InternalFailure)?;
                backend.get_property(&segs)
            }
        };
        match value {
            Some(v) => copy_out(&mut caller, &v, ptr_out, size_out),
            None => Err(Stop::Status(Status::NotFound)),
        }
    })())
}

pub(crate) fn proxy_set_property(
    mut caller: Caller<'_, HostState>,
    path_ptr: i32,
    path_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let path = read_limited(&mut caller, path_ptr, path_len, MAX_PROPERTY_BYTES)?;
        let value = read_limited(&mut caller, value_ptr, value_len, MAX_PROPERTY_BYTES)?;
        let backend = caller.data_mut().backend().ok_or(Status::InternalFailure)?;
        backend
            .set_property(&segments(&path), &value)
            .map_err(Stop::Status)
    })())
}

/// `proxy_call_foreign_function(name, name_size, args, args_size, results, results_size)`.
pub(crate) fn proxy_call_foreign_function(
    mut caller: Caller<'_, HostState>,
    name_ptr: i32,
    name_len: i32,
    args_ptr: i32,
    args_len: i32,
    results_ptr_out: i32,
    results_size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let name = read_limited(&mut caller, name_ptr, name_len, MAX_PROPERTY_BYTES)?;
        let args = read_limited(&mut caller, args_ptr, args_len, MAX_FOREIGN_ARGUMENTS)?;
        let f = crate::foreign::lookup(&name).ok_or(Stop::Status(Status::NotFound))?;
        match f(&args) {
            Ok(results) => copy_out(&mut caller, &results, results_ptr_out, results_size_out),
            Err(why) => {
                let msg = format!(
                    "foreign function \"{}\" failed: {why}",
                    String::from_utf8_lossy(&name)
                );
                super::host_log(&mut caller, crate::types::LogLevel::Error, msg.as_bytes());
                Err(Stop::Status(Status::InternalFailure))
            }
        }
    })())
}
