//! Metrics: `proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`, `proxy_get_metric`, kept
//! in the shared region so the values are totals over every worker (`crate::shared`).

use wasmtime::Caller;

use super::memory::{read_limited, status, write_u32, write_u64, HostResult, Stop};
use super::shared::refusal;
use crate::limits::MAX_METRIC_NAME;
use crate::shared::{self, MetricType};
use crate::types::Status;
use crate::vm::HostState;

pub(crate) fn proxy_define_metric(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    name_ptr: i32,
    name_len: i32,
    id_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let kind = MetricType::from_i32(kind).ok_or(Stop::Status(Status::BadArgument))?;
        let name = read_limited(&mut caller, name_ptr, name_len, MAX_METRIC_NAME)?;
        let id = shared::define_metric(kind, &name)
            .map_err(|e| refusal(&mut caller, "proxy_define_metric", e))?;
        write_u32(&mut caller, id_out, id)
    })())
}

pub(crate) fn proxy_increment_metric(
    mut caller: Caller<'_, HostState>,
    id: i32,
    offset: i64,
) -> wasmtime::Result<i32> {
    status(
        shared::increment_metric(id as u32, offset)
            .map_err(|e| refusal(&mut caller, "proxy_increment_metric", e)),
    )
}

pub(crate) fn proxy_record_metric(
    mut caller: Caller<'_, HostState>,
    id: i32,
    value: i64,
) -> wasmtime::Result<i32> {
    status(
        shared::record_metric(id as u32, value as u64)
            .map_err(|e| refusal(&mut caller, "proxy_record_metric", e)),
    )
}

pub(crate) fn proxy_get_metric(
    mut caller: Caller<'_, HostState>,
    id: i32,
    value_out: i32,
) -> wasmtime::Result<i32> {
    status((|| -> HostResult {
        let v = shared::get_metric(id as u32)
            .map_err(|e| refusal(&mut caller, "proxy_get_metric", e))?;
        write_u64(&mut caller, value_out, v as u64)
    })())
}
