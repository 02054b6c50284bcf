//! Properties of a request (`proxy_get_property` / `proxy_set_property`) over nginx: Envoy attribute paths
//! where nginx has the data, and nginx variables by name.
//!
//! | path | value (always a string) | set |
//! |---|---|---|
//! | `request.path` | the raw request target with its query (`$request_uri`, or what the plugin set as `:path`) | no |
//! | `request.url_path` | `request.path` without the query | no |
//! | `request.host` | the `:authority` (Host header, else the server name) | no |
//! | `request.scheme`, `request.method`, `request.protocol`, `request.query` | `$scheme`, `$request_method`, `$server_protocol`, `$args` | no |
//! | `request.headers.<name>` | the first value of that request header | no |
//! | `request.id` | the `x-request-id` header, else `$request_id` | no |
//! | `request.referer`, `request.useragent` | those request headers | no |
//! | `request.time` | when the request started, seconds since the epoch with milliseconds as decimals | no |
//! | `request.duration`, `request.size`, `request.total_size` | `$request_time`, `$content_length`, `$request_length` | no |
//! | `response.code` | the response status (absent before one is set) | no |
//! | `response.headers.<name>` | the first value of that response header | no |
//! | `response.size`, `response.total_size` | `$body_bytes_sent`, `$bytes_sent` | no |
//! | `source.address`, `source.port` | `$remote_addr`, `$remote_port` | no |
//! | `destination.address`, `destination.port` | `$server_addr`, `$server_port` | no |
//! | `connection.id`, `connection.tls_version`, `connection.requested_server_name` | `$connection`, `$ssl_protocol`, `$ssl_server_name` | no |
//! | `upstream.address` | `$upstream_addr` | no |
//! | `ngx.<name>` | the nginx variable `$name` | yes, when the variable is changeable (`set $name '';`) |
//! | `<name>` (one segment, none of the above) | the nginx variable `$name` (api7/wasm-nginx-module compatible) | yes, as above |
//! | `metadata.filter_metadata.<namespace>.<key>` | what a plugin set for this request, else `$proxy_wasm_metadata_<namespace>_<key>` | yes |
//! | `filter_state.<key>` | what a plugin set for this request, else `$proxy_wasm_filter_state_<key>` | yes |
//!
//! Envoy's dynamic metadata and filter state map to nginx variables (in their names every character but letters
//! and digits becomes `_`, letters are lowercased), so an nginx user sets them with `set`, `map` or Lua
//! (`ngx.var`), and reads what plugins wrote in logs and headers. A plugin's write goes to the variable when it
//! is changeable (declared with `set`), else it is kept with the request for the other plugins to read.
//!
//! Envoy types some attributes as integers and serialises them as 8 little-endian bytes; this host returns
//! every value as text (as ngx_wasm_module and api7/wasm-nginx-module do).

use ngx::ffi::{
    ngx_hash_find, ngx_hash_key, ngx_http_core_main_conf_t, ngx_http_core_module,
    ngx_http_get_variable, ngx_http_variable_t, ngx_http_variable_value_t, ngx_palloc, ngx_str_t,
    NGX_HTTP_VAR_CHANGEABLE, NGX_HTTP_VAR_INDEXED,
};
use proxy_wasm_host::{limits, HttpBackend, LogLevel, MapType, Status};

use super::RequestBackend;

/// What an Envoy attribute path reads.
enum Source {
    Variable(&'static str),
    RequestHeader(&'static [u8]),
    Fn(fn(&mut RequestBackend) -> Option<Vec<u8>>),
}

fn attribute(root: &[u8], name: &[u8]) -> Option<Source> {
    use Source::*;
    Some(match (root, name) {
        (b"request", b"path") => Fn(|b| b.pseudo(b":path")),
        (b"request", b"url_path") => Fn(|b| {
            b.pseudo(b":path")
                .map(|p| match p.iter().position(|c| *c == b'?') {
                    Some(q) => p[..q].to_vec(),
                    None => p,
                })
        }),
        (b"request", b"host") => Fn(|b| b.pseudo(b":authority")),
        (b"request", b"scheme") => Fn(|b| b.pseudo(b":scheme")),
        (b"request", b"method") => Fn(|b| b.pseudo(b":method")),
        (b"request", b"protocol") => Variable("server_protocol"),
        (b"request", b"query") => Variable("args"),
        (b"request", b"referer") => RequestHeader(b"referer"),
        (b"request", b"useragent") => RequestHeader(b"user-agent"),
        (b"request", b"id") => Fn(|b| {
            b.map_value(MapType::HttpRequestHeaders, b"x-request-id")
                .ok()
                .flatten()
                .or_else(|| b.variable(b"request_id"))
        }),
        (b"request", b"time") => Fn(|b| Some(b.start_time())),
        (b"request", b"duration") => Variable("request_time"),
        (b"request", b"size") => Variable("content_length"),
        (b"request", b"total_size") => Variable("request_length"),
        (b"response", b"code") => Fn(|b| b.status().map(|s| s.to_string().into_bytes())),
        (b"response", b"size") => Variable("body_bytes_sent"),
        (b"response", b"total_size") => Variable("bytes_sent"),
        (b"source", b"address") => Variable("remote_addr"),
        (b"source", b"port") => Variable("remote_port"),
        (b"destination", b"address") => Variable("server_addr"),
        (b"destination", b"port") => Variable("server_port"),
        (b"connection", b"id") => Variable("connection"),
        (b"connection", b"tls_version") => Variable("ssl_protocol"),
        (b"connection", b"requested_server_name") => Variable("ssl_server_name"),
        (b"upstream", b"address") => Variable("upstream_addr"),
        _ => return None,
    })
}

const ATTRIBUTE_ROOTS: [&[u8]; 6] = [
    b"request",
    b"response",
    b"source",
    b"destination",
    b"connection",
    b"upstream",
];

/// Split a path given as one dotted segment (`request.path`) the way SDKs that do not split it send it.
fn split_dotted<'a>(path: &[&'a [u8]]) -> Vec<&'a [u8]> {
    match path {
        [one] if one.contains(&b'.') => one.splitn(3, |c| *c == b'.').collect(),
        _ => path.to_vec(),
    }
}

/// The nginx variable a dynamic-metadata or filter-state path maps to (see the table above).
fn dynamic_variable(path: &[&[u8]]) -> Option<Vec<u8>> {
    let joined = path.join(&b'.');
    let (prefix, rest): (&[u8], &[u8]) =
        if let Some(rest) = joined.strip_prefix(b"metadata.filter_metadata.".as_slice()) {
            (b"proxy_wasm_metadata_", rest)
        } else if let Some(rest) = joined.strip_prefix(b"filter_state.".as_slice()) {
            (b"proxy_wasm_filter_state_", rest)
        } else {
            return None;
        };
    if rest.is_empty() || prefix.len() + rest.len() > limits::MAX_VARIABLE_NAME {
        return None;
    }
    let name = rest.iter().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            b'_'
        }
    });
    Some(prefix.iter().copied().chain(name).collect())
}

impl RequestBackend {
    /// A value a plugin set for this request under `name` (a dynamic-metadata or filter-state variable name).
    fn kept(&self, name: &[u8]) -> Option<Vec<u8>> {
        // SAFETY: `r` is live; the reference does not outlive this call.
        let rctx = unsafe { crate::request::existing_request_ctx(self.r) }?;
        rctx.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn keep(&self, name: Vec<u8>, value: &[u8]) -> Result<(), Status> {
        // SAFETY: `r` is live; the reference does not outlive this call.
        let rctx = unsafe { crate::request::request_ctx(self.r) }.ok_or(Status::InternalFailure)?;
        match rctx.properties.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value.to_vec(),
            None => rctx.properties.push((name, value.to_vec())),
        }
        Ok(())
    }

    /// The declared nginx variable `name` (case-insensitive), null when there is none.
    fn declared_variable(&self, name: &[u8]) -> *mut ngx_http_variable_t {
        let mut lc = name.to_ascii_lowercase();
        // SAFETY: `r` is live; the core module's main conf and its variables hash exist for every request.
        unsafe {
            let cmcf = *(*self.r).main_conf.add(ngx_http_core_module.ctx_index)
                as *mut ngx_http_core_main_conf_t;
            let key = ngx_hash_key(lc.as_mut_ptr(), lc.len());
            ngx_hash_find(&mut (*cmcf).variables_hash, key, lc.as_mut_ptr(), lc.len())
                as *mut ngx_http_variable_t
        }
    }

    /// Whether `$name` exists and may be assigned (declared with `set`).
    fn changeable(&self, name: &[u8]) -> bool {
        let v = self.declared_variable(name);
        // SAFETY: a non-null variable from the hash is the configuration's, alive with it.
        !v.is_null() && unsafe { (*v).flags } as u32 & NGX_HTTP_VAR_CHANGEABLE != 0
    }

    pub(super) fn property(&mut self, path: &[&[u8]]) -> Option<Vec<u8>> {
        if let Some(name) = dynamic_variable(path) {
            return self.kept(&name).or_else(|| self.variable(&name));
        }
        let path = split_dotted(path);
        match path.as_slice() {
            [b"ngx", name] => self.variable(name),
            [b"request", b"headers", name] => self
                .map_value(MapType::HttpRequestHeaders, name)
                .ok()
                .flatten(),
            [b"response", b"headers", name] => self
                .map_value(MapType::HttpResponseHeaders, name)
                .ok()
                .flatten(),
            [root, name] if ATTRIBUTE_ROOTS.contains(root) => match attribute(root, name)? {
                Source::Variable(v) => self.variable(v.as_bytes()),
                Source::RequestHeader(h) => self
                    .map_value(MapType::HttpRequestHeaders, h)
                    .ok()
                    .flatten(),
                Source::Fn(f) => f(self),
            },
            [name] if !ATTRIBUTE_ROOTS.contains(name) => self.variable(name),
            _ => None,
        }
    }

    pub(super) fn set_property_value(
        &mut self,
        path: &[&[u8]],
        value: &[u8],
    ) -> Result<(), Status> {
        if let Some(name) = dynamic_variable(path) {
            return if self.changeable(&name) {
                self.set_variable(&name, value)
            } else {
                self.keep(name, value)
            };
        }
        let path = split_dotted(path);
        let name = match path.as_slice() {
            [b"ngx", name] => *name,
            [name] if !ATTRIBUTE_ROOTS.contains(name) => *name,
            _ => {
                let shown: Vec<String> = path
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                self.host_log(
                    LogLevel::Warn,
                    &format!(
                        "proxy_set_property: property \"{}\" is read-only or unknown",
                        shown.join(".")
                    ),
                );
                return Err(Status::NotFound);
            }
        };
        self.set_variable(name, value)
    }

    fn pseudo(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.map_value(MapType::HttpRequestHeaders, key)
            .ok()
            .flatten()
    }

    fn status(&self) -> Option<usize> {
        // SAFETY: `r` is live.
        let status = unsafe { (*self.r).headers_out.status };
        (status != 0).then_some(status)
    }

    fn start_time(&self) -> Vec<u8> {
        // SAFETY: `r` is live.
        let (sec, msec) = unsafe { ((*self.r).start_sec, (*self.r).start_msec) };
        format!("{sec}.{msec:03}").into_bytes()
    }

    /// The nginx variable `name` (case-insensitive), `None` when there is no such variable or it has no value.
    pub(super) fn variable(&mut self, name: &[u8]) -> Option<Vec<u8>> {
        if name.is_empty() || name.len() > limits::MAX_VARIABLE_NAME {
            return None;
        }
        let mut lc = name.to_ascii_lowercase();
        // SAFETY: `r` is live; `lc` outlives the call (prefix variables read the name during the call only); the
        // returned value is copied before anything else runs.
        unsafe {
            let key = ngx_hash_key(lc.as_mut_ptr(), lc.len());
            let mut s = ngx_str_t {
                len: lc.len(),
                data: lc.as_mut_ptr(),
            };
            let vv = ngx_http_get_variable(self.r, &mut s, key);
            if vv.is_null() || (*vv).not_found() != 0 {
                return None;
            }
            Some(super::bytes_raw((*vv).data, (*vv).len() as usize).to_vec())
        }
    }

    /// Set the nginx variable `name`, as `set $name value;` would: only changeable variables (those declared
    /// with `set`, and the few nginx lets change such as `$args` and `$limit_rate`).
    pub(super) fn set_variable(&mut self, name: &[u8], value: &[u8]) -> Result<(), Status> {
        let shown = String::from_utf8_lossy(name).into_owned();
        if name.is_empty() || name.len() > limits::MAX_VARIABLE_NAME {
            self.host_log(
                LogLevel::Warn,
                &format!("proxy_set_property: bad nginx variable name \"{shown}\""),
            );
            return Err(Status::BadArgument);
        }
        let v = self.declared_variable(name);
        // SAFETY: `r` is live; a non-null variable from the hash is the configuration's; the value is copied
        // into the request pool before nginx keeps a pointer to it.
        unsafe {
            let r = self.r;
            if v.is_null() {
                self.host_log(
                    LogLevel::Warn,
                    &format!(
                        "proxy_set_property: no nginx variable \"{shown}\" (declare it with `set ${shown} '';`)"
                    ),
                );
                return Err(Status::NotFound);
            }
            let flags = (*v).flags as u32;
            if flags & NGX_HTTP_VAR_CHANGEABLE == 0 {
                self.host_log(
                    LogLevel::Warn,
                    &format!("proxy_set_property: nginx variable \"{shown}\" is not changeable"),
                );
                return Err(Status::BadArgument);
            }
            let data = self.pool_copy(value)?;
            let fill = |vv: &mut ngx_http_variable_value_t| {
                vv.set_len(data.len as _);
                vv.set_valid(1);
                vv.set_no_cacheable(0);
                vv.set_not_found(0);
                vv.data = data.data;
            };
            if let Some(set) = (*v).set_handler {
                let vv = ngx_palloc(
                    self.pool(),
                    std::mem::size_of::<ngx_http_variable_value_t>(),
                ) as *mut ngx_http_variable_value_t;
                if vv.is_null() {
                    return Err(Status::InternalFailure);
                }
                std::ptr::write_bytes(vv, 0, 1);
                fill(&mut *vv);
                set(r, vv, (*v).data);
                return Ok(());
            }
            if flags & NGX_HTTP_VAR_INDEXED != 0 {
                fill(&mut *(*r).variables.add((*v).index));
                return Ok(());
            }
            self.host_log(
                LogLevel::Warn,
                &format!("proxy_set_property: nginx variable \"{shown}\" cannot be assigned"),
            );
            Err(Status::BadArgument)
        }
    }
}
