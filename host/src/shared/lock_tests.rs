//! The region's lock between threads and processes, and what a lock owner that dies leaves behind: threads
//! excluded from each other, a lock given up by a thread that exits or panics, a lock held by a process
//! killed with SIGKILL, and a writer killed before each of its writes to the region in turn (the region
//! repaired by the next locker shows every operation either done or not, and leaks nothing).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::region::{Region, WRITES_BEFORE_KILL};
use super::{create, kv, metrics, queue, MetricType, SharedError};

fn leaked(size: usize) -> &'static Region {
    Box::leak(Box::new(create(size).unwrap()))
}

/// A forked child process, killed (SIGKILL) and reaped when dropped unless waited for.
struct Child(libc::pid_t);

impl Child {
    /// Fork; the child runs `f` and exits with its code (101 if it panics), without unwinding into the
    /// test harness.
    fn spawn(f: impl FnOnce() -> i32) -> Child {
        // SAFETY: the child only runs `f` (region operations: memory, locks, malloc) and `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            // SAFETY: leave the forked test process at once, running no exit handlers.
            unsafe { libc::_exit(code) };
        }
        Child(pid)
    }

    fn kill(&self) {
        // SAFETY: signalling our own child, which we have not reaped yet.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }

    /// Wait for the child to end; its wait status.
    fn wait(mut self) -> i32 {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let rc = unsafe { libc::waitpid(self.0, &mut status, 0) };
        assert_eq!(rc, self.0, "waitpid: {}", std::io::Error::last_os_error());
        self.0 = 0;
        status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.0 > 0 {
            self.kill();
            let mut status = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(self.0, &mut status, 0) };
        }
    }
}

fn killed(status: i32) -> bool {
    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL
}

fn exited_ok(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Whether another thread gets the lock within `limit` (a lock that is never released fails, not hangs).
fn lock_within(r: &'static Region, limit: Duration) -> bool {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let locked = r.lock().is_ok();
        let _ = tx.send(locked);
    });
    rx.recv_timeout(limit) == Ok(true)
}

#[test]
fn threads_exclude_each_other() {
    let r = leaked(1 << 20);
    let inside = AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..2000 {
                    let g = r.lock().unwrap();
                    assert_eq!(
                        inside.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two threads inside"
                    );
                    // A read-modify-write that only the lock makes exact.
                    let n = kv::get(&g, b"n")
                        .unwrap()
                        .map_or(0, |(v, _)| u64::from_le_bytes(v.try_into().unwrap()));
                    std::hint::spin_loop();
                    kv::set(&g, b"n", &(n + 1).to_le_bytes(), 0).unwrap();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    let v = kv::get(r, b"n").unwrap().unwrap().0;
    assert_eq!(u64::from_le_bytes(v.try_into().unwrap()), 8000);
    assert_eq!(r.recoveries(), 0);
}

#[test]
fn a_thread_locking_twice_gets_an_error() {
    let r = leaked(1 << 20);
    let g = r.lock().unwrap();
    assert_eq!(r.lock().err(), Some(SharedError::Corrupt));
    // Another thread waits instead.
    assert!(!lock_within(r, Duration::from_millis(100)));
    drop(g);
    assert!(lock_within(r, Duration::from_secs(5)));
    r.lock().unwrap();
}

#[test]
fn a_thread_that_exits_or_panics_holding_the_lock_does_not_keep_it() {
    let r = leaked(1 << 20);
    kv::set(r, b"k", b"v", 0).unwrap();
    std::thread::spawn(move || std::mem::forget(r.lock().unwrap()))
        .join()
        .unwrap();
    assert!(
        lock_within(r, Duration::from_secs(5)),
        "lock kept by an exited thread"
    );
    assert_eq!(r.recoveries(), 1);
    assert_eq!(kv::get(r, b"k").unwrap().unwrap().0, b"v");

    // A panic unwinds through the guard, which unlocks: nothing to recover.
    let panicked = std::thread::spawn(move || {
        let _g = r.lock().unwrap();
        panic!("panic holding the region's lock (expected by this test)");
    })
    .join();
    assert!(panicked.is_err());
    assert!(
        lock_within(r, Duration::from_secs(5)),
        "lock kept by a panicked thread"
    );
    assert_eq!(r.recoveries(), 1);
}

#[test]
fn a_process_killed_holding_the_lock_does_not_keep_it() {
    let r = leaked(1 << 20);
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let child = Child::spawn(|| {
        let Ok(g) = r.lock() else { return 1 };
        kv::set(&g, b"by", b"child", 0).unwrap();
        // SAFETY: writing one byte from a local to our pipe.
        unsafe { libc::write(fds[1], b"L".as_ptr().cast(), 1) };
        loop {
            // SAFETY: pause has no preconditions; the parent kills us here, holding the lock.
            unsafe { libc::pause() };
        }
    });
    let mut byte = 0u8;
    // SAFETY: closing our copy of the write end, then reading one byte into a local.
    let n = unsafe {
        libc::close(fds[1]);
        libc::read(fds[0], (&mut byte as *mut u8).cast(), 1)
    };
    assert_eq!((n, byte), (1, b'L'), "the child did not take the lock");
    // SAFETY: our read end, no longer used.
    unsafe { libc::close(fds[0]) };

    // A thread of this process waits for the lock while the child holds it...
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let locked = r.lock().is_ok();
        let _ = tx.send((locked, Instant::now()));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "the lock did not exclude the child"
    );
    // ... and gets it soon after the child is killed.
    let killed_at = Instant::now();
    child.kill();
    let (locked, at) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("lock not taken over");
    assert!(locked);
    assert!(
        at - killed_at < Duration::from_secs(1),
        "{:?}",
        at - killed_at
    );
    assert!(killed(child.wait()));
    assert_eq!(r.recoveries(), 1);
    assert_eq!(kv::get(r, b"by").unwrap().unwrap().0, b"child");
    assert!(lock_within(r, Duration::from_secs(5)));
}

const BIG: [u8; 3000] = [b'2'; 3000];

fn seed(r: &Region) {
    kv::set(r, b"k1", b"one", 0).unwrap();
    kv::set(r, b"k2", b"two", 0).unwrap();
    kv::set(r, b"k3", b"three", 0).unwrap();
    let q = queue::register(r, b"q").unwrap();
    for item in [b"i1", b"i2", b"i3"] {
        queue::enqueue(r, q, item).unwrap();
    }
    metrics::define(r, MetricType::Counter, b"m1").unwrap();
}

/// Nine operations, each under the lock as the host runs them.
fn script(r: &Region) -> Result<(), SharedError> {
    let op = |f: &dyn Fn(&Region) -> Result<(), SharedError>| {
        let g = r.lock()?;
        f(&g)
    };
    op(&|g| kv::set(g, b"k1", b"ONE", 0))?; // the same size
    op(&|g| kv::set(g, b"k2", &BIG, 0))?; // a larger block
    op(&|g| kv::set(g, b"new", b"fresh", 0))?;
    op(&|g| kv::delete(g, b"k3").map(|_| ()))?;
    let q = r
        .lock()
        .and_then(|g| queue::resolve(&g, b"q"))?
        .ok_or(SharedError::NotFound)?;
    op(&|g| queue::enqueue(g, q, b"x"))?;
    op(&|g| match queue::dequeue(g, q)? {
        Some(item) if item == b"i1" => Ok(()),
        _ => Err(SharedError::Corrupt),
    })?;
    op(&|g| metrics::define(g, MetricType::Counter, b"m2").map(|_| ()))?;
    let q2 = r.lock().and_then(|g| queue::register(&g, b"q2"))?;
    op(&|g| queue::enqueue(g, q2, b"y"))
}

fn drain(r: &Region, q: u32) -> Vec<Vec<u8>> {
    let (count, _) = queue::state(r, q).unwrap();
    let items: Vec<_> = std::iter::from_fn(|| queue::dequeue(r, q).unwrap()).collect();
    assert_eq!(count as usize, items.len(), "queue count");
    items
}

/// Check a region the script was killed in (and recovered): each operation done or not, in order, and
/// nothing leaked. Returns how many operations were done.
fn verify(r: &Region) -> usize {
    let get = |k: &[u8]| kv::get(r, k).unwrap().map(|(v, _)| v);
    let mut done = Vec::new();
    let mut either =
        |what: &str, value: Option<Vec<u8>>, before: Option<&[u8]>, after: Option<&[u8]>| {
            let value = value.as_deref();
            assert!(value == before || value == after, "{what}: {value:?}");
            done.push(value == after);
        };
    either("k1", get(b"k1"), Some(b"one"), Some(b"ONE"));
    either("k2", get(b"k2"), Some(b"two"), Some(&BIG));
    either("new", get(b"new"), None, Some(b"fresh"));
    either("k3", get(b"k3"), Some(b"three"), None);
    let q = queue::resolve(r, b"q").unwrap().unwrap();
    let items = drain(r, q);
    let items: Vec<&[u8]> = items.iter().map(|i| i.as_slice()).collect();
    match items.as_slice() {
        [b"i1", b"i2", b"i3"] => done.extend([false, false]),
        [b"i1", b"i2", b"i3", b"x"] => done.extend([true, false]),
        [b"i2", b"i3", b"x"] => done.extend([true, true]),
        other => panic!("queue q holds {other:?}"),
    }
    let m2 = metrics::all(r).unwrap().iter().any(|m| m.name == b"m2");
    done.push(m2);
    let q2 = queue::resolve(r, b"q2").unwrap();
    done.push(q2.is_some());
    let y = q2.map(|q2| drain(r, q2)).unwrap_or_default();
    assert!(y.is_empty() || y == [b"y"], "queue q2 holds {y:?}");
    done.push(!y.is_empty());
    let n = done.iter().take_while(|d| **d).count();
    assert!(
        done[n..].iter().all(|d| !d),
        "operations done out of order: {done:?}"
    );

    // Nothing leaked: without the keys, the region uses what a fresh one with the same queues and metrics
    // uses.
    for k in [&b"k1"[..], b"k2", b"k3", b"new"] {
        kv::delete(r, k).unwrap();
    }
    let fresh = create(1 << 20).unwrap();
    queue::register(&fresh, b"q").unwrap();
    metrics::define(&fresh, MetricType::Counter, b"m1").unwrap();
    if m2 {
        metrics::define(&fresh, MetricType::Counter, b"m2").unwrap();
    }
    if q2.is_some() {
        queue::register(&fresh, b"q2").unwrap();
    }
    assert_eq!(
        r.usage().0,
        fresh.usage().0,
        "bytes in use after {n} operations"
    );

    // And it still works.
    kv::set(r, b"after", b"ok", 0).unwrap();
    assert_eq!(get(b"after").unwrap(), b"ok");
    queue::enqueue(r, q, b"z").unwrap();
    assert_eq!(drain(r, q), [b"z"]);
    n
}

/// Fork a child that runs the script and is killed before its `n`th write to the region (or finishes).
fn run_killed(r: &Region, n: u32) -> bool {
    let status = Child::spawn(|| {
        WRITES_BEFORE_KILL.store(n, Ordering::Relaxed);
        i32::from(script(r).is_err())
    })
    .wait();
    assert!(
        killed(status) || exited_ok(status),
        "child status {status:#x}"
    );
    killed(status)
}

#[test]
fn a_writer_killed_before_any_of_its_writes_leaves_a_usable_region() {
    let mut seen = Vec::new();
    for n in 1.. {
        let r = create(1 << 20).unwrap();
        seed(&r);
        let was_killed = run_killed(&r, n);
        drop(r.lock().unwrap());
        assert_eq!(r.recoveries(), u32::from(was_killed), "write {n}");
        seen.push(verify(&r));
        if !was_killed {
            assert_eq!(*seen.last().unwrap(), 9);
            break;
        }
        assert!(n < 10_000);
    }
    // Every operation was cut short somewhere.
    assert!(seen.len() > 40, "{} writes", seen.len());
    for ops in 0..9 {
        assert!(
            seen.contains(&ops),
            "never killed after {ops} operations: {seen:?}"
        );
    }
}

#[test]
fn a_repair_cut_short_is_done_again() {
    for n in [3, 11, 25, 40, 47, 60] {
        for m in 1.. {
            let r = create(1 << 20).unwrap();
            seed(&r);
            if !run_killed(&r, n) {
                break;
            }
            // A second process takes the lock over and is killed during the repair.
            let status = Child::spawn(|| {
                WRITES_BEFORE_KILL.store(m, Ordering::Relaxed);
                i32::from(r.lock().is_err())
            })
            .wait();
            assert!(
                killed(status) || exited_ok(status),
                "child status {status:#x}"
            );
            drop(r.lock().unwrap());
            assert!(r.recoveries() >= 1);
            verify(&r);
            if exited_ok(status) {
                assert!(m > 20, "a repair of {m} writes");
                break;
            }
        }
    }
}
