//! State shared by every worker of the proxy: shared data (`proxy_get/set_shared_data`), shared queues and
//! metrics, kept in one region of shared memory that the proxy creates before it forks its workers.
//!
//! The region is process-wide: `init` maps it (in nginx's master, at configuration time); a process that never
//! called `init` gets a private region of the default size on first use (unit tests, single-process use).

mod kv;
mod metrics;
mod queue;
mod region;

use std::fmt;
use std::sync::OnceLock;

pub use metrics::{prometheus_text, MetricType, MetricValue, HISTOGRAM_BOUNDS};
use region::Region;

use crate::limits::{
    DEFAULT_SHARED_MEMORY, MAX_METRICS, MAX_SHARED_KEY, MAX_SHARED_MEMORY, MIN_SHARED_MEMORY,
};

/// Why a shared-memory operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedError {
    /// No such key, queue or metric.
    NotFound,
    /// The entry changed since the cas the caller holds.
    CasMismatch,
    /// The shared memory (or a table in it) is full.
    Full,
    /// A key, name or value larger than the limits allow.
    TooLarge,
    /// An argument the operation does not take (a metric type, a counter decrement, ...).
    BadArgument,
    /// The region is inconsistent (a worker was killed while writing it).
    Corrupt,
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SharedError::NotFound => "not found",
            SharedError::CasMismatch => "cas mismatch",
            SharedError::Full => "the shared memory is full",
            SharedError::TooLarge => "too large",
            SharedError::BadArgument => "bad argument",
            SharedError::Corrupt => "the shared memory is corrupt",
        })
    }
}

static REGION: OnceLock<Region> = OnceLock::new();

fn create(size: usize) -> Result<Region, String> {
    Region::create(size, MAX_METRICS, metrics::SLOT_SIZE)
}

/// Map the shared memory with `size` bytes. Call it once, before forking; a later call with another size
/// keeps the first region (its data stays) and says so.
pub fn init(size: usize) -> Result<(), String> {
    if !(MIN_SHARED_MEMORY..=MAX_SHARED_MEMORY).contains(&size) {
        return Err(format!(
            "shared memory size {size} is outside {MIN_SHARED_MEMORY}..={MAX_SHARED_MEMORY} bytes"
        ));
    }
    if let Some(r) = REGION.get() {
        return if r.len() == size {
            Ok(())
        } else {
            Err(format!(
                "the shared memory keeps its size of {} bytes until nginx restarts",
                r.len()
            ))
        };
    }
    let r = create(size)?;
    let _ = REGION.set(r);
    Ok(())
}

fn region() -> Result<&'static Region, SharedError> {
    if let Some(r) = REGION.get() {
        return Ok(r);
    }
    let r = create(DEFAULT_SHARED_MEMORY).map_err(|_| SharedError::Full)?;
    let _ = REGION.set(r);
    REGION.get().ok_or(SharedError::Corrupt)
}

/// Run `f` under the region's lock.
fn locked<T>(f: impl FnOnce(&Region) -> Result<T, SharedError>) -> Result<T, SharedError> {
    let guard = region()?.lock()?;
    f(&guard)
}

/// Make the region consistent again after a thread or process died holding its lock (`Region::lock` calls
/// it, under the lock, before it makes the lock usable again): keep every whole structure reachable from the
/// header, cut links to anything else, recount, and return every block nothing reaches to the free lists.
fn repair(r: &Region) -> Result<(), SharedError> {
    let mut blocks = r.blocks()?;
    kv::repair(r, &mut blocks)?;
    queue::repair(r, &mut blocks)?;
    metrics::repair(r, &mut blocks)?;
    r.rebuild_free_lists(&blocks)
}

fn check_key(key: &[u8]) -> Result<(), SharedError> {
    if key.len() > MAX_SHARED_KEY {
        return Err(SharedError::TooLarge);
    }
    Ok(())
}

/// A value and its cas, or `None` when the key is absent.
pub fn get_data(key: &[u8]) -> Result<Option<(Vec<u8>, u32)>, SharedError> {
    check_key(key)?;
    locked(|r| kv::get(r, key))
}

/// Store a value. With `cas != 0` the key's current cas must be `cas` (an absent key is always written).
pub fn set_data(key: &[u8], value: &[u8], cas: u32) -> Result<(), SharedError> {
    check_key(key)?;
    locked(|r| kv::set(r, key, value, cas))
}

/// Remove a key (from Lua; the ABI has no delete). `false` when it was absent.
pub fn delete_data(key: &[u8]) -> Result<bool, SharedError> {
    check_key(key)?;
    locked(|r| kv::delete(r, key))
}

/// The token of queue `name`, created when absent.
pub fn register_queue(name: &[u8]) -> Result<u32, SharedError> {
    check_key(name)?;
    locked(|r| queue::register(r, name))
}

pub fn resolve_queue(name: &[u8]) -> Result<Option<u32>, SharedError> {
    check_key(name)?;
    locked(|r| queue::resolve(r, name))
}

pub fn enqueue(id: u32, data: &[u8]) -> Result<(), SharedError> {
    locked(|r| queue::enqueue(r, id, data))
}

/// The oldest item of queue `id`; `None` when it is empty.
pub fn dequeue(id: u32) -> Result<Option<Vec<u8>>, SharedError> {
    locked(|r| queue::dequeue(r, id))
}

/// Items waiting in queue `id`, and how many were ever enqueued (wrapping).
pub fn queue_state(id: u32) -> Result<(u32, u32), SharedError> {
    locked(|r| queue::state(r, id))
}

pub fn define_metric(kind: MetricType, name: &[u8]) -> Result<u32, SharedError> {
    locked(|r| metrics::define(r, kind, name))
}

pub fn increment_metric(id: u32, offset: i64) -> Result<(), SharedError> {
    metrics::increment(region()?, id, offset)
}

pub fn record_metric(id: u32, value: u64) -> Result<(), SharedError> {
    metrics::record(region()?, id, value)
}

pub fn get_metric(id: u32) -> Result<i64, SharedError> {
    metrics::get(region()?, id)
}

/// Every metric defined so far, in definition-slot order.
pub fn metrics() -> Result<Vec<MetricValue>, SharedError> {
    locked(metrics::all)
}

/// Bytes in use by shared data and queue items, and bytes available to them in total.
pub fn usage() -> (u32, u32) {
    region().map(|r| r.usage()).unwrap_or((0, 0))
}

#[cfg(test)]
mod lock_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn region(size: usize) -> Region {
        create(size).unwrap()
    }

    #[test]
    fn data_cas_follows_envoy() {
        let r = region(1 << 20);
        assert_eq!(kv::get(&r, b"k").unwrap(), None);
        kv::set(&r, b"k", b"v1", 77).unwrap(); // absent key: cas ignored
        let (v, cas) = kv::get(&r, b"k").unwrap().unwrap();
        assert_eq!((v.as_slice(), cas != 0), (&b"v1"[..], true));
        assert_eq!(
            kv::set(&r, b"k", b"v2", cas + 1),
            Err(SharedError::CasMismatch)
        );
        kv::set(&r, b"k", b"v2", cas).unwrap();
        let (v, cas2) = kv::get(&r, b"k").unwrap().unwrap();
        assert_eq!(v, b"v2");
        assert_ne!(cas, cas2);
        kv::set(&r, b"k", &[7u8; 5000], 0).unwrap(); // grows into a larger block
        assert_eq!(kv::get(&r, b"k").unwrap().unwrap().0, vec![7u8; 5000]);
        assert!(kv::delete(&r, b"k").unwrap());
        assert_eq!(kv::get(&r, b"k").unwrap(), None);
    }

    #[test]
    fn many_keys_and_full() {
        let r = region(MIN_SHARED_MEMORY);
        let mut stored = 0;
        let err = loop {
            let key = format!("key-{stored}");
            match kv::set(&r, key.as_bytes(), &[1u8; 200], 0) {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, SharedError::Full);
        assert!(stored > 100, "{stored}");
        for i in 0..stored {
            let key = format!("key-{i}");
            assert_eq!(kv::get(&r, key.as_bytes()).unwrap().unwrap().0.len(), 200);
        }
        // Freed blocks are reused.
        for i in 0..stored {
            assert!(kv::delete(&r, format!("key-{i}").as_bytes()).unwrap());
        }
        kv::set(&r, b"again", &[1u8; 200], 0).unwrap();
        assert_eq!(r.usage().0, 256);
    }

    #[test]
    fn queues_are_fifo_and_named() {
        let r = region(1 << 20);
        let a = queue::register(&r, b"a").unwrap();
        let b = queue::register(&r, b"b").unwrap();
        assert_ne!(a, b);
        assert_eq!(queue::register(&r, b"a").unwrap(), a);
        assert_eq!(queue::resolve(&r, b"b").unwrap(), Some(b));
        assert_eq!(queue::resolve(&r, b"c").unwrap(), None);
        assert_eq!(queue::enqueue(&r, 999, b"x"), Err(SharedError::NotFound));
        assert_eq!(queue::dequeue(&r, a).unwrap(), None);
        for i in 0..100u32 {
            queue::enqueue(&r, a, &i.to_le_bytes()).unwrap();
        }
        assert_eq!(queue::state(&r, a).unwrap(), (100, 100));
        for i in 0..100u32 {
            assert_eq!(queue::dequeue(&r, a).unwrap().unwrap(), i.to_le_bytes());
        }
        assert_eq!(queue::dequeue(&r, a).unwrap(), None);
        assert_eq!(queue::state(&r, a).unwrap(), (0, 100));
    }

    #[test]
    fn metrics_follow_envoy() {
        let r = region(1 << 20);
        let c = metrics::define(&r, MetricType::Counter, b"requests").unwrap();
        let g = metrics::define(&r, MetricType::Gauge, b"inflight").unwrap();
        let h = metrics::define(&r, MetricType::Histogram, b"latency").unwrap();
        assert_eq!(
            metrics::define(&r, MetricType::Counter, b"requests").unwrap(),
            c
        );
        // Names are per type: a gauge of the same name is a metric of its own.
        let same_name = metrics::define(&r, MetricType::Gauge, b"requests").unwrap();
        assert_ne!(same_name, c);
        assert_eq!(
            metrics::define(&r, MetricType::Gauge, b"requests").unwrap(),
            same_name
        );
        metrics::increment(&r, c, 2).unwrap();
        metrics::record(&r, c, 3).unwrap();
        assert_eq!(metrics::increment(&r, c, -1), Err(SharedError::BadArgument));
        assert_eq!(metrics::get(&r, c).unwrap(), 5);
        metrics::increment(&r, g, -4).unwrap();
        assert_eq!(metrics::get(&r, g).unwrap(), -4);
        metrics::record(&r, g, 9).unwrap();
        assert_eq!(metrics::get(&r, g).unwrap(), 9);
        for v in [1, 7, 20000] {
            metrics::record(&r, h, v).unwrap();
        }
        assert_eq!(metrics::get(&r, h), Err(SharedError::BadArgument));
        assert_eq!(metrics::get(&r, c ^ 1), Err(SharedError::NotFound));
        assert_eq!(
            metrics::get(&r, 4 * (MAX_METRICS + 5)),
            Err(SharedError::NotFound)
        );
        let text = prometheus_text(&metrics::all(&r).unwrap());
        assert!(
            text.contains("# TYPE requests counter\nrequests 5\n"),
            "{text}"
        );
        assert!(text.contains("inflight 9\n"), "{text}");
        assert!(text.contains("latency_bucket{le=\"1\"} 1\n"), "{text}");
        assert!(text.contains("latency_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(
            text.contains("latency_bucket{le=\"+Inf\"} 3\nlatency_sum 20008\nlatency_count 3\n"),
            "{text}"
        );
    }

    #[test]
    fn workers_share_one_region() {
        // Two forked processes add to one counter and one shared-data value under CAS.
        let r = region(1 << 20);
        let c = metrics::define(&r, MetricType::Counter, b"n").unwrap();
        let mut children = Vec::new();
        for _ in 0..2 {
            // SAFETY: the child only touches the region and exits without unwinding.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                for _ in 0..1000 {
                    metrics::increment(&r, c, 1).unwrap();
                    loop {
                        let g = r.lock().unwrap();
                        let (n, cas) = kv::get(&g, b"n")
                            .unwrap()
                            .map(|(v, cas)| (u32::from_le_bytes(v.try_into().unwrap()), cas))
                            .unwrap_or((0, 0));
                        if kv::set(&g, b"n", &(n + 1).to_le_bytes(), cas).is_ok() {
                            break;
                        }
                    }
                }
                // SAFETY: leave the forked test process at once.
                unsafe { libc::_exit(0) };
            }
            children.push(pid);
        }
        for pid in children {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(status, 0);
        }
        assert_eq!(metrics::get(&r, c).unwrap(), 2000);
        let v = kv::get(&r, b"n").unwrap().unwrap().0;
        assert_eq!(u32::from_le_bytes(v.try_into().unwrap()), 2000);
    }

    #[test]
    fn corrupt_offsets_are_errors() {
        let r = region(1 << 20);
        kv::set(&r, b"k", b"v", 0).unwrap();
        // Point every bucket at garbage.
        let buckets = r.get(region::H_BUCKETS).unwrap();
        let n = r.get(region::H_NBUCKETS).unwrap();
        for i in 0..n {
            r.set(buckets + 4 * i, 0xFFFF_FFF0).unwrap();
        }
        assert_eq!(kv::get(&r, b"k"), Err(SharedError::Corrupt));
        assert_eq!(kv::set(&r, b"x", b"y", 0), Err(SharedError::Corrupt));
    }
}
