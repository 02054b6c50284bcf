//! Request headers as plugins change them: the fields nginx keeps beside its list (`headers_in.host`, ...),
//! the framing headers nginx's body reading must never see changed, and the request pseudo-headers
//! (`:method`, `:path`, `:authority`). The unsafe here is writing the request's `headers_in` and line fields.

use ngx::ffi::{ngx_http_request_t, ngx_list_t, ngx_table_elt_t};
use proxy_wasm_host::{limits, Status};

use super::lists::link_header;
use super::RequestBackend;
use proxy_wasm_host::http_syntax::{
    decode_path, host_of, is_token_char, parse_number, valid_header_value,
};

/// Request headers nginx also keeps a pointer to in `headers_in` (besides the list). Only the fields every
/// nginx build has; others (`x-forwarded-for`, `accept-encoding`, the DAV headers, ...) depend on configure
/// flags and are left to the list.
pub(super) fn request_header_slot(
    r: &mut ngx_http_request_t,
    key: &[u8],
) -> Option<*mut *mut ngx_table_elt_t> {
    let h = &mut r.headers_in;
    Some(match key {
        b"host" => &mut h.host,
        b"connection" => &mut h.connection,
        b"if-modified-since" => &mut h.if_modified_since,
        b"if-unmodified-since" => &mut h.if_unmodified_since,
        b"if-match" => &mut h.if_match,
        b"if-none-match" => &mut h.if_none_match,
        b"user-agent" => &mut h.user_agent,
        b"referer" => &mut h.referer,
        b"content-length" => &mut h.content_length,
        b"content-range" => &mut h.content_range,
        b"content-type" => &mut h.content_type,
        b"range" => &mut h.range,
        b"if-range" => &mut h.if_range,
        b"transfer-encoding" => &mut h.transfer_encoding,
        b"te" => &mut h.te,
        b"expect" => &mut h.expect,
        b"upgrade" => &mut h.upgrade,
        b"authorization" => &mut h.authorization,
        b"keep-alive" => &mut h.keep_alive,
        b"date" => &mut h.date,
        // Since nginx 1.23 every cookie header is chained from `cookie` (before, an array `cookies`).
        #[cfg(ngx_table_elt_next)]
        b"cookie" => &mut h.cookie,
        _ => return None,
    })
}

/// The headers that frame the request body. A plugin may change them in the header map it sees, but never how
/// nginx reads the client's body: that would let a client's body be read as a request of its own (smuggling).
/// Upstream modules frame the body they send themselves (the proxy module ignores these list entries).
pub(super) fn is_framing(key: &[u8]) -> bool {
    key == b"content-length" || key == b"transfer-encoding"
}

impl RequestBackend {
    pub(super) fn add_request_header(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
        let key = self.checked_header("request", key, value)?;
        if key == b"content-length" && parse_number::<i64>(value).is_none() {
            return Err(self.refuse(&format!(
                "bad content-length \"{}\"",
                String::from_utf8_lossy(value)
            )));
        }
        let server = if key == b"host" {
            Some(host_of(value).ok_or_else(|| {
                self.refuse(&format!("bad host \"{}\"", String::from_utf8_lossy(value)))
            })?)
        } else {
            None
        };
        // SAFETY: `r` is live.
        let list = unsafe { &mut (*self.r).headers_in.headers as *mut ngx_list_t };
        let h = self.push_header(list, &key, value)?;
        if is_framing(&key) {
            // The plugin sees its change; nginx keeps reading the body (and framing it upstream) as the client
            // sent it.
            return Ok(());
        }
        // SAFETY: `r` is live; `h` is an element of its list.
        unsafe {
            let r = &mut *self.r;
            if let Some(slot) = request_header_slot(r, &key) {
                link_header(slot, h);
            }
            if let Some(server) = server {
                r.headers_in.server = self.pool_copy(&server)?;
            }
            #[cfg(not(ngx_table_elt_next))]
            if key == b"cookie" {
                let pool = r.pool;
                let cookies = &mut r.headers_in.cookies;
                if cookies.elts.is_null() {
                    // nginx creates this array with the first Cookie header of the client: none came.
                    let size = std::mem::size_of::<*mut ngx_table_elt_t>();
                    cookies.elts = ngx::ffi::ngx_palloc(pool, size);
                    cookies.nelts = 0;
                    cookies.size = size;
                    cookies.nalloc = 1;
                    cookies.pool = pool;
                }
                if !cookies.elts.is_null() {
                    let slot = ngx::ffi::ngx_array_push(cookies) as *mut *mut ngx_table_elt_t;
                    if !slot.is_null() {
                        *slot = h;
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn remove_request_header(&mut self, key: &[u8]) -> Result<(), Status> {
        let key = key.to_ascii_lowercase();
        self.unlink_request_headers(&key)?;
        if is_framing(&key) {
            // nginx's framing of the body stays as the client sent it (see `add_request_header`).
            return Ok(());
        }
        // SAFETY: `r` is live.
        unsafe {
            let r = &mut *self.r;
            if let Some(slot) = request_header_slot(r, &key) {
                *slot = std::ptr::null_mut();
            }
            #[cfg(not(ngx_table_elt_next))]
            if key == b"cookie" {
                r.headers_in.cookies.nelts = 0;
            }
        }
        Ok(())
    }

    /// Set a request pseudo-header: `:method`, `:path` and `:authority` change the request nginx passes on
    /// (the location was chosen already and stays); `:scheme` cannot change.
    pub(super) fn set_request_pseudo(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
        match key {
            b":method" => {
                if value.is_empty()
                    || value.len() > limits::MAX_METHOD_NAME
                    || !value.iter().all(|c| is_token_char(*c))
                {
                    return Err(self.refuse(&format!(
                        "bad :method \"{}\"",
                        String::from_utf8_lossy(value)
                    )));
                }
                let name = self.pool_copy(value)?;
                // SAFETY: `r` is live; `name` lives in its pool.
                unsafe {
                    (*self.r).method_name = name;
                    (*self.r).method = method_bit(value);
                }
                Ok(())
            }
            b":path" => self.set_path(value),
            b":authority" => {
                if host_of(value).is_none() || !valid_header_value(value) {
                    return Err(self.refuse(&format!(
                        "bad :authority \"{}\"",
                        String::from_utf8_lossy(value)
                    )));
                }
                self.remove_request_header(b"host")?;
                self.add_request_header(b"host", value)
            }
            b":scheme" => Err(self.refuse("nginx cannot change the :scheme of a request")),
            _ => Err(self.refuse(&format!(
                "unknown request pseudo-header \"{}\"",
                String::from_utf8_lossy(key)
            ))),
        }
    }

    pub(super) fn set_path(&mut self, value: &[u8]) -> Result<(), Status> {
        let bad = |this: &Self| {
            this.refuse(&format!(
                "bad :path \"{}\": it must start with \"/\" and hold no spaces, control characters, NUL or dot segments",
                String::from_utf8_lossy(value)
            ))
        };
        if !value.starts_with(b"/") || value.iter().any(|c| *c <= b' ' || *c == 0x7f) {
            return Err(bad(self));
        }
        let (path, args) = match value.iter().position(|c| *c == b'?') {
            Some(q) => (&value[..q], &value[q + 1..]),
            None => (value, &b""[..]),
        };
        let Some(decoded) = decode_path(path) else {
            return Err(bad(self));
        };
        let unparsed = self.pool_copy(value)?;
        let uri = self.pool_copy(&decoded)?;
        let args = self.pool_copy(args)?;
        // SAFETY: `r` is live; the strings live in its pool.
        unsafe {
            let r = &mut *self.r;
            r.unparsed_uri = unparsed;
            r.uri = uri;
            r.args = args;
            r.set_valid_unparsed_uri(0);
            r.set_valid_location(0);
            if decoded.len() != path.len() {
                // The uri holds decoded bytes: have upstream modules escape it again.
                r.set_quoted_uri(1);
            }
            ngx::ffi::ngx_http_set_exten(r);
        }
        Ok(())
    }
}

/// The methods nginx knows by bit (`r->method`); others are `NGX_HTTP_UNKNOWN` with the name kept.
pub(super) fn method_bit(name: &[u8]) -> usize {
    use ngx::ffi::*;
    (match name {
        b"GET" => NGX_HTTP_GET,
        b"HEAD" => NGX_HTTP_HEAD,
        b"POST" => NGX_HTTP_POST,
        b"PUT" => NGX_HTTP_PUT,
        b"DELETE" => NGX_HTTP_DELETE,
        b"MKCOL" => NGX_HTTP_MKCOL,
        b"COPY" => NGX_HTTP_COPY,
        b"MOVE" => NGX_HTTP_MOVE,
        b"OPTIONS" => NGX_HTTP_OPTIONS,
        b"PROPFIND" => NGX_HTTP_PROPFIND,
        b"PROPPATCH" => NGX_HTTP_PROPPATCH,
        b"LOCK" => NGX_HTTP_LOCK,
        b"UNLOCK" => NGX_HTTP_UNLOCK,
        b"PATCH" => NGX_HTTP_PATCH,
        b"TRACE" => NGX_HTTP_TRACE,
        b"CONNECT" => NGX_HTTP_CONNECT,
        _ => NGX_HTTP_UNKNOWN,
    }) as usize
}
