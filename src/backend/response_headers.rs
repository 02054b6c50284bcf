//! Response headers and trailers as plugins change them: the fields nginx keeps beside its list
//! (`headers_out.server`, ..., the status, `Content-Type`, `Content-Length`), trailers (which need a chunked or
//! HTTP/2 response), and replacing a whole response with a plugin's local response. The unsafe here is writing
//! the request's `headers_out`.

use ngx::ffi::{ngx_http_request_t, ngx_list_t, ngx_table_elt_t};
use proxy_wasm_host::map::Pair;
use proxy_wasm_host::{HttpBackend, LogLevel, MapType, Status};

use super::lists::for_each_header;
use super::{bytes, RequestBackend};
use proxy_wasm_host::http_syntax::{parse_number, valid_header_value};

/// Whether the request came over HTTP/2 (where trailers need no chunked encoding).
pub(super) fn is_http2(r: &ngx_http_request_t) -> bool {
    #[cfg(ngx_feature = "http_v2")]
    {
        !r.stream.is_null()
    }
    #[cfg(not(ngx_feature = "http_v2"))]
    {
        let _ = r;
        false
    }
}

/// Response headers nginx keeps a pointer to in `headers_out`; the header filter writes some of them itself
/// (`server`, `date`, `location`, `last-modified`) when the pointer is null.
pub(super) fn response_header_slot(
    r: &mut ngx_http_request_t,
    key: &[u8],
) -> Option<*mut *mut ngx_table_elt_t> {
    let h = &mut r.headers_out;
    Some(match key {
        b"server" => &mut h.server,
        b"date" => &mut h.date,
        b"content-encoding" => &mut h.content_encoding,
        b"location" => &mut h.location,
        b"refresh" => &mut h.refresh,
        b"last-modified" => &mut h.last_modified,
        b"content-range" => &mut h.content_range,
        b"accept-ranges" => &mut h.accept_ranges,
        b"www-authenticate" => &mut h.www_authenticate,
        b"expires" => &mut h.expires,
        b"etag" => &mut h.etag,
        _ => return None,
    })
}

impl RequestBackend {
    pub(super) fn add_response_header(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
        let key = self.checked_header("response", key, value)?;
        // SAFETY: `r` is live.
        let list = unsafe { &mut (*self.r).headers_out.headers as *mut ngx_list_t };
        let h = self.push_header(list, &key, value)?;
        if key == b"server" || key == b"date" {
            // SAFETY: `r` is live; `h` is an element of its list.
            unsafe {
                if let Some(slot) = response_header_slot(&mut *self.r, &key) {
                    if (*slot).is_null() || (**slot).hash == 0 {
                        // nginx writes its own Server/Date only when the pointer is null.
                        *slot = h;
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn remove_response_header(&mut self, key: &[u8]) -> Result<(), Status> {
        let key = key.to_ascii_lowercase();
        // SAFETY: `r` is live; the list is its response header list.
        unsafe {
            let r = &mut *self.r;
            let out = &mut r.headers_out;
            match key.as_slice() {
                b"content-type" => {
                    out.content_type.len = 0;
                    out.content_type_len = 0;
                    out.content_type_lowcase = std::ptr::null_mut();
                    out.content_type_hash = 0;
                    out.charset.len = 0;
                }
                b"content-length" => {
                    out.content_length_n = -1;
                    out.content_length = std::ptr::null_mut();
                }
                b"last-modified" => out.last_modified_time = -1,
                _ => {}
            }
            for_each_header(&mut out.headers, |h| {
                if bytes(&h.key).eq_ignore_ascii_case(&key) {
                    h.hash = 0;
                }
            });
            if let Some(slot) = response_header_slot(r, &key) {
                if key == b"server" || key == b"date" {
                    // Point at a dead (hash 0) element so the header filter adds no Server/Date of its own.
                    if (*slot).is_null() {
                        let list = &mut r.headers_out.headers as *mut ngx_list_t;
                        let h = self.push_header(list, &key, b"")?;
                        (*h).hash = 0;
                        *slot = h;
                    }
                } else {
                    *slot = std::ptr::null_mut();
                }
            }
        }
        Ok(())
    }

    /// Add a response trailer. nginx sends trailers with a chunked HTTP/1.1 response (or HTTP/2): asking for
    /// one before the response header is sent makes the response chunked; after a header sent without
    /// chunking, the trailer could never be sent: it is dropped with a log line.
    pub(super) fn add_response_trailer(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
        let key = self.checked_header("response trailer", key, value)?;
        // SAFETY: `r` is live; its trailer list is initialised with its header list.
        unsafe {
            let r = &mut *self.r;
            if r.header_sent() != 0 && r.chunked() == 0 && !is_http2(r) {
                // Ok all the same: SDKs trap on any other status from a map change.
                self.host_log(
                    LogLevel::Warn,
                    &format!(
                        "response trailer \"{}\" dropped: the response header went out without chunked encoding",
                        String::from_utf8_lossy(&key)
                    ),
                );
                return Ok(());
            }
            r.set_expect_trailers(1);
            let list = &mut r.headers_out.trailers as *mut ngx_list_t;
            self.push_header(list, &key, value)?;
        }
        Ok(())
    }

    pub(super) fn remove_response_trailer(&mut self, key: &[u8]) -> Result<(), Status> {
        // SAFETY: `r` is live; its trailer list is initialised with its header list.
        unsafe {
            for_each_header(&mut (*self.r).headers_out.trailers, |h| {
                if bytes(&h.key).eq_ignore_ascii_case(key) {
                    h.hash = 0;
                }
            });
        }
        Ok(())
    }

    pub(super) fn replace_response_header(
        &mut self,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), Status> {
        if key == b":status" {
            let status: usize = parse_number(value)
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    self.refuse(&format!(
                        "bad :status \"{}\"",
                        String::from_utf8_lossy(value)
                    ))
                })?;
            // SAFETY: `r` is live.
            unsafe {
                (*self.r).headers_out.status = status;
                (*self.r).headers_out.status_line.len = 0;
            }
            return Ok(());
        }
        if key.starts_with(b":") {
            return Err(self.refuse(&format!(
                "unknown response pseudo-header \"{}\"",
                String::from_utf8_lossy(key)
            )));
        }
        if key.eq_ignore_ascii_case(b"content-type") {
            if !valid_header_value(value) {
                return Err(self.refuse("bad value for response header \"content-type\""));
            }
            let v = self.pool_copy(value)?;
            // SAFETY: `r` is live; `v` lives in its pool.
            unsafe {
                let out = &mut (*self.r).headers_out;
                out.content_type = v;
                out.content_type_len = v.len;
                out.content_type_lowcase = std::ptr::null_mut();
                out.content_type_hash = 0;
                out.charset.len = 0;
            }
            return Ok(());
        }
        if key.eq_ignore_ascii_case(b"content-length") {
            let n: i64 = parse_number(value).ok_or_else(|| {
                self.refuse(&format!(
                    "bad content-length \"{}\"",
                    String::from_utf8_lossy(value)
                ))
            })?;
            self.remove_response_header(key)?;
            // SAFETY: `r` is live.
            unsafe { (*self.r).headers_out.content_length_n = n as _ };
            return Ok(());
        }
        self.remove_response_header(key)?;
        self.add_response_header(key, value)
    }

    /// Replace the response nginx is about to send (header filter, headers not sent): `status`, only
    /// `headers` (every earlier header goes, as with Envoy's local reply), and a body of `body_len` bytes that
    /// the caller substitutes (an empty one sends no body at all).
    pub(crate) fn replace_response(
        &mut self,
        status: u32,
        headers: &[Pair],
        body_len: usize,
    ) -> Result<(), String> {
        // SAFETY: `r` is live.
        if unsafe { (*self.r).header_sent() } != 0 {
            return Err("the response headers are sent already".into());
        }
        let mut names: Vec<Vec<u8>> = self
            .map_pairs(MapType::HttpResponseHeaders)
            .map_err(|s| format!("{s:?}"))?
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !k.starts_with(b":"))
            .collect();
        names.sort_unstable();
        names.dedup();
        for k in names {
            self.remove_response_header(&k)
                .map_err(|s| format!("removing {}: {s:?}", String::from_utf8_lossy(&k)))?;
        }
        self.replace_response_header(b":status", status.to_string().as_bytes())
            .map_err(|s| format!("status {status}: {s:?}"))?;
        for (k, v) in headers {
            self.map_add(MapType::HttpResponseHeaders, k, v)
                .map_err(|s| format!("header {}: {s:?}", String::from_utf8_lossy(k)))?;
        }
        // SAFETY: `r` is live.
        unsafe {
            let r = &mut *self.r;
            r.headers_out.content_length = std::ptr::null_mut();
            r.headers_out.content_length_n = body_len as _;
            r.headers_out.last_modified_time = -1;
            if body_len == 0 {
                // Every content producer (static, proxy, Lua) skips the body of a header-only response.
                r.set_header_only(1);
            }
        }
        Ok(())
    }
}
