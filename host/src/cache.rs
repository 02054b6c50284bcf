//! Compiled modules by content. Loading the same bytes again (an nginx reload, which the master survives; the
//! same file declared in nginx.conf and loaded from Lua) reuses the compiled code instead of compiling it again:
//! reloads do not pay for compilation, and a worker that loads a plugin the master compiled shares its code.
//!
//! An entry lives while a plugin uses it; entries no plugin uses any more are dropped when new bytes are
//! compiled. Failed compilations are not kept (their errors are reported on every load).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::Module;

use crate::error::Error;
use crate::types::AbiVersion;

/// A compiled module and the ABI version it declares.
pub(crate) struct Compiled {
    pub module: Module,
    pub abi: AbiVersion,
}

struct Entry {
    key: u64,
    bytes: Box<[u8]>,
    compiled: Arc<Compiled>,
}

static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static COMPILATIONS: AtomicU64 = AtomicU64::new(0);

/// How many modules this process compiled (cache misses), for tests.
#[doc(hidden)]
pub fn compilations() -> u64 {
    COMPILATIONS.load(Ordering::Relaxed)
}

fn key(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The compiled form of `bytes`: from the cache, or compiled now (outside the lock) and kept.
pub(crate) fn compile(bytes: &[u8]) -> Result<Arc<Compiled>, Error> {
    let key = key(bytes);
    let lookup = |cache: &[Entry]| {
        cache
            .iter()
            .find(|e| e.key == key && *e.bytes == *bytes)
            .map(|e| e.compiled.clone())
    };
    if let Some(hit) = lookup(&CACHE.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(hit);
    }
    let (module, abi) = crate::vm::compile(bytes)?;
    COMPILATIONS.fetch_add(1, Ordering::Relaxed);
    let compiled = Arc::new(Compiled { module, abi });
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    // Another thread may have compiled the same bytes meanwhile: keep one.
    if let Some(hit) = lookup(&cache) {
        return Ok(hit);
    }
    cache.retain(|e| Arc::strong_count(&e.compiled) > 1);
    cache.push(Entry {
        key,
        bytes: bytes.into(),
        compiled: compiled.clone(),
    });
    Ok(compiled)
}
