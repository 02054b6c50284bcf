//! Errors of the host core, typed here and mapped once at each boundary (FFI code, nginx status, log line).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The plugin could not be compiled, linked or started. The text says why.
    Load(String),
    /// The guest trapped inside `callback`; its instance is no longer used.
    Trap {
        callback: &'static str,
        message: String,
    },
    /// The guest returned normally but refused (e.g. `proxy_on_configure` returned false).
    Refused { callback: &'static str },
    /// A call was attempted on an instance that trapped earlier.
    Unusable(String),
    /// The host refused the call's arguments (bad configuration, wrong phase, ...).
    BadArgument(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(m) => write!(f, "{m}"),
            Error::Trap { callback, message } => write!(f, "{callback} trapped: {message}"),
            Error::Refused { callback } => write!(f, "{callback} returned failure"),
            Error::Unusable(m) => write!(f, "instance unusable after an earlier failure: {m}"),
            Error::BadArgument(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}
