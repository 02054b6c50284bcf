//! What the host core needs from the proxy it runs in. The nginx module implements these traits over
//! `ngx_http_request_t`; unit tests implement them over plain collections. Also here: the proxy's default
//! backend, for callbacks that run outside anything the proxy called (a context Lua's GC dropped ends).

use std::sync::OnceLock;

use crate::map::Pair;
use crate::types::{LogLevel, MapType, Status};

/// Where log lines go when a context ends outside any request (dropped by Lua's GC, for example).
pub type DefaultBackend = fn() -> Box<dyn Backend>;

static DEFAULT_BACKEND: OnceLock<DefaultBackend> = OnceLock::new();

/// Register the proxy's process-wide backend (the nginx cycle log). The first registration wins.
pub fn set_default_backend(f: DefaultBackend) {
    let _ = DEFAULT_BACKEND.set(f);
}

/// The proxy's default backend, or stderr before the proxy registered one.
pub(crate) fn default_backend() -> Box<dyn Backend> {
    match DEFAULT_BACKEND.get() {
        Some(f) => f(),
        None => Box::new(crate::backend_stderr::StderrBackend),
    }
}

/// Services available to every callback, with or without a request (logging, properties of the VM).
pub trait Backend {
    /// Write one line to the proxy's log on behalf of `plugin`.
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]);
    /// The most verbose level the proxy's log currently records.
    fn log_level(&self) -> LogLevel;

    /// A property by path (segments split on NUL). `None` when the property does not exist.
    fn get_property(&mut self, path: &[&[u8]]) -> Option<Vec<u8>> {
        let _ = path;
        None
    }
    /// Set a property. `Err(NotFound)` when the proxy has no such property.
    fn set_property(&mut self, path: &[&[u8]], value: &[u8]) -> Result<(), Status> {
        let _ = (path, value);
        Err(Status::NotFound)
    }

    /// The HTTP stream this callback runs for, if any.
    fn http(&mut self) -> Option<&mut dyn HttpBackend> {
        None
    }
}

/// Access to one HTTP request and its response.
pub trait HttpBackend {
    /// All pairs of a map, in order, repeated names kept. Request headers start with the pseudo-headers
    /// `:method`, `:path`, `:scheme`, `:authority`; response headers with `:status`.
    fn map_pairs(&mut self, map: MapType) -> Result<Vec<Pair>, Status>;
    /// How many pairs `map_pairs` would return (proxies override it to count without copying).
    fn map_count(&mut self, map: MapType) -> Result<usize, Status> {
        Ok(self.map_pairs(map)?.len())
    }
    /// The values of `key` (case-insensitive) joined the way the spec asks: the first one.
    fn map_value(&mut self, map: MapType, key: &[u8]) -> Result<Option<Vec<u8>>, Status> {
        let pairs = self.map_pairs(map)?;
        Ok(pairs
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v))
    }
    /// Add a value, keeping the existing ones.
    fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status>;
    /// Replace every value of `key` by `value` (adding it when absent).
    fn map_replace(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status>;
    /// Remove every value of `key`.
    fn map_remove(&mut self, map: MapType, key: &[u8]) -> Result<(), Status>;
}
