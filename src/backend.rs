//! The host core's `Backend` over nginx: the cycle log for calls without a request, and
//! `ngx_http_request_t` for HTTP contexts.
//!
//! This file is the home of nginx struct walking: header lists, pool allocation, header fields nginx keeps
//! outside its lists (`Content-Type`, `Content-Length`, the status).

use ngx::ffi::{
    ngx_hash_key_lc, ngx_http_request_t, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_log_t,
    ngx_pnalloc, ngx_pool_t, ngx_str_t, ngx_table_elt_t,
};
use proxy_wasm_host::map::Pair;
use proxy_wasm_host::{Backend, HttpBackend, LogLevel, MapType, Status};

use crate::log;

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
    if s.len == 0 || s.data.is_null() {
        &[]
    } else {
        // SAFETY: nginx strings point to `len` readable bytes.
        unsafe { std::slice::from_raw_parts(s.data, s.len) }
    }
}

fn is_special_response_header(key: &[u8]) -> bool {
    key.eq_ignore_ascii_case(b"content-type") || key.eq_ignore_ascii_case(b"content-length")
}

impl Backend for RequestBackend {
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]) {
        log::plugin_line(self.log_ptr(), level, plugin, message);
    }

    fn log_level(&self) -> LogLevel {
        log::level_of(self.log_ptr())
    }

    fn http(&mut self) -> Option<&mut dyn HttpBackend> {
        Some(self)
    }
}

impl HttpBackend for RequestBackend {
    fn map_pairs(&mut self, map: MapType) -> Result<Vec<Pair>, Status> {
        let list = self.headers_list(map)?;
        let mut pairs = Vec::new();
        // SAFETY: `r` is live; header fields hold nginx strings.
        unsafe {
            let r = &*self.r;
            match map {
                MapType::HttpRequestHeaders => {
                    pairs.push((b":method".to_vec(), bytes(&r.method_name).to_vec()));
                    pairs.push((b":path".to_vec(), bytes(&r.unparsed_uri).to_vec()));
                    pairs.push((b":scheme".to_vec(), self.scheme().to_vec()));
                    let authority = if r.headers_in.host.is_null() {
                        bytes(&r.headers_in.server).to_vec()
                    } else {
                        bytes(&(*r.headers_in.host).value).to_vec()
                    };
                    pairs.push((b":authority".to_vec(), authority));
                }
                _ => {
                    pairs.push((
                        b":status".to_vec(),
                        r.headers_out.status.to_string().into_bytes(),
                    ));
                    if r.headers_out.content_type.len > 0 {
                        pairs.push((
                            b"content-type".to_vec(),
                            bytes(&r.headers_out.content_type).to_vec(),
                        ));
                    }
                    if r.headers_out.content_length.is_null() && r.headers_out.content_length_n >= 0
                    {
                        let n = r.headers_out.content_length_n.to_string();
                        pairs.push((b"content-length".to_vec(), n.into_bytes()));
                    }
                }
            }
            for_each_header(list, |h| {
                let key = bytes(&h.key);
                if map == MapType::HttpResponseHeaders && key.eq_ignore_ascii_case(b"content-type")
                {
                    return;
                }
                pairs.push((key.to_ascii_lowercase(), bytes(&h.value).to_vec()));
            });
        }
        Ok(pairs)
    }

    fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        if key.starts_with(b":") {
            return self.map_replace(map, key, value);
        }
        if map == MapType::HttpResponseHeaders && is_special_response_header(key) {
            return self.map_replace(map, key, value);
        }
        let list = self.headers_list(map)?;
        let key_str = self.pool_str(key)?;
        let value_str = self.pool_str(value)?;
        let lowcase = self.pool_str(&key.to_ascii_lowercase())?;
        // SAFETY: `list` is an initialised header list of the live request; the strings live in its pool.
        unsafe {
            let h = ngx_list_push(list) as *mut ngx_table_elt_t;
            if h.is_null() {
                return Err(Status::InternalFailure);
            }
            (*h).key = key_str;
            (*h).value = value_str;
            (*h).lowcase_key = lowcase.data;
            (*h).hash = ngx_hash_key_lc(key_str.data, key_str.len).max(1);
            #[cfg(ngx_table_elt_next)]
            {
                (*h).next = std::ptr::null_mut();
            }
        }
        Ok(())
    }

    fn map_replace(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        if map == MapType::HttpResponseHeaders {
            if key == b":status" {
                let status: usize = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .filter(|s| (100..=599).contains(s))
                    .ok_or(Status::BadArgument)?;
                // SAFETY: `r` is live.
                unsafe {
                    (*self.r).headers_out.status = status;
                    (*self.r).headers_out.status_line.len = 0;
                }
                return Ok(());
            }
            if key.eq_ignore_ascii_case(b"content-type") {
                let v = self.pool_str(value)?;
                // SAFETY: `r` is live; `v` lives in its pool.
                unsafe {
                    let out = &mut (*self.r).headers_out;
                    out.content_type = v;
                    out.content_type_len = v.len;
                    out.content_type_lowcase = std::ptr::null_mut();
                    out.content_type_hash = 0;
                }
                return Ok(());
            }
            if key.eq_ignore_ascii_case(b"content-length") {
                let n: i64 = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(Status::BadArgument)?;
                self.map_remove(map, key)?;
                // SAFETY: `r` is live.
                unsafe { (*self.r).headers_out.content_length_n = n as _ };
                return Ok(());
            }
        }
        if key.starts_with(b":") {
            // Changing the request line is a later feature; refuse rather than pretend.
            return Err(Status::BadArgument);
        }
        self.map_remove(map, key)?;
        self.map_add(map, key, value)
    }

    fn map_remove(&mut self, map: MapType, key: &[u8]) -> Result<(), Status> {
        if key.starts_with(b":") {
            return Err(Status::BadArgument);
        }
        let list = self.headers_list(map)?;
        if map == MapType::HttpResponseHeaders {
            // SAFETY: `r` is live.
            unsafe {
                let out = &mut (*self.r).headers_out;
                if key.eq_ignore_ascii_case(b"content-type") {
                    out.content_type.len = 0;
                    out.content_type_len = 0;
                }
                if key.eq_ignore_ascii_case(b"content-length") {
                    out.content_length_n = -1;
                    out.content_length = std::ptr::null_mut();
                }
            }
        }
        // SAFETY: `list` is an initialised header list of the live request.
        unsafe {
            for_each_header(list, |h| {
                if bytes(&h.key).eq_ignore_ascii_case(key) {
                    h.hash = 0;
                }
            });
        }
        Ok(())
    }
}

impl RequestBackend {
    fn scheme(&self) -> &'static [u8] {
        #[cfg(ngx_feature = "ssl")]
        // SAFETY: `r` is live and has a connection.
        if unsafe { !(*(*self.r).connection).ssl.is_null() } {
            return b"https";
        }
        b"http"
    }
}
