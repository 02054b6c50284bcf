//! Compiling a plugin, and compiled plugins by content. Compiling checks the file (WebAssembly, a Proxy-Wasm ABI
//! version export), compiles it and links its imports against the process's linker once: the result, an
//! `InstancePre` with the ABI version, is what every instance of every plugin loaded from those bytes is made
//! from (a fresh instance after a trap, a worker's own instance, an instance replacing a recycled one).
//!
//! Loading the same bytes again (an nginx reload, which the master survives; the same file declared in
//! nginx.conf and loaded from Lua) reuses the compiled code instead of compiling it again: reloads do not pay
//! for compilation, and a worker that loads a plugin the master compiled shares its code. An entry lives while
//! a plugin uses it; entries no plugin uses any more are dropped when new bytes are compiled. Failed
//! compilations (including imports the host does not offer) are not kept: their errors are reported on every
//! load.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::InstancePre;

use crate::engine::engine;
use crate::error::Error;
use crate::types::AbiVersion;
use crate::vm::HostState;

/// A compiled module, linked (its imports resolved and type-checked), and the ABI version it declares.
pub(crate) struct Compiled {
    pub pre: InstancePre<HostState>,
    pub abi: AbiVersion,
    /// The unknown `env.proxy_*` imports linked as stubs answering `Unimplemented` (`abi/stubs.rs`).
    pub stubbed: Vec<String>,
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

/// The compiled form of `bytes`: from the cache, or compiled now (outside the lock, or read from the disk cache)
/// and kept; `note` receives the disk cache's lines to log.
pub(crate) fn compile(bytes: &[u8], note: &mut dyn FnMut(String)) -> Result<Arc<Compiled>, Error> {
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
    let compiled = Arc::new(compile_now(bytes, note)?);
    COMPILATIONS.fetch_add(1, Ordering::Relaxed);
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

/// Compile and link a plugin. Fails with a message naming what is wrong with the file.
fn compile_now(bytes: &[u8], note: &mut dyn FnMut(String)) -> Result<Compiled, Error> {
    if !bytes.starts_with(b"\0asm") && !bytes.starts_with(b"(module") {
        return Err(Error::Load("not a WebAssembly module".into()));
    }
    let module = crate::disk_cache::module(engine(), bytes, note)
        .map_err(|e| Error::Load(format!("{e:#}")))?;
    let abi = module
        .exports()
        .filter_map(|e| AbiVersion::from_export(e.name()))
        .max()
        .ok_or_else(|| {
            Error::Load(
                "no proxy_abi_version_0_1_0/0_2_0/0_2_1 export: not a Proxy-Wasm plugin".into(),
            )
        })?;
    let (pre, stubbed) =
        crate::abi::stubs::link(&module).map_err(|e| Error::Load(format!("{e:#}")))?;
    Ok(Compiled { pre, abi, stubbed })
}
