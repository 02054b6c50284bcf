//! nginx buffer chains: copying bytes in (`chain_of`), reading them out of memory and file buffers
//! (`collect`), marking a chain consumed, and replacing the request body a plugin changed. Part of the module's one home for nginx struct walking.

use std::borrow::Cow;
use std::ptr;

use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_create_temp_buf, ngx_http_request_t,
};

/// A one-buffer chain holding a copy of `bytes` in the request pool (`last`: it ends the body).
///
/// # Safety
/// `r` must be a live request.
pub(crate) unsafe fn chain_of(
    r: *mut ngx_http_request_t,
    bytes: &[u8],
    last: bool,
) -> *mut ngx_chain_t {
    // SAFETY: the pool is live; the buffer is sized for `bytes`.
    unsafe {
        let b = ngx_create_temp_buf((*r).pool, bytes.len().max(1));
        let cl = ngx_alloc_chain_link((*r).pool);
        if b.is_null() || cl.is_null() {
            return ptr::null_mut();
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), (*b).last, bytes.len());
        (*b).last = (*b).last.add(bytes.len());
        if last {
            if r == (*r).main {
                (*b).set_last_buf(1);
            }
            (*b).set_last_in_chain(1);
        }
        if bytes.is_empty() {
            (*b).set_temporary(0);
            (*b).set_sync(1);
        }
        (*cl).buf = b;
        (*cl).next = ptr::null_mut();
        cl
    }
}

/// The buffers of a chain, in order.
///
/// # Safety
/// `cl` must be a valid chain, live while the iterator is used.
unsafe fn buffers(mut cl: *mut ngx_chain_t) -> impl Iterator<Item = *mut ngx_buf_t> {
    std::iter::from_fn(move || {
        if cl.is_null() {
            return None;
        }
        // SAFETY: guaranteed by the caller.
        unsafe {
            let b = (*cl).buf;
            cl = (*cl).next;
            Some(b)
        }
    })
}

/// Whether buffer `b` ends the body (or this subrequest's part of it).
///
/// # Safety
/// `b` must be a valid buffer.
unsafe fn ends_body(b: *mut ngx_buf_t) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { (*b).last_buf() != 0 || (*b).last_in_chain() != 0 }
}

/// The bytes of buffer `b` when it holds them in memory (pos..last); `None` for a file or special buffer.
///
/// # Safety
/// `b` must be a valid buffer; the bytes live as long as it (the caller's `'a`).
unsafe fn in_memory<'a>(b: *mut ngx_buf_t) -> Option<&'a [u8]> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        if (*b).temporary() == 0 && (*b).memory() == 0 && (*b).mmap() == 0 {
            return None;
        }
        let len = (*b).last.offset_from((*b).pos) as usize;
        Some(if len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts((*b).pos, len)
        })
    }
}

/// The bytes of a chain as `collect` gives them, borrowed from the buffer when they are all in one buffer in
/// memory (the usual shape of a body filter's input: no copy, no allocation).
///
/// # Safety
/// `input` must be a valid chain; the borrowed bytes live as long as its buffers (the caller's `'a`).
pub(crate) unsafe fn chain_bytes<'a>(input: *mut ngx_chain_t) -> (Cow<'a, [u8]>, bool, bool) {
    let mut one: &'a [u8] = &[];
    let mut eos = false;
    // SAFETY: guaranteed by the caller.
    unsafe {
        for b in buffers(input) {
            eos |= ends_body(b);
            match in_memory(b) {
                // A second buffer with bytes, or a file buffer: copy them all.
                Some(bytes) if !bytes.is_empty() && !one.is_empty() => return owned(input),
                Some(bytes) if !bytes.is_empty() => one = bytes,
                None if (*b).in_file() != 0 => return owned(input),
                _ => {}
            }
        }
    }
    (Cow::Borrowed(one), eos, true)
}

/// `collect`'s answer in `chain_bytes`'s form.
///
/// # Safety
/// As `collect`.
unsafe fn owned<'a>(input: *mut ngx_chain_t) -> (Cow<'a, [u8]>, bool, bool) {
    // SAFETY: guaranteed by the caller.
    let (bytes, eos, readable) = unsafe { collect(input) };
    (Cow::Owned(bytes), eos, readable)
}

/// The bytes of a chain (file-backed buffers are read, as nginx's copy filter would: the module's body filter
/// runs before it), whether it ends the body, and whether every buffer could be read.
///
/// # Safety
/// `input` must be a valid chain.
pub(crate) unsafe fn collect(input: *mut ngx_chain_t) -> (Vec<u8>, bool, bool) {
    let mut bytes = Vec::new();
    let mut eos = false;
    let mut readable = true;
    // SAFETY: guaranteed by the caller; file buffers hold file_pos..file_last.
    unsafe {
        for b in buffers(input) {
            eos |= ends_body(b);
            if let Some(m) = in_memory(b) {
                bytes.extend_from_slice(m);
            } else if (*b).in_file() != 0 && !(*b).file.is_null() {
                let len = ((*b).file_last - (*b).file_pos).max(0) as usize;
                let at = bytes.len();
                bytes.resize(at + len, 0);
                let n = ngx::ffi::ngx_read_file(
                    (*b).file,
                    bytes.as_mut_ptr().add(at),
                    len,
                    (*b).file_pos,
                );
                if n != len as isize {
                    readable = false;
                }
            }
        }
    }
    (bytes, eos, readable)
}

/// Mark every buffer of a chain consumed (its bytes were taken or are dropped).
///
/// # Safety
/// `input` must be a valid chain.
pub(crate) unsafe fn consume(input: *mut ngx_chain_t) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        for b in buffers(input) {
            (*b).pos = (*b).last;
            (*b).file_pos = (*b).file_last;
        }
    }
}

/// Make `body` the request body the content phase passes on (a plugin changed it), with its length in
/// `headers_in` (nginx's own `Content-Length` header keeps naming the new length). Returns whether it could.
///
/// # Safety
/// `r` must be a live request whose body was read.
pub(crate) unsafe fn replace_request_body(r: *mut ngx_http_request_t, body: &[u8]) -> bool {
    // SAFETY: guaranteed by the caller; new memory comes from the request pool.
    unsafe {
        let out = chain_of(r, body, true);
        if out.is_null() || (*r).request_body.is_null() {
            return false;
        }
        (*(*out).buf).set_last_buf(1);
        (*(*r).request_body).bufs = out;
        (*r).headers_in.content_length_n = body.len() as _;
        let cl = (*r).headers_in.content_length;
        if !cl.is_null() {
            let len = body.len().to_string();
            let p = ngx::ffi::ngx_pnalloc((*r).pool, len.len()) as *mut u8;
            if !p.is_null() {
                ptr::copy_nonoverlapping(len.as_ptr(), p, len.len());
                (*cl).value.data = p;
                (*cl).value.len = len.len();
            }
        }
        true
    }
}
