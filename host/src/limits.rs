//! Every limit the host enforces, in one place. A refusal or truncation caused by one of these logs a line.

/// Most pairs a header map may hold when a plugin sends it to the host (local response, set pairs, calls).
pub const MAX_MAP_PAIRS: usize = 1024;
/// Most bytes of an encoded header map a plugin may hand to the host.
pub const MAX_MAP_BYTES: usize = 1024 * 1024;
/// Most bytes of a local response body.
pub const MAX_LOCAL_RESPONSE_BODY: usize = 16 * 1024 * 1024;
/// Most bytes a single `proxy_log` message may carry before it is truncated.
pub const MAX_LOG_MESSAGE: usize = 8 * 1024;
/// Most bytes of a property path or value.
pub const MAX_PROPERTY_BYTES: usize = 64 * 1024;
