//! Compiled code kept on disk across processes (nginx start, `nginx -t`, reloads), when the proxy names a
//! directory (`set_cache_dir`): wasmtime's own serialization of a compiled module, in `<dir>/<key>.cwasm`, the key
//! a SHA-256 of the engine's compatibility hash (its configuration and the wasmtime version) and the module's
//! bytes. Deserializing compiled code is unsafe in wasmtime's terms (it is run as it is): the directory must be
//! owned by this process's user and closed to everyone else (mode 0700, created so when missing), and files are
//! written with mode 0600 under a temporary name, then renamed. An entry wasmtime refuses (truncated, corrupt,
//! from another build) is a miss: compiled again, replaced, and logged once. A process that does not own the
//! directory (a worker running as another user) compiles without it.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Keep compiled code in `dir` from now on (created with mode 0700 when missing), or stop (`None`). Refuses a
/// directory another user owns or others may write or read.
pub fn set_cache_dir(dir: Option<&Path>) -> Result<(), String> {
    let mut slot = DIR.lock().unwrap_or_else(|e| e.into_inner());
    let Some(dir) = dir else {
        *slot = None;
        return Ok(());
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create \"{}\": {e}", dir.display()))?;
    }
    check(dir)?;
    *slot = Some(dir.to_path_buf());
    Ok(())
}

/// The directory is ours and closed to others.
fn check(dir: &Path) -> Result<(), String> {
    let meta = fs::metadata(dir).map_err(|e| format!("\"{}\": {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("\"{}\" is not a directory", dir.display()));
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(format!(
            "\"{}\" belongs to another user (uid {}): compiled code is only read from a directory of this user",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "\"{}\" is open to other users (mode {:o}): compiled code is only read from a directory of mode 0700",
            dir.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    Ok(())
}

/// Feeds what a `Hash` writes into SHA-256.
struct Sha(Sha256);

impl Hasher for Sha {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut h = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.write(b"\0module\0");
    h.write(bytes);
    h.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The module for `bytes`: from the directory when an entry there deserializes, else compiled (and stored).
/// `note` receives the lines to log (a replaced entry, a failed store).
pub(crate) fn module(
    engine: &Engine,
    bytes: &[u8],
    note: &mut dyn FnMut(String),
) -> wasmtime::Result<Module> {
    let dir = DIR.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(dir) = dir.filter(|d| check(d).is_ok()) else {
        return Module::new(engine, bytes);
    };
    let path = dir.join(format!("{}.cwasm", key(engine, bytes)));
    if path.exists() {
        // SAFETY: the file is in a directory only this user may write (checked above), written by this code
        // from wasmtime's own serialization; wasmtime checks its format and compatibility before use.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(module) => return Ok(module),
            Err(e) => note(format!(
                "compiled code in \"{}\" is unusable ({e}); compiling again and replacing it",
                path.display()
            )),
        }
    }
    let module = Module::new(engine, bytes)?;
    if let Err(e) = store(&dir, &path, &module) {
        note(format!(
            "cannot keep compiled code in \"{}\": {e}",
            path.display()
        ));
    }
    Ok(module)
}

fn store(dir: &Path, path: &Path, module: &Module) -> Result<(), String> {
    let code = module.serialize().map_err(|e| e.to_string())?;
    let tmp = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().map_or("", |n| n.to_str().unwrap_or(""))
    ));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| e.to_string())?;
    f.write_all(&code).map_err(|e| e.to_string())?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        e.to_string()
    })
}
