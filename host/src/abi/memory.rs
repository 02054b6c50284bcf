//! Guest memory access: the one home of pointer/length handling for host functions.
//!
//! Every read and write is bounds-checked (with overflow checks on `ptr + len`); nothing keeps a slice of guest
//! memory across a call into the guest, because the guest allocator may grow (and move) memory.

use wasmtime::{Caller, Memory};

use crate::types::Status;
use crate::vm::HostState;

/// Why a host function stops: a status to return to the guest, or a trap to raise.
pub(crate) enum Stop {
    Status(Status),
    Trap(wasmtime::Error),
}

impl From<Status> for Stop {
    fn from(s: Status) -> Stop {
        Stop::Status(s)
    }
}

pub(crate) type HostResult = Result<(), Stop>;

/// Map a host function's result to what wasmtime expects: a status code, or a trap.
pub(crate) fn status(r: HostResult) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(Status::Ok as i32),
        Err(Stop::Status(s)) => Ok(s as i32),
        Err(Stop::Trap(e)) => Err(e),
    }
}

fn memory(caller: &Caller<'_, HostState>) -> Result<Memory, Stop> {
    caller
        .data()
        .memory
        .ok_or(Stop::Status(Status::InvalidMemoryAccess))
}

fn range(ptr: i32, len: i32, size: usize) -> Result<std::ops::Range<usize>, Stop> {
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(len as u32 as usize)
        .ok_or(Stop::Status(Status::InvalidMemoryAccess))?;
    if end > size {
        return Err(Stop::Status(Status::InvalidMemoryAccess));
    }
    Ok(start..end)
}

/// Copy `len` bytes at `ptr` out of guest memory.
pub(crate) fn read(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> Result<Vec<u8>, Stop> {
    with_bytes(caller, ptr, len, usize::MAX, <[u8]>::to_vec)
}

/// Run `f` over `len` bytes at `ptr` of guest memory, in place (nothing is copied; `f` cannot call the guest),
/// refusing more than `limit` bytes with `BadArgument`.
pub(crate) fn with_bytes<T>(
    caller: &Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    limit: usize,
    f: impl FnOnce(&[u8]) -> T,
) -> Result<T, Stop> {
    if len as u32 as usize > limit {
        return Err(Stop::Status(Status::BadArgument));
    }
    let mem = memory(caller)?;
    let data = mem.data(caller);
    let r = range(ptr, len, data.len())?;
    Ok(f(&data[r]))
}

/// Copy at most `limit` bytes, refusing longer input with `BadArgument`.
pub(crate) fn read_limited(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    limit: usize,
) -> Result<Vec<u8>, Stop> {
    with_bytes(caller, ptr, len, limit, <[u8]>::to_vec)
}

/// Write `bytes` at `ptr`.
pub(crate) fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> HostResult {
    let mem = memory(caller)?;
    let data = mem.data_mut(&mut *caller);
    let r = range(ptr, bytes.len() as i32, data.len())?;
    data[r].copy_from_slice(bytes);
    Ok(())
}

pub(crate) fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, v: u32) -> HostResult {
    write(caller, ptr, &v.to_le_bytes())
}

pub(crate) fn write_u64(caller: &mut Caller<'_, HostState>, ptr: i32, v: u64) -> HostResult {
    write(caller, ptr, &v.to_le_bytes())
}

/// Hand `bytes` to the guest: allocate with the guest's allocator, copy, and store the address and size at
/// `ptr_out` and `size_out`. Empty data is handed over as a null pointer and size 0 (no allocation).
pub(crate) fn copy_out(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    ptr_out: i32,
    size_out: i32,
) -> HostResult {
    if bytes.len() > i32::MAX as usize {
        return Err(Stop::Status(Status::BadArgument));
    }
    let addr = if bytes.is_empty() {
        0
    } else {
        let alloc = caller
            .data()
            .allocate
            .clone()
            .ok_or(Stop::Status(Status::InternalFailure))?;
        let addr = alloc
            .call(&mut *caller, bytes.len() as i32)
            .map_err(Stop::Trap)?;
        if addr == 0 {
            return Err(Stop::Status(Status::InternalFailure));
        }
        write(caller, addr, bytes)?;
        addr
    };
    write_u32(caller, ptr_out, addr as u32)?;
    write_u32(caller, size_out, bytes.len() as u32)
}
