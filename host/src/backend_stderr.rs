//! The backend used before the proxy registers its own: log lines go to stderr.

use crate::backend::Backend;
use crate::types::LogLevel;

pub(crate) struct StderrBackend;

impl Backend for StderrBackend {
    fn log(&mut self, level: LogLevel, plugin: &str, message: &[u8]) {
        eprintln!(
            "[{level:?}] wasm plugin \"{plugin}\": {}",
            String::from_utf8_lossy(message)
        );
    }

    fn log_level(&self) -> LogLevel {
        LogLevel::Info
    }
}
