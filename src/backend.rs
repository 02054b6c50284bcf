//! The host core's `Backend` over nginx: the cycle log for calls without a request, and
//! `ngx_http_request_t` for HTTP contexts.
//!
//! This file is the home of nginx struct walking: header lists, pool allocation, header fields nginx keeps
//! outside its lists (`Content-Type`, `Content-Length`, the status).

use ngx::ffi::{
    ngx_hash_key_lc, ngx_http_request_t, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_log_t,
    ngx_palloc, ngx_pnalloc, ngx_pool_t, ngx_str_t, ngx_table_elt_t,
};
use proxy_wasm_host::map::Pair;
use proxy_wasm_host::{Backend, HttpBackend, LogLevel, MapType, Status};

use crate::log;

pub(crate) mod buffers;
mod properties;
mod validate;

use validate::{
    decode_path, host_of, is_token_char, method_bit, parse_number, valid_header_name,
    valid_header_value,
};

/// Calls outside any request log to the cycle's log.
pub(crate) struct CycleBackend;

/// The default backend the host core uses when no request is at hand.
pub(crate) fn cycle_backend() -> Box<dyn Backend> {
    Box::new(CycleBackend)
}

fn cycle_log() -> *mut ngx_log_t {
    ngx::log::ngx_cycle_log().as_ptr()
}

impl Backend for CycleBackend {
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]) {
        log::plugin_line(cycle_log(), level, plugin, message);
    }

    fn log_level(&self) -> LogLevel {
        log::level_of(cycle_log())
    }
}

/// One nginx request as seen by a plugin's HTTP context.
pub(crate) struct RequestBackend {
    r: *mut ngx_http_request_t,
}

impl RequestBackend {
    /// # Safety
    /// `r` must be a live request for as long as the backend is used.
    pub(crate) unsafe fn new(r: *mut ngx_http_request_t) -> RequestBackend {
        RequestBackend { r }
    }

    /// A host line (not from a plugin) in the request's log.
    fn host_log(&self, level: LogLevel, message: &str) {
        log::write(self.log_ptr(), level, format_args!("proxy-wasm: {message}"));
    }

    pub(crate) fn log_ptr(&self) -> *mut ngx_log_t {
        // SAFETY: `r` is live (constructor contract) and every request has a connection with a log.
        unsafe { (*(*self.r).connection).log }
    }

    fn pool(&self) -> *mut ngx_pool_t {
        // SAFETY: `r` is live.
        unsafe { (*self.r).pool }
    }

    fn headers_list(&self, map: MapType) -> Result<*mut ngx_list_t, Status> {
        // SAFETY: `r` is live; the lists are initialised before any phase handler runs.
        unsafe {
            match map {
                MapType::HttpRequestHeaders => Ok(&mut (*self.r).headers_in.headers),
                MapType::HttpResponseHeaders => Ok(&mut (*self.r).headers_out.headers),
                MapType::HttpResponseTrailers => Ok(&mut (*self.r).headers_out.trailers),
                _ => Err(Status::NotFound),
            }
        }
    }

    /// Copy `bytes` into the request pool.
    fn pool_str(&self, bytes: &[u8]) -> Result<ngx_str_t, Status> {
        // SAFETY: the pool is live; the copy has exactly the allocated length.
        unsafe {
            let p = ngx_pnalloc(self.pool(), bytes.len().max(1)) as *mut u8;
            if p.is_null() {
                return Err(Status::InternalFailure);
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
            Ok(ngx_str_t {
                len: bytes.len(),
                data: p,
            })
        }
    }
}

/// Whether the request came over HTTP/2 (where trailers need no chunked encoding).
fn is_http2(r: &ngx_http_request_t) -> bool {
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

/// Visit every live (hash != 0) element of an nginx header list.
///
/// # Safety
/// `list` must be an initialised list of `ngx_table_elt_t`.
unsafe fn for_each_header(list: *mut ngx_list_t, mut f: impl FnMut(&mut ngx_table_elt_t)) {
    // SAFETY: guaranteed by the caller; parts are chained through `next` and hold `nelts` elements.
    unsafe {
        let mut part: *mut ngx_list_part_t = &mut (*list).part;
        while !part.is_null() {
            let elts = (*part).elts as *mut ngx_table_elt_t;
            for i in 0..(*part).nelts {
                let h = &mut *elts.add(i);
                if h.hash != 0 {
                    f(h);
                }
            }
            part = (*part).next;
        }
    }
}

fn bytes(s: &ngx_str_t) -> &[u8] {
    // SAFETY: nginx strings point to `len` readable bytes.
    unsafe { bytes_raw(s.data, s.len) }
}

/// # Safety
/// `data` must point to `len` readable bytes that outlive the returned slice (or be null / `len` 0).
pub(crate) unsafe fn bytes_raw<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || data.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(data, len) }
    }
}

impl Backend for RequestBackend {
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]) {
        log::plugin_line(self.log_ptr(), level, plugin, message);
    }

    fn log_level(&self) -> LogLevel {
        log::level_of(self.log_ptr())
    }

    fn get_property(&mut self, path: &[&[u8]]) -> Option<Vec<u8>> {
        self.property(path)
    }

    fn set_property(&mut self, path: &[&[u8]], value: &[u8]) -> Result<(), Status> {
        self.set_property_value(path, value)
    }

    fn http(&mut self) -> Option<&mut dyn HttpBackend> {
        Some(self)
    }
}

/// Request headers nginx also keeps a pointer to in `headers_in` (besides the list). Only the fields every
/// nginx build has; others (`x-forwarded-for`, `accept-encoding`, the DAV headers, ...) depend on configure
/// flags and are left to the list.
fn request_header_slot(
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
fn is_framing(key: &[u8]) -> bool {
    key == b"content-length" || key == b"transfer-encoding"
}

/// Point a `headers_in` field at a header a plugin added: when it is empty, and (nginx 1.23 on, where the
/// field heads a chain of every header of that name) at the end of its chain otherwise.
///
/// # Safety
/// `slot` must be a header field of a live request and `h` an element of its header list.
unsafe fn link_header(slot: *mut *mut ngx_table_elt_t, h: *mut ngx_table_elt_t) {
    // SAFETY: guaranteed by the caller; chained elements live in the request's pool.
    unsafe {
        #[cfg_attr(not(ngx_table_elt_next), allow(unused_mut))]
        let mut at = slot;
        #[cfg(ngx_table_elt_next)]
        while !(*at).is_null() {
            at = &mut (**at).next;
        }
        if (*at).is_null() {
            *at = h;
        }
    }
}

/// Response headers nginx keeps a pointer to in `headers_out`; the header filter writes some of them itself
/// (`server`, `date`, `location`, `last-modified`) when the pointer is null.
fn response_header_slot(
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
    fn refuse(&self, what: &str) -> Status {
        self.host_log(LogLevel::Warn, what);
        Status::BadArgument
    }

    /// Push `key: value` (key already lowercase) onto a header list.
    fn push_header(
        &self,
        list: *mut ngx_list_t,
        key: &[u8],
        value: &[u8],
    ) -> Result<*mut ngx_table_elt_t, Status> {
        let key_str = self.pool_str(key)?;
        let value_str = self.pool_str(value)?;
        // SAFETY: `list` is an initialised header list of the live request; the strings live in its pool.
        unsafe {
            let h = ngx_list_push(list) as *mut ngx_table_elt_t;
            if h.is_null() {
                return Err(Status::InternalFailure);
            }
            (*h).key = key_str;
            (*h).value = value_str;
            (*h).lowcase_key = key_str.data;
            (*h).hash = ngx_hash_key_lc(key_str.data, key_str.len).max(1);
            #[cfg(ngx_table_elt_next)]
            {
                (*h).next = std::ptr::null_mut();
            }
            Ok(h)
        }
    }

    /// Take every `key` header out of the request header list without moving the others: nginx (and other
    /// modules) keep pointers to list elements, and the proxy module sends every element, whatever its hash.
    ///
    /// The list keeps the shape every nginx list walker accepts: a walker moves to the next part once it has
    /// seen `nelts` elements and reads that part's first element without checking its `nelts` again, so no
    /// part but the first may be empty; and `ngx_list_push` fills the last part up to `nalloc` elements, so when
    /// the last part's elements no longer start where its array does, `nalloc` is lowered to what it holds (the
    /// next push then starts a fresh part; `nalloc` only sizes parts still to come).
    fn unlink_request_headers(&self, key: &[u8]) -> Result<(), Status> {
        // SAFETY: `r` is live; the list parts are walked within their `nelts`; new parts come from the pool.
        unsafe {
            let list: *mut ngx_list_t = &mut (*self.r).headers_in.headers;
            let first: *mut ngx_list_part_t = &mut (*list).part;
            let mut prev: *mut ngx_list_part_t = std::ptr::null_mut();
            let mut part = first;
            let mut removed = false;
            while !part.is_null() {
                let mut i = 0;
                while i < (*part).nelts {
                    let elts = (*part).elts as *mut ngx_table_elt_t;
                    if !bytes(&(*elts.add(i)).key).eq_ignore_ascii_case(key) {
                        i += 1;
                        continue;
                    }
                    removed = true;
                    if i == 0 {
                        (*part).elts = elts.add(1) as *mut _;
                        (*part).nelts -= 1;
                    } else if i == (*part).nelts - 1 {
                        (*part).nelts -= 1;
                    } else {
                        // Split: the elements after the removed one become a part of their own.
                        let rest = ngx_palloc(self.pool(), std::mem::size_of::<ngx_list_part_t>())
                            as *mut ngx_list_part_t;
                        if rest.is_null() {
                            return Err(Status::InternalFailure);
                        }
                        (*rest).elts = elts.add(i + 1) as *mut _;
                        (*rest).nelts = (*part).nelts - i - 1;
                        (*rest).next = (*part).next;
                        (*part).nelts = i;
                        (*part).next = rest;
                        if part == (*list).last {
                            (*list).last = rest;
                        }
                        prev = part;
                        part = rest;
                        i = 0;
                    }
                }
                let next = (*part).next;
                if (*part).nelts == 0 && part != first {
                    // An empty part after the first is unlinked (walkers would read past its end).
                    (*prev).next = next;
                    if (*list).last == part {
                        (*list).last = prev;
                    }
                } else {
                    prev = part;
                }
                part = next;
            }
            if !removed {
                return Ok(());
            }
            if (*first).nelts == 0 && !(*first).next.is_null() {
                // An empty first part takes over the second (the part struct is copied, not its elements).
                let second = (*first).next;
                *first = *second;
                if (*list).last == second {
                    (*list).last = first;
                }
            }
            let last = (*list).last;
            if (*last).nelts == 0 {
                // Only an empty first part is left: give it a fresh array (no element can point into it).
                let nalloc = (*list).nalloc.max(1);
                let elts = ngx_palloc(self.pool(), (*list).size * nalloc);
                if elts.is_null() {
                    return Err(Status::InternalFailure);
                }
                (*last).elts = elts;
                (*list).nalloc = nalloc;
            } else {
                // The last part counts as full: the next push starts a fresh part instead of writing past its
                // array (or over an element just removed, which a pointer elsewhere may still name).
                (*list).nalloc = (*last).nelts;
            }
        }
        Ok(())
    }

    /// The lowercased name of a header a plugin adds, after refusing (with a log line) a bad name or value.
    fn checked_header(&self, side: &str, key: &[u8], value: &[u8]) -> Result<Vec<u8>, Status> {
        let key = key.to_ascii_lowercase();
        let shown = String::from_utf8_lossy(&key);
        if !valid_header_name(&key) {
            return Err(self.refuse(&format!("bad {side} header name \"{shown}\"")));
        }
        if !valid_header_value(value) {
            return Err(self.refuse(&format!(
                "bad value for {side} header \"{shown}\" (CR, LF or NUL)"
            )));
        }
        Ok(key)
    }

    fn add_request_header(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
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
                r.headers_in.server = self.pool_str(&server)?;
            }
            #[cfg(not(ngx_table_elt_next))]
            if key == b"cookie" {
                let slot = ngx::ffi::ngx_array_push(&mut r.headers_in.cookies)
                    as *mut *mut ngx_table_elt_t;
                if !slot.is_null() {
                    *slot = h;
                }
            }
        }
        Ok(())
    }

    fn remove_request_header(&mut self, key: &[u8]) -> Result<(), Status> {
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
    fn set_request_pseudo(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
        match key {
            b":method" => {
                if value.is_empty() || value.len() > 32 || !value.iter().all(|c| is_token_char(*c))
                {
                    return Err(self.refuse(&format!(
                        "bad :method \"{}\"",
                        String::from_utf8_lossy(value)
                    )));
                }
                let name = self.pool_str(value)?;
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

    fn set_path(&mut self, value: &[u8]) -> Result<(), Status> {
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
        let unparsed = self.pool_str(value)?;
        let uri = self.pool_str(&decoded)?;
        let args = self.pool_str(args)?;
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

    fn add_response_header(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
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

    fn remove_response_header(&mut self, key: &[u8]) -> Result<(), Status> {
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
    fn add_response_trailer(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
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

    fn remove_response_trailer(&mut self, key: &[u8]) -> Result<(), Status> {
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

    fn scheme(&self) -> &'static [u8] {
        #[cfg(ngx_feature = "ssl")]
        // SAFETY: `r` is live and has a connection.
        if unsafe { !(*(*self.r).connection).ssl.is_null() } {
            return b"https";
        }
        b"http"
    }
}

impl RequestBackend {
    /// Every pair of a map as plugins see it, in order, without copying: pseudo-headers first (request:
    /// `:method`, `:path`, `:scheme`, `:authority`; response: `:status`, then the `content-type` and
    /// `content-length` nginx keeps outside its list), then the list's live entries (keys as nginx has them).
    fn visit_map(&self, map: MapType, f: &mut dyn FnMut(&[u8], &[u8])) -> Result<(), Status> {
        let list = self.headers_list(map)?;
        // SAFETY: `r` is live; header fields hold nginx strings.
        unsafe {
            let r = &*self.r;
            match map {
                MapType::HttpRequestHeaders => {
                    f(b":method", bytes(&r.method_name));
                    f(b":path", bytes(&r.unparsed_uri));
                    f(b":scheme", self.scheme());
                    let authority = if r.headers_in.host.is_null() {
                        bytes(&r.headers_in.server)
                    } else {
                        bytes(&(*r.headers_in.host).value)
                    };
                    f(b":authority", authority);
                }
                MapType::HttpResponseTrailers => {}
                _ => {
                    f(b":status", r.headers_out.status.to_string().as_bytes());
                    if r.headers_out.content_type.len > 0 {
                        f(b"content-type", bytes(&r.headers_out.content_type));
                    }
                    if r.headers_out.content_length.is_null() && r.headers_out.content_length_n >= 0
                    {
                        f(
                            b"content-length",
                            r.headers_out.content_length_n.to_string().as_bytes(),
                        );
                    }
                }
            }
            for_each_header(list, |h| {
                let key = bytes(&h.key);
                if map == MapType::HttpResponseHeaders && key.eq_ignore_ascii_case(b"content-type")
                {
                    return;
                }
                f(key, bytes(&h.value));
            });
        }
        Ok(())
    }
}

impl HttpBackend for RequestBackend {
    fn map_pairs(&mut self, map: MapType) -> Result<Vec<Pair>, Status> {
        let mut pairs = Vec::new();
        self.visit_map(map, &mut |k, v| {
            pairs.push((k.to_ascii_lowercase(), v.to_vec()))
        })?;
        Ok(pairs)
    }

    fn map_count(&mut self, map: MapType) -> Result<usize, Status> {
        let mut n = 0;
        if map == MapType::HttpRequestHeaders {
            // Every request call counts these: the four pseudo-headers plus the list, without visiting values.
            let list = self.headers_list(map)?;
            // SAFETY: `r` is live and `list` is its request header list.
            unsafe { for_each_header(list, |_| n += 1) };
            return Ok(4 + n);
        }
        self.visit_map(map, &mut |_, _| n += 1)?;
        Ok(n)
    }

    fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        match map {
            MapType::HttpRequestHeaders if key.starts_with(b":") => {
                self.set_request_pseudo(key, value)
            }
            MapType::HttpRequestHeaders => self.add_request_header(key, value),
            MapType::HttpResponseHeaders
                if key.starts_with(b":")
                    || key.eq_ignore_ascii_case(b"content-type")
                    || key.eq_ignore_ascii_case(b"content-length") =>
            {
                // Single-valued in nginx: adding one replaces it.
                self.map_replace(map, key, value)
            }
            MapType::HttpResponseHeaders => self.add_response_header(key, value),
            MapType::HttpResponseTrailers => self.add_response_trailer(key, value),
            _ => Err(Status::NotFound),
        }
    }

    fn map_replace(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        match map {
            MapType::HttpRequestHeaders if key.starts_with(b":") => {
                self.set_request_pseudo(key, value)
            }
            MapType::HttpRequestHeaders => {
                self.remove_request_header(key)?;
                self.add_request_header(key, value)
            }
            MapType::HttpResponseHeaders => self.replace_response_header(key, value),
            MapType::HttpResponseTrailers => {
                self.remove_response_trailer(key)?;
                self.add_response_trailer(key, value)
            }
            _ => Err(Status::NotFound),
        }
    }

    fn map_remove(&mut self, map: MapType, key: &[u8]) -> Result<(), Status> {
        if key.starts_with(b":")
            && matches!(
                map,
                MapType::HttpRequestHeaders | MapType::HttpResponseHeaders
            )
        {
            return Err(self.refuse(&format!(
                "the pseudo-header \"{}\" cannot be removed",
                String::from_utf8_lossy(key)
            )));
        }
        match map {
            MapType::HttpRequestHeaders => self.remove_request_header(key),
            MapType::HttpResponseHeaders => self.remove_response_header(key),
            MapType::HttpResponseTrailers => self.remove_response_trailer(key),
            _ => Err(Status::NotFound),
        }
    }
}

impl RequestBackend {
    fn replace_response_header(&mut self, key: &[u8], value: &[u8]) -> Result<(), Status> {
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
            let v = self.pool_str(value)?;
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
}

impl RequestBackend {
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
