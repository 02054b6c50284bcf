//! The WASI preview1 subset plugins import (`wasi_snapshot_preview1`, and `wasi_unstable` for old
//! AssemblyScript builds). A plugin gets no host environment, no arguments, no files and no sockets: stdout and
//! stderr go to the nginx log, clocks and randomness are real, everything else answers an errno.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Trap};

use super::memory::{read, write, write_u32, write_u64, HostResult, Stop};
use crate::limits::{MAX_LOG_MESSAGE, MAX_RANDOM_GET};
use crate::vm::HostState;

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const EIO: i32 = 29;

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
        let mut total: u32 = 0;
        let stream = (fd - 1) as usize;
        for iov in table.chunks_exact(8) {
            let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
            let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
            let bytes = read(&mut caller, ptr, len)?;
            total = total.saturating_add(bytes.len() as u32);
            // Runtimes write a line in pieces (Go's print writes each value on its own): one log line per
            // line, a long one cut at MAX_LOG_MESSAGE.
            let state = caller.data_mut();
            for &byte in &bytes {
                if byte != b'\n' {
                    state.output[stream].push(byte);
                }
                if byte == b'\n' || state.output[stream].len() >= MAX_LOG_MESSAGE {
                    state.flush_output(stream);
                }
            }
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

/// The time of clock `id` in nanoseconds: realtime (0) since the Unix epoch; monotonic, process and thread CPU
/// time (1 to 3, all served by one monotonic clock) since the process first asked. `None` for other ids.
fn clock_now(id: u32) -> Option<u64> {
    match id {
        0 => Some(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        ),
        1..=3 => Some(monotonic_origin().elapsed().as_nanos() as u64),
        _ => None,
    }
}

pub(crate) fn clock_time_get(
    mut caller: Caller<'_, HostState>,
    id: i32,
    _precision: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    let Some(nanos) = clock_now(id as u32) else {
        return Ok(EINVAL);
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

/// `random_get(buf, len)`: `len` bytes from the OS; more than `limits::MAX_RANDOM_GET` is refused with `EINVAL`
/// before anything is drawn.
pub(crate) fn random_get(
    mut caller: Caller<'_, HostState>,
    buf: i32,
    len: i32,
) -> wasmtime::Result<i32> {
    let len = len as u32 as usize;
    if len > MAX_RANDOM_GET {
        return Ok(EINVAL);
    }
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        return Ok(EIO);
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

/// What one subscription of `poll_oneoff` waits for.
enum Wait {
    /// Ready now: an event with this errno (fd subscriptions, unknown clocks, timeouts already passed).
    Now(u16),
    /// A clock timeout this far from the start of the call.
    After(Duration),
}

/// `poll_oneoff(subscriptions, events, nsubscriptions, nevents_out)`, for clock subscriptions.
///
/// Subscriptions are 48 bytes (userdata u64, tag u8 at 8; for a clock: id u32 at 16, timeout u64 at 24,
/// precision u64 at 32, flags u16 at 40, bit 0 = absolute), events 32 bytes (userdata u64, errno u16 at 8, type
/// u8 at 10, fd_readwrite nbytes u64 at 16 and flags u16 at 24, zero here). There are no files: an fd
/// subscription (tags 1, 2) is ready at once with `EBADF`. When something is ready at once nothing sleeps;
/// otherwise the thread sleeps until the nearest timeout (absolute ones measured on `clock_time_get`'s clocks)
/// and reports every timeout reached by then. The sleep never passes the call's deadline: a timeout beyond it
/// sleeps until the deadline and then stops the guest exactly as the epoch interrupt does (the call fails with
/// "interrupted: ran past its time limit of N ms"), so sleeping costs a plugin the same as spinning.
pub(crate) fn poll_oneoff(
    mut caller: Caller<'_, HostState>,
    subscriptions: i32,
    events: i32,
    nsubscriptions: i32,
    nevents_out: i32,
) -> wasmtime::Result<i32> {
    const SUBSCRIPTION: usize = 48;
    const EVENT: usize = 32;
    let count = nsubscriptions as u32 as usize;
    if count == 0 {
        return Ok(EINVAL);
    }
    let Some(bytes) = count
        .checked_mul(SUBSCRIPTION)
        .and_then(|n| i32::try_from(n).ok())
    else {
        return Ok(EFAULT);
    };
    let table = match read(&mut caller, subscriptions, bytes) {
        Ok(t) => t,
        Err(Stop::Status(_)) => return Ok(EFAULT),
        Err(Stop::Trap(e)) => return Err(e),
    };
    let start = Instant::now();
    let mut waits = Vec::with_capacity(count);
    for sub in table.chunks_exact(SUBSCRIPTION) {
        let u64_at = |at: usize| u64::from_le_bytes(sub[at..at + 8].try_into().unwrap_or([0; 8]));
        let userdata = u64_at(0);
        let tag = sub[8];
        let wait = match tag {
            0 => {
                let id = u32::from_le_bytes([sub[16], sub[17], sub[18], sub[19]]);
                let timeout = u64_at(24);
                let absolute = u16::from_le_bytes([sub[40], sub[41]]) & 1 != 0;
                match clock_now(id) {
                    None => Wait::Now(EINVAL as u16),
                    Some(now) => {
                        let nanos = if absolute {
                            timeout.saturating_sub(now)
                        } else {
                            timeout
                        };
                        if nanos == 0 {
                            Wait::Now(ESUCCESS as u16)
                        } else {
                            Wait::After(Duration::from_nanos(nanos))
                        }
                    }
                }
            }
            1 | 2 => Wait::Now(EBADF as u16),
            _ => return Ok(EINVAL),
        };
        waits.push((userdata, tag, wait));
    }

    let ready_now = waits.iter().any(|(_, _, w)| matches!(w, Wait::Now(_)));
    let mut elapsed = Duration::ZERO;
    if !ready_now {
        let nearest = waits
            .iter()
            .filter_map(|(_, _, w)| match w {
                Wait::After(d) => Some(*d),
                Wait::Now(_) => None,
            })
            .min()
            .unwrap_or(Duration::ZERO);
        let state = caller.data();
        let deadline = crate::ticker::deadline_at(state.deadline_epoch, state.time_limit_ms, start);
        match start.checked_add(nearest) {
            Some(wake) if wake <= deadline => std::thread::sleep(nearest),
            _ => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                return Err(wasmtime::Error::new(Trap::Interrupt));
            }
        }
        elapsed = start.elapsed();
    }

    let mut out = Vec::new();
    for (userdata, tag, wait) in &waits {
        let error = match wait {
            Wait::Now(e) => *e,
            Wait::After(d) if *d <= elapsed => ESUCCESS as u16,
            Wait::After(_) => continue,
        };
        let mut event = [0u8; EVENT];
        event[..8].copy_from_slice(&userdata.to_le_bytes());
        event[8..10].copy_from_slice(&error.to_le_bytes());
        event[10] = *tag;
        out.extend_from_slice(&event);
    }
    let n = (out.len() / EVENT) as u32;
    errno(write(&mut caller, events, &out).and_then(|_| write_u32(&mut caller, nevents_out, n)))
}
