//! nginx process control: servroot preparation, start, stop, error.log reading.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Make this process the reaper of daemonised nginx processes it starts, so that a
/// stopped nginx does not linger as a zombie of an init that does not reap.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only changes this process's attributes.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub struct Paths {
    pub servroot: PathBuf,
    pub conf: PathBuf,
    pub error_log: PathBuf,
    pub pid: PathBuf,
    pub html: PathBuf,
}

impl Paths {
    pub fn new(servroot: &Path) -> Paths {
        Paths {
            servroot: servroot.to_path_buf(),
            conf: servroot.join("conf/nginx.conf"),
            error_log: servroot.join("logs/error.log"),
            pid: servroot.join("logs/nginx.pid"),
            html: servroot.join("html"),
        }
    }
}

/// Recreate the servroot: conf/, logs/, html/ and the temp dirs.
pub fn prepare_servroot(p: &Paths) -> Result<(), String> {
    if p.servroot.exists() {
        fs::remove_dir_all(&p.servroot)
            .map_err(|e| format!("cannot remove {}: {e}", p.servroot.display()))?;
    }
    let mut dirs = vec!["conf", "logs", "html"];
    dirs.extend_from_slice(crate::conf::TEMP_DIRS);
    for d in dirs {
        let path = p.servroot.join(d);
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    }
    Ok(())
}

pub struct StartFailure {
    pub message: String,
    pub stderr: String,
}

pub enum Started {
    Running(i32),
    /// nginx exited without staying up: (exit status text, exit code, stderr)
    Died(String, Option<i32>, String),
}

/// Run `binary -p <servroot>/ -c <conf>` and wait for the pid file.
pub fn start(binary: &str, p: &Paths, env: &[(String, String)]) -> Result<Started, StartFailure> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let stderr_path = p.servroot.join("nginx.stderr");
        let stderr_file = fs::File::create(&stderr_path).map_err(|e| StartFailure {
            message: format!("cannot create {}: {e}", stderr_path.display()),
            stderr: String::new(),
        })?;
        let mut cmd = Command::new(binary);
        cmd.arg("-p")
            .arg(format!("{}/", p.servroot.display()))
            .arg("-c")
            .arg(&p.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stderr_file.try_clone().map_err(|e| {
                StartFailure {
                    message: e.to_string(),
                    stderr: String::new(),
                }
            })?))
            .stderr(Stdio::from(stderr_file));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| StartFailure {
            message: format!("cannot run `{binary}`: {e}"),
            stderr: String::new(),
        })?;
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break Some(s);
            }
            if Instant::now() > deadline + Duration::from_secs(7) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            sleep(Duration::from_millis(10));
        };
        let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
        let Some(status) = status else {
            return Err(StartFailure {
                message: format!("`{binary}` did not return within 10 s"),
                stderr,
            });
        };
        if !status.success() {
            if stderr.contains("Address already in use") && Instant::now() < deadline {
                sleep(Duration::from_millis(100));
                continue;
            }
            return Ok(Started::Died(status.to_string(), status.code(), stderr));
        }
        // wait for the pid file
        let pid = loop {
            if let Some(pid) = read_pid(&p.pid) {
                break pid;
            }
            if Instant::now() > deadline + Duration::from_secs(2) {
                return Err(StartFailure {
                    message: format!("nginx did not write {}", p.pid.display()),
                    stderr,
                });
            }
            sleep(Duration::from_millis(10));
        };
        // The listening sockets are bound before nginx daemonises, so once the pid file
        // exists connections queue in the backlog. No probe connection is made: it would
        // show up in error.log and shift the connection numbers (`*1`) suites grep for.
        if !alive(pid) {
            return Ok(Started::Died("exited after start".into(), None, stderr));
        }
        return Ok(Started::Running(pid));
    }
}

/// Stop an nginx left running in this servroot (e.g. by TEST_NGINX_NO_CLEAN).
pub fn stop_stale(p: &Paths) {
    if let Some(pid) = read_pid(&p.pid) {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if alive(pid) && String::from_utf8_lossy(&cmdline).contains("nginx") {
            stop(pid);
        }
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    let s = fs::read_to_string(path).ok()?;
    if !s.ends_with('\n') {
        return None; // still being written
    }
    s.trim().parse().ok()
}

/// Whether `pid` is a live (non-zombie) process; reaps it if it is our child.
pub fn alive(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid/kill on a pid with valid arguments.
    unsafe {
        let r = libc::waitpid(pid, &mut status, libc::WNOHANG);
        if r == pid {
            return false;
        }
        if libc::kill(pid, 0) != 0 {
            return false;
        }
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

fn wait_gone(pid: i32, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        sleep(Duration::from_millis(10));
    }
    !alive(pid)
}

/// SIGQUIT, wait up to 3 s, then SIGTERM, then SIGKILL.
pub fn stop(pid: i32) {
    stop_within(pid, Duration::from_secs(3))
}

/// SIGQUIT, wait up to `quit_wait` (Util.pm's kill_process waits `timeout()`), then SIGTERM,
/// then SIGKILL.
pub fn stop_within(pid: i32, quit_wait: Duration) {
    for (sig, wait) in [
        (libc::SIGQUIT, quit_wait),
        (libc::SIGTERM, Duration::from_secs(1)),
        (libc::SIGKILL, Duration::from_secs(1)),
    ] {
        if !alive(pid) {
            return;
        }
        // SAFETY: sending a signal to a pid we started.
        unsafe {
            libc::kill(pid, sig);
        }
        if wait_gone(pid, wait) {
            return;
        }
    }
}

pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Read `path` from byte `pos` to EOF; returns the bytes and the new position.
pub fn read_from(path: &Path, pos: u64) -> (Vec<u8>, u64) {
    let Ok(mut f) = fs::File::open(path) else {
        return (Vec::new(), pos);
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if pos > len { 0 } else { pos };
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    let end = start + buf.len() as u64;
    (buf, end)
}

/// Split log bytes into lines, each keeping its `\n`.
pub fn lines(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .split_inclusive('\n')
        .map(String::from)
        .collect()
}

/// The last `n` lines of a file (of its first `upto` bytes, if given).
pub fn tail(path: &Path, n: usize, upto: Option<u64>) -> Vec<String> {
    let (mut data, _) = read_from(path, 0);
    if let Some(u) = upto {
        data.truncate(u as usize);
    }
    let l = lines(&data);
    l[l.len().saturating_sub(n)..].to_vec()
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1984)
}
