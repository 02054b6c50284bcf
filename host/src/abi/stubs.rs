//! Imports a plugin has that this host does not define. Following the Proxy-Wasm spec's proposal for host
//! features, an unknown `env.proxy_*` function is linked as a stub that answers `Unimplemented` (plugins of SDK
//! forks that import a few extra host calls, such as Higress's `proxy_redis_call`, still load and get an error
//! status where they call one). Any other unknown import (another module, or not `proxy_*`) still fails the load
//! with wasmtime's message.

use wasmtime::{ExternType, InstancePre, Linker, Module, Val, ValType};

use crate::engine::linker;
use crate::limits::MAX_STUBBED_IMPORTS;
use crate::types::Status;
use crate::vm::HostState;

/// Link `module` against the host functions, stubbing its unknown `env.proxy_*` functions; returns the linked
/// module and the names stubbed (for the one warning the plugin's load logs).
pub(crate) fn link(module: &Module) -> wasmtime::Result<(InstancePre<HostState>, Vec<String>)> {
    let mut stubbed: Vec<String> = Vec::new();
    let mut own: Option<Linker<HostState>> = None;
    loop {
        let result = own
            .as_ref()
            .unwrap_or_else(|| linker())
            .instantiate_pre(module);
        let e = match result {
            Ok(pre) => return Ok((pre, stubbed)),
            Err(e) => e,
        };
        let Some((module_name, name, ty)) = e
            .downcast_ref::<wasmtime::UnknownImportError>()
            .map(|u| (u.module().to_string(), u.name().to_string(), u.ty()))
        else {
            return Err(e);
        };
        let ExternType::Func(ty) = ty else {
            return Err(e);
        };
        if module_name != "env"
            || !name.starts_with("proxy_")
            || stubbed.len() >= MAX_STUBBED_IMPORTS
        {
            return Err(e);
        }
        let answers: Vec<Val> = ty
            .results()
            .map(|t| match t {
                ValType::I32 => Ok(Val::I32(Status::Unimplemented as i32)),
                ValType::I64 => Ok(Val::I64(Status::Unimplemented as i64)),
                ValType::F32 => Ok(Val::F32(0)),
                ValType::F64 => Ok(Val::F64(0)),
                _ => Err(()),
            })
            .collect::<Result<_, ()>>()
            .map_err(|()| e)?;
        let l = own.get_or_insert_with(|| linker().clone());
        l.func_new("env", &name, ty, move |_caller, _params, results| {
            results.clone_from_slice(&answers);
            Ok(())
        })?;
        stubbed.push(name);
    }
}
