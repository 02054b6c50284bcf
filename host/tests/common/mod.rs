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
