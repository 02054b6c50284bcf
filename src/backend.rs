//! The host core's `Backend` over nginx: the cycle log for calls without a request, and
//! `ngx_http_request_t` for HTTP contexts.
//!
//! `backend` is the module's one home of nginx struct walking: this file holds the adapter (the host's map
//! calls dispatched by map type, maps read as plugins see them, pool strings); `lists.rs` the header-list
//! surgery, `request_headers.rs` and `response_headers.rs` the header semantics of each side, `buffers.rs`
//! buffer chains, `properties.rs` attributes and variables, `validate.rs` the pure checks (Host, path, names).

use ngx::ffi::{
    ngx_http_headers_out_t, ngx_http_request_t, ngx_list_t, ngx_log_t, ngx_pnalloc, ngx_pool_t,
    ngx_str_t,
};
use proxy_wasm_host::map::Pair;
use proxy_wasm_host::{Backend, HttpBackend, LogLevel, MapType, Status};

use crate::log;

pub(crate) mod buffers;
mod call_request;
mod lists;
mod properties;
mod request_headers;
mod response_headers;

pub(crate) use call_request::header_pairs;
use lists::for_each_header;
use proxy_wasm_host::http_syntax::{valid_header_name, valid_header_value};

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
    pub(crate) fn pool_copy(&self, bytes: &[u8]) -> Result<ngx_str_t, Status> {
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

impl RequestBackend {
    fn refuse(&self, what: &str) -> Status {
        self.host_log(LogLevel::Warn, what);
        Status::BadArgument
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
                    let mut digits = [0u8; 20];
                    f(
                        b":status",
                        decimal(r.headers_out.status as u64, &mut digits),
                    );
                    if r.headers_out.content_type.len > 0 {
                        f(b"content-type", bytes(&r.headers_out.content_type));
                    }
                    if let Some(n) = own_content_length(&r.headers_out) {
                        f(b"content-length", decimal(n, &mut digits));
                    }
                }
            }
            for_each_header(list, |h| {
                let key = bytes(&h.key);
                if !hidden(map, key) {
                    f(key, bytes(&h.value));
                }
            });
        }
        Ok(())
    }
}

/// `n` in decimal, written into `buf` (no allocation: the response map is read on every request).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// The Content-Length nginx keeps as a number outside its header list (listed in the response map from there), if
/// any: a `content-length` entry of the list is listed as the list has it.
fn own_content_length(out: &ngx_http_headers_out_t) -> Option<u64> {
    (out.content_length.is_null() && out.content_length_n >= 0)
        .then_some(out.content_length_n as u64)
}

/// Whether a header of `map`'s nginx list is left out of the map plugins see: the Host of HTTP/1 is `:authority`
/// only (as in Envoy); a response's Content-Type is nginx's own field, listed once from there.
fn hidden(map: MapType, key: &[u8]) -> bool {
    match map {
        MapType::HttpRequestHeaders => is_host(key),
        MapType::HttpResponseHeaders => key.eq_ignore_ascii_case(b"content-type"),
        _ => false,
    }
}

/// Whether a request header is the Host (which plugins see as `:authority` only).
fn is_host(key: &[u8]) -> bool {
    key.eq_ignore_ascii_case(b"host")
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
        // Every headers callback passes the count: the pseudo-headers and nginx's own fields are counted as
        // visit_map lists them, the list's entries without reading their values.
        let list = self.headers_list(map)?;
        // SAFETY: `r` is live and `list` is one of its header lists.
        unsafe {
            let out = &(*self.r).headers_out;
            let mut n = match map {
                MapType::HttpRequestHeaders => 4,
                MapType::HttpResponseTrailers => 0,
                _ => {
                    1 + usize::from(out.content_type.len > 0)
                        + usize::from(own_content_length(out).is_some())
                }
            };
            for_each_header(list, |h| {
                if !hidden(map, bytes(&h.key)) {
                    n += 1
                }
            });
            Ok(n)
        }
    }

    fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        match map {
            MapType::HttpRequestHeaders if key.starts_with(b":") => {
                self.set_request_pseudo(key, value)
            }
            // `host` is `:authority` in the map plugins see (single-valued, as in Envoy).
            MapType::HttpRequestHeaders if is_host(key) => {
                self.set_request_pseudo(b":authority", value)
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
            MapType::HttpRequestHeaders if is_host(key) => {
                self.set_request_pseudo(b":authority", value)
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
