//! A fake proxy for the host core's tests: headers in vectors, log lines collected.

#![allow(dead_code)]

use proxy_wasm_host::map::Pair;
use proxy_wasm_host::{Backend, HttpBackend, LogLevel, MapType, Status};

#[derive(Default)]
pub struct FakeRequest {
    pub request_headers: Vec<Pair>,
    pub response_headers: Vec<Pair>,
}

#[derive(Default)]
pub struct FakeBackend {
    pub logs: Vec<(LogLevel, String)>,
    pub request: Option<FakeRequest>,
}

impl FakeBackend {
    pub fn with_request(headers: &[(&str, &str)]) -> FakeBackend {
        FakeBackend {
            logs: Vec::new(),
            request: Some(FakeRequest {
                request_headers: headers
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                    .collect(),
                response_headers: vec![(b":status".to_vec(), b"200".to_vec())],
            }),
        }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|(_, l)| l.contains(needle))
    }
}

impl Backend for FakeBackend {
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]) {
        self.logs.push((
            level,
            format!("{plugin}: {}", String::from_utf8_lossy(message)),
        ));
    }

    fn log_level(&self) -> LogLevel {
        LogLevel::Trace
    }

    fn http(&mut self) -> Option<&mut dyn HttpBackend> {
        self.request.as_mut().map(|r| r as &mut dyn HttpBackend)
    }
}

impl FakeRequest {
    fn map(&mut self, map: MapType) -> Result<&mut Vec<Pair>, Status> {
        match map {
            MapType::HttpRequestHeaders => Ok(&mut self.request_headers),
            MapType::HttpResponseHeaders => Ok(&mut self.response_headers),
            _ => Err(Status::NotFound),
        }
    }
}

impl HttpBackend for FakeRequest {
    fn map_pairs(&mut self, map: MapType) -> Result<Vec<Pair>, Status> {
        Ok(self.map(map)?.clone())
    }

    fn map_count(&mut self, map: MapType) -> Result<usize, Status> {
        Ok(self.map(map)?.len())
    }

    fn map_value(&mut self, map: MapType, key: &[u8]) -> Result<Option<Vec<u8>>, Status> {
        Ok(self
            .map(map)?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone()))
    }

    fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        self.map(map)?.push((key.to_vec(), value.to_vec()));
        Ok(())
    }

    fn map_replace(&mut self, map: MapType, key: &[u8], value: &[u8]) -> Result<(), Status> {
        self.map_remove(map, key)?;
        self.map_add(map, key, value)
    }

    fn map_remove(&mut self, map: MapType, key: &[u8]) -> Result<(), Status> {
        self.map(map)?.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        Ok(())
    }
}

/// Every host function a plugin can import: (module, name, i32 parameters, i64 parameter positions). Functions whose only job is to end the guest
/// (`proc_exit`), that take no argument, or that take no pointer and accept any number
/// (`proxy_set_tick_period_milliseconds`: a u32 of milliseconds) are left out.
pub const HOST_FUNCTIONS: &[(&str, &str, usize, &[usize])] = &[
    ("env", "proxy_set_effective_context", 1, &[]),
    ("env", "proxy_log", 3, &[]),
    ("env", "proxy_get_log_level", 1, &[]),
    ("env", "proxy_get_current_time_nanoseconds", 1, &[]),
    ("env", "proxy_get_buffer_bytes", 5, &[]),
    ("env", "proxy_set_buffer_bytes", 5, &[]),
    ("env", "proxy_get_buffer_status", 3, &[]),
    ("env", "proxy_get_configuration", 2, &[]),
    ("env", "proxy_get_header_map_pairs", 3, &[]),
    ("env", "proxy_get_header_map_size", 2, &[]),
    ("env", "proxy_set_header_map_pairs", 3, &[]),
    ("env", "proxy_get_header_map_value", 5, &[]),
    ("env", "proxy_add_header_map_value", 5, &[]),
    ("env", "proxy_replace_header_map_value", 5, &[]),
    ("env", "proxy_remove_header_map_value", 3, &[]),
    ("env", "proxy_get_property", 4, &[]),
    ("env", "proxy_set_property", 4, &[]),
    ("env", "proxy_send_local_response", 8, &[]),
    ("env", "proxy_send_http_response", 8, &[]),
    ("env", "proxy_continue_stream", 1, &[]),
    ("env", "proxy_close_stream", 1, &[]),
    ("env", "proxy_get_status", 3, &[]),
    ("env", "proxy_http_call", 10, &[]),
    ("env", "proxy_dispatch_http_call", 10, &[]),
    ("env", "proxy_grpc_call", 12, &[]),
    ("env", "proxy_grpc_stream", 9, &[]),
    ("env", "proxy_grpc_send", 4, &[]),
    ("env", "proxy_grpc_cancel", 1, &[]),
    ("env", "proxy_grpc_close", 1, &[]),
    ("env", "proxy_get_shared_data", 5, &[]),
    ("env", "proxy_set_shared_data", 5, &[]),
    ("env", "proxy_register_shared_queue", 3, &[]),
    ("env", "proxy_resolve_shared_queue", 5, &[]),
    ("env", "proxy_enqueue_shared_queue", 3, &[]),
    ("env", "proxy_dequeue_shared_queue", 3, &[]),
    ("env", "proxy_define_metric", 4, &[]),
    ("env", "proxy_increment_metric", 2, &[1]),
    ("env", "proxy_record_metric", 2, &[1]),
    ("env", "proxy_get_metric", 2, &[]),
    ("env", "proxy_call_foreign_function", 6, &[]),
    ("wasi_snapshot_preview1", "fd_write", 4, &[]),
    ("wasi_snapshot_preview1", "fd_read", 4, &[]),
    ("wasi_snapshot_preview1", "fd_close", 1, &[]),
    ("wasi_snapshot_preview1", "fd_seek", 4, &[1]),
    ("wasi_snapshot_preview1", "fd_fdstat_get", 2, &[]),
    ("wasi_snapshot_preview1", "fd_fdstat_set_flags", 2, &[]),
    ("wasi_snapshot_preview1", "fd_prestat_get", 2, &[]),
    ("wasi_snapshot_preview1", "fd_prestat_dir_name", 3, &[]),
    ("wasi_snapshot_preview1", "path_open", 9, &[5, 6]),
    ("wasi_snapshot_preview1", "path_filestat_get", 5, &[]),
    ("wasi_snapshot_preview1", "environ_sizes_get", 2, &[]),
    ("wasi_snapshot_preview1", "args_sizes_get", 2, &[]),
    ("wasi_snapshot_preview1", "clock_time_get", 3, &[1]),
    ("wasi_snapshot_preview1", "clock_res_get", 2, &[]),
    ("wasi_snapshot_preview1", "random_get", 2, &[]),
    ("wasi_snapshot_preview1", "poll_oneoff", 4, &[]),
];

/// xorshift64*: a small deterministic generator for the fuzz loops, so a failure is reproducible from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Up to `max` random bytes.
    pub fn bytes(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}
