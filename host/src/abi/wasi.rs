//! The WASI preview1 subset plugins import (`wasi_snapshot_preview1`, and `wasi_unstable` for old
//! AssemblyScript builds). A plugin gets no host environment, no arguments, no files and no sockets: stdout and
//! stderr go to the nginx log, clocks and randomness are real, everything else answers an errno.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::Caller;

use super::memory::{read, write, write_u32, write_u64, HostResult, Stop};
use crate::limits::MAX_LOG_MESSAGE;
use crate::types::LogLevel;
use crate::vm::HostState;

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const EIO: i32 = 29;
const ENOSYS: i32 = 52;

fn errno(r: HostResult) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(ESUCCESS),
        Err(Stop::Status(_)) => Ok(EFAULT),
        Err(Stop::Trap(e)) => Err(e),
    }
}

pub(crate) fn fd_write(
    mut caller: Caller<'_, HostState>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten_out: i32,
) -> wasmtime::Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(EBADF);
    }
    errno((|| {
        let table = read(
            &mut caller,
            iovs,
            (iovs_len as u32).saturating_mul(8) as i32,
        )?;
        let mut text = Vec::new();
        let mut total: u32 = 0;
        for iov in table.chunks_exact(8) {
            let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
            let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
            let bytes = read(&mut caller, ptr, len)?;
            total = total.saturating_add(bytes.len() as u32);
            let room = MAX_LOG_MESSAGE.saturating_sub(text.len());
            text.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        while text.last() == Some(&b'\n') {
            text.pop();
        }
        if !text.is_empty() {
            let level = if fd == 1 {
                LogLevel::Info
            } else {
                LogLevel::Error
            };
            super::plugin_log(&mut caller, level, &text);
        }
        write_u32(&mut caller, nwritten_out, total)
    })())
}

pub(crate) fn fd_fdstat_get(
    mut caller: Caller<'_, HostState>,
    fd: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    if !(0..=2).contains(&fd) {
        return Ok(EBADF);
    }
    // fdstat: u8 filetype (2 = character device), u16 flags, u64 rights base, u64 rights inheriting.
    let mut stat = [0u8; 24];
    stat[0] = 2;
    stat[8..16].copy_from_slice(&(1u64 << 6).to_le_bytes()); // fd_write
    errno(write(&mut caller, out, &stat))
}

pub(crate) fn fd_fdstat_set_flags(
    _c: Caller<'_, HostState>,
    fd: i32,
    _flags: i32,
) -> wasmtime::Result<i32> {
    Ok(if (0..=2).contains(&fd) {
        ESUCCESS
    } else {
        EBADF
    })
}

pub(crate) fn ebadf_1(_c: Caller<'_, HostState>, _a: i32) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

pub(crate) fn ebadf_2(_c: Caller<'_, HostState>, _a: i32, _b: i32) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

pub(crate) fn ebadf_3(
    _c: Caller<'_, HostState>,
    _a: i32,
    _b: i32,
    _d: i32,
) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

pub(crate) fn ebadf_4(
    _c: Caller<'_, HostState>,
    _a: i32,
    _b: i32,
    _d: i32,
    _e: i32,
) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

pub(crate) fn ebadf_5(
    _c: Caller<'_, HostState>,
    _a: i32,
    _b: i32,
    _d: i32,
    _e: i32,
    _f: i32,
) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

pub(crate) fn fd_seek(
    _c: Caller<'_, HostState>,
    _fd: i32,
    _off: i64,
    _whence: i32,
    _out: i32,
) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn path_open(
    _c: Caller<'_, HostState>,
    _fd: i32,
    _dirflags: i32,
    _path: i32,
    _path_len: i32,
    _oflags: i32,
    _rights: i64,
    _inheriting: i64,
    _fdflags: i32,
    _fd_out: i32,
) -> wasmtime::Result<i32> {
    Ok(EBADF)
}

/// `environ_sizes_get` and `args_sizes_get`: zero entries, zero bytes.
pub(crate) fn sizes_empty(
    mut caller: Caller<'_, HostState>,
    count_out: i32,
    size_out: i32,
) -> wasmtime::Result<i32> {
    errno(write_u32(&mut caller, count_out, 0).and_then(|_| write_u32(&mut caller, size_out, 0)))
}

/// `environ_get` and `args_get`: nothing to copy.
pub(crate) fn get_empty(_c: Caller<'_, HostState>, _ptrs: i32, _buf: i32) -> wasmtime::Result<i32> {
    Ok(ESUCCESS)
}

fn monotonic_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

pub(crate) fn clock_time_get(
    mut caller: Caller<'_, HostState>,
    id: i32,
    _precision: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    let nanos = match id {
        0 => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
        1..=3 => monotonic_origin().elapsed().as_nanos() as u64,
        _ => return Ok(EINVAL),
    };
    errno(write_u64(&mut caller, out, nanos))
}

pub(crate) fn clock_res_get(
    mut caller: Caller<'_, HostState>,
    id: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    if !(0..=3).contains(&id) {
        return Ok(EINVAL);
    }
    errno(write_u64(&mut caller, out, 1_000))
}

pub(crate) fn random_get(
    mut caller: Caller<'_, HostState>,
    buf: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    let mut bytes = vec![0u8; (len as u32 as usize).min(1 << 20)];
    if getrandom::fill(&mut bytes).is_err() {
        return Ok(EIO);
    }
    if bytes.len() < len as u32 as usize {
        return Ok(EINVAL);
    }
    errno(write(&mut caller, buf, &bytes))
}

pub(crate) fn proc_exit(_c: Caller<'_, HostState>, code: i32) -> wasmtime::Result<()> {
    Err(wasmtime::Error::msg(format!(
        "plugin called proc_exit({code})"
    )))
}

pub(crate) fn sched_yield(_c: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    Ok(ESUCCESS)
}

pub(crate) fn poll_oneoff(
    _c: Caller<'_, HostState>,
    _in: i32,
    _out: i32,
    _n: i32,
    _nev: i32,
) -> wasmtime::Result<i32> {
    Ok(ENOSYS)
}
