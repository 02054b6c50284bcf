//! The guest's exports an instance calls: every Proxy-Wasm callback resolved once, when the instance is made,
//! to a typed function (never looked up by name per call), with the signature its ABI version gives it.

use std::rc::Rc;

use wasmtime::{Instance, Store, TypedFunc, WasmParams, WasmResults};

use super::HostState;
use crate::error::Error;
use crate::types::AbiVersion;

/// A guest function, resolved once; shared by reference (cloning a `TypedFunc` clones its type).
pub(crate) type Guest<P, R> = Rc<TypedFunc<P, R>>;

/// The signature of header callbacks differs between ABI 0.1.0 and 0.2.x.
pub(crate) enum HeadersFn {
    V1(Guest<(i32, i32), i32>),
    V2(Guest<(i32, i32, i32), i32>),
}

/// `proxy_on_http_call_response(context_id, token, num_headers, body_size, num_trailers)`.
pub(crate) type CallResponseFn = Guest<(i32, i32, i32, i32, i32), ()>;

/// Guest callbacks resolved once per instance.
pub(crate) struct Callbacks {
    pub on_context_create: Guest<(i32, i32), ()>,
    pub on_vm_start: Option<Guest<(i32, i32), i32>>,
    pub on_configure: Option<Guest<(i32, i32), i32>>,
    pub on_request_headers: Option<HeadersFn>,
    pub on_request_body: Option<Guest<(i32, i32, i32), i32>>,
    pub on_response_headers: Option<HeadersFn>,
    pub on_response_body: Option<Guest<(i32, i32, i32), i32>>,
    pub on_http_call_response: Option<CallResponseFn>,
    /// `proxy_on_grpc_receive(context_id, token, message_size)`.
    pub on_grpc_receive: Option<Guest<(i32, i32, i32), ()>>,
    /// `proxy_on_grpc_close(context_id, token, status_code)`.
    pub on_grpc_close: Option<Guest<(i32, i32, i32), ()>>,
    pub on_done: Option<Guest<i32, i32>>,
    pub on_log: Option<Guest<i32, ()>>,
    pub on_delete: Option<Guest<i32, ()>>,
    pub on_tick: Option<Guest<i32, ()>>,
    pub on_queue_ready: Option<Guest<(i32, i32), ()>>,
}

impl Callbacks {
    /// Resolve every callback of `instance`; only `proxy_on_context_create` is required.
    pub(super) fn resolve(
        instance: &Instance,
        store: &mut Store<HostState>,
        abi: AbiVersion,
    ) -> Result<Callbacks, Error> {
        let on_context_create = typed(instance, store, "proxy_on_context_create")?
            .ok_or_else(|| Error::Load("the module exports no proxy_on_context_create".into()))?;
        Ok(Callbacks {
            on_context_create,
            on_vm_start: typed(instance, store, "proxy_on_vm_start")?,
            on_configure: typed(instance, store, "proxy_on_configure")?,
            on_request_headers: headers_fn(instance, store, abi, "proxy_on_request_headers")?,
            on_request_body: typed(instance, store, "proxy_on_request_body")?,
            on_response_headers: headers_fn(instance, store, abi, "proxy_on_response_headers")?,
            on_response_body: typed(instance, store, "proxy_on_response_body")?,
            on_http_call_response: typed(instance, store, "proxy_on_http_call_response")?,
            on_grpc_receive: typed(instance, store, "proxy_on_grpc_receive")?,
            on_grpc_close: typed(instance, store, "proxy_on_grpc_close")?,
            on_done: typed(instance, store, "proxy_on_done")?,
            on_log: typed(instance, store, "proxy_on_log")?,
            on_delete: typed(instance, store, "proxy_on_delete")?,
            on_tick: typed(instance, store, "proxy_on_tick")?,
            on_queue_ready: typed(instance, store, "proxy_on_queue_ready")?,
        })
    }
}

/// The export `name` as a typed function; `None` when absent, an error when its signature is not `P -> R`.
pub(super) fn typed<P: WasmParams, R: WasmResults>(
    instance: &Instance,
    store: &mut Store<HostState>,
    name: &str,
) -> Result<Option<Guest<P, R>>, Error> {
    match instance.get_func(&mut *store, name) {
        None => Ok(None),
        Some(f) => f
            .typed::<P, R>(&*store)
            .map(|f| Some(Rc::new(f)))
            .map_err(|e| Error::Load(format!("export \"{name}\" has the wrong signature: {e}"))),
    }
}

fn headers_fn(
    instance: &Instance,
    store: &mut Store<HostState>,
    abi: AbiVersion,
    name: &str,
) -> Result<Option<HeadersFn>, Error> {
    Ok(if abi == AbiVersion::V0_1_0 {
        typed(instance, store, name)?.map(HeadersFn::V1)
    } else {
        typed(instance, store, name)?.map(HeadersFn::V2)
    })
}
