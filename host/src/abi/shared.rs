//! Shared data and shared queues: `proxy_get_shared_data`, `proxy_set_shared_data`,
//! `proxy_register_shared_queue`, `proxy_resolve_shared_queue`, `proxy_enqueue_shared_queue`,
//! `proxy_dequeue_shared_queue`. The store is the process-wide shared region (`crate::shared`), the same for
//! every plugin and every worker; statuses are the ones Envoy returns and the SDKs expect.

use wasmtime::Caller;

use super::host_log;
use super::memory::{copy_out, read, read_limited, status, write_u32, HostResult, Stop};
use crate::limits::MAX_SHARED_KEY;
use crate::shared::{self, SharedError};
use crate::types::{LogLevel, Status};
use crate::vm::{HostState, QueueWatch};

/// The status for a shared-memory error; failures the plugin cannot act on are also logged.
pub(super) fn refusal(caller: &mut Caller<'_, HostState>, call: &str, e: SharedError) -> Stop {
    let s = match e {
        SharedError::NotFound => Status::NotFound,
        SharedError::CasMismatch => Status::CasMismatch,
        SharedError::BadArgument => Status::BadArgument,
        SharedError::Full | SharedError::TooLarge | SharedError::Corrupt => {
            let (used, total) = shared::usage();
            let msg = match e {
                SharedError::Full => format!(
                    "{call}: {e} ({used} of {total} bytes in use); raise proxy_wasm_shared_memory"
                ),
                _ => format!("{call}: {e}"),
            };
            host_log(caller, LogLevel::Error, msg.as_bytes());
            Status::InternalFailure
        }
    };
    Stop::Status(s)
}

pub(crate) fn proxy_get_shared_data(
    mut caller: Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    value_ptr_out: i32,
    value_size_out: i32,
    cas_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let key = read_limited(&mut caller, key_ptr, key_len, MAX_SHARED_KEY)?;
        let found =
            shared::get_data(&key).map_err(|e| refusal(&mut caller, "proxy_get_shared_data", e))?;
        let (value, cas) = found.ok_or(Stop::Status(Status::NotFound))?;
        copy_out(&mut caller, &value, value_ptr_out, value_size_out)?;
        write_u32(&mut caller, cas_out, cas)
    })())
}

pub(crate) fn proxy_set_shared_data(
    mut caller: Caller<'_, HostState>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
    cas: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let key = read_limited(&mut caller, key_ptr, key_len, MAX_SHARED_KEY)?;
        let value = read(&mut caller, value_ptr, value_len)?;
        shared::set_data(&key, &value, cas as u32)
            .map_err(|e| refusal(&mut caller, "proxy_set_shared_data", e))
    })())
}

pub(crate) fn proxy_register_shared_queue(
    mut caller: Caller<'_, HostState>,
    name_ptr: i32,
    name_len: i32,
    token_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let name = read_limited(&mut caller, name_ptr, name_len, MAX_SHARED_KEY)?;
        let state = caller.data();
        let root = state
            .root_of(state.effective_context)
            .ok_or(Stop::Status(Status::BadArgument))?;
        let id = shared::register_queue(&name)
            .map_err(|e| refusal(&mut caller, "proxy_register_shared_queue", e))?;
        // Items already waiting are delivered too.
        let (waiting, enqueued) = shared::queue_state(id)
            .map_err(|e| refusal(&mut caller, "proxy_register_shared_queue", e))?;
        let watches = &mut caller.data_mut().queue_watches;
        if !watches.iter().any(|w| w.queue == id && w.root == root) {
            watches.push(QueueWatch {
                queue: id,
                root,
                seen: enqueued.wrapping_sub(waiting),
            });
        }
        crate::schedule::wake(std::time::Duration::ZERO);
        write_u32(&mut caller, token_out, id)
    })())
}

/// The VM id is not part of a queue's name in this host: every plugin of every worker shares one namespace.
pub(crate) fn proxy_resolve_shared_queue(
    mut caller: Caller<'_, HostState>,
    vm_id_ptr: i32,
    vm_id_len: i32,
    name_ptr: i32,
    name_len: i32,
    token_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        read_limited(&mut caller, vm_id_ptr, vm_id_len, MAX_SHARED_KEY)?;
        let name = read_limited(&mut caller, name_ptr, name_len, MAX_SHARED_KEY)?;
        let id = shared::resolve_queue(&name)
            .map_err(|e| refusal(&mut caller, "proxy_resolve_shared_queue", e))?
            .ok_or(Stop::Status(Status::NotFound))?;
        write_u32(&mut caller, token_out, id)
    })())
}

pub(crate) fn proxy_enqueue_shared_queue(
    mut caller: Caller<'_, HostState>,
    token: i32,
    data_ptr: i32,
    data_len: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let data = read(&mut caller, data_ptr, data_len)?;
        shared::enqueue(token as u32, &data)
            .map_err(|e| refusal(&mut caller, "proxy_enqueue_shared_queue", e))?;
        crate::schedule::wake(std::time::Duration::ZERO);
        Ok(())
    })())
}

pub(crate) fn proxy_dequeue_shared_queue(
    mut caller: Caller<'_, HostState>,
    token: i32,
    data_ptr_out: i32,
    data_size_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let item = shared::dequeue(token as u32)
            .map_err(|e| refusal(&mut caller, "proxy_dequeue_shared_queue", e))?
            .ok_or(Stop::Status(Status::Empty))?;
        copy_out(&mut caller, &item, data_ptr_out, data_size_out)
    })())
}
