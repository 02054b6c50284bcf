//! The request line and headers of the subrequest that performs an HTTP call (`http_call.rs`): the call's
//! method, and a header list of its own holding the call's headers (the subrequest would otherwise share the
//! client request's). The unsafe here is the subrequest's `headers_in` and its pool.

use ngx::ffi::{ngx_list_init, ngx_table_elt_t};
use proxy_wasm_host::map::Pair;
use proxy_wasm_host::Status;

use super::lists::for_each_header;
use super::request_headers::method_bit;
use super::RequestBackend;

/// Headers nginx's proxy module writes itself for a call (from the call's `:authority` and body); the call's
/// own values of them are not sent.
const OWN_HEADERS: [&[u8]; 5] = [
    b"host",
    b"content-length",
    b"transfer-encoding",
    b"connection",
    b"keep-alive",
];

impl RequestBackend {
    /// Make this subrequest's method `method` and its request headers `headers` (names as the plugin gave
    /// them, lowercased on the list's keys).
    pub(crate) fn set_call_request(
        &mut self,
        method: &[u8],
        headers: &[Pair],
    ) -> Result<(), Status> {
        let name = self.pool_copy(method)?;
        // SAFETY: `r` is a fresh subrequest of a live request, not yet run; its pool is the request's.
        unsafe {
            let r = self.r;
            (*r).method_name = name;
            (*r).method = method_bit(method);
            (*r).headers_in = std::mem::zeroed();
            (*r).headers_in.content_length_n = -1;
            (*r).headers_in.keep_alive_n = -1;
            let n = headers.len().max(1);
            if ngx_list_init(
                &mut (*r).headers_in.headers,
                self.pool(),
                n,
                std::mem::size_of::<ngx_table_elt_t>(),
            ) != ngx::ffi::NGX_OK as isize
            {
                return Err(Status::InternalFailure);
            }
            for (k, v) in headers {
                let key = k.to_ascii_lowercase();
                if OWN_HEADERS.contains(&&key[..]) {
                    continue;
                }
                let h = self.push_header(&mut (*r).headers_in.headers, &key, v)?;
                // The name goes out as the plugin spelled it.
                (*h).key = self.pool_copy(k)?;
                if key == b"te" {
                    // The gRPC module passes `te: trailers` on only when the request has it.
                    (*r).headers_in.te = h;
                }
            }
        }
        Ok(())
    }
}

/// The live elements of a header list as `(lowercased name, value)` pairs, in order.
///
/// # Safety
/// `list` must be an initialised list of `ngx_table_elt_t`.
pub(crate) unsafe fn header_pairs(list: *mut ngx::ffi::ngx_list_t) -> Vec<Pair> {
    let mut pairs = Vec::new();
    // SAFETY: guaranteed by the caller.
    unsafe {
        for_each_header(list, |h| {
            pairs.push((
                super::bytes(&h.key).to_ascii_lowercase(),
                super::bytes(&h.value).to_vec(),
            ))
        });
    }
    pairs
}
