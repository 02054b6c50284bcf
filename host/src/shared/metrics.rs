//! Metrics: counters, gauges and histograms defined by plugins, kept in a table of fixed slots in the shared
//! region so every worker adds to the same values (atomically, without the lock).
//!
//! Ids carry the metric type in their low two bits, as Envoy's do; defining a name again returns its id.

use std::sync::atomic::Ordering;

use super::region::{Blocks, Region, Tag, H_METRICS};
use super::SharedError;
use crate::limits::{MAX_METRICS, MAX_METRIC_NAME};

/// `proxy_metric_type_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

impl MetricType {
    pub fn from_i32(v: i32) -> Option<MetricType> {
        Some(match v {
            0 => MetricType::Counter,
            1 => MetricType::Gauge,
            2 => MetricType::Histogram,
            _ => return None,
        })
    }
}

/// Upper bounds of the histogram buckets (the last bucket, `+Inf`, is implicit).
pub const HISTOGRAM_BOUNDS: [u64; 13] =
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

// Slot: kind (0 = free, else type + 1), name offset, name length, padding, then value (a histogram's count),
// sum, and one count per bucket.
const S_KIND: u32 = 0;
const S_NAME: u32 = 4;
const S_NAME_LEN: u32 = 8;
const S_VALUE: u32 = 16;
const S_SUM: u32 = 24;
const S_BUCKETS: u32 = 32;
pub(super) const SLOT_SIZE: u32 = S_BUCKETS + 8 * (HISTOGRAM_BOUNDS.len() as u32 + 1);

/// One metric as read for export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricValue {
    pub name: Vec<u8>,
    pub kind: MetricType,
    /// Counter and gauge value; a histogram's number of samples.
    pub value: i64,
    /// A histogram's sum of samples.
    pub sum: i64,
    /// A histogram's per-bucket counts (not cumulative), `HISTOGRAM_BOUNDS` then `+Inf`.
    pub buckets: Vec<i64>,
}

fn slot(r: &Region, index: u32) -> Result<u32, SharedError> {
    Ok(r.get(H_METRICS)? + index * SLOT_SIZE)
}

fn kind_of(r: &Region, s: u32) -> Result<Option<MetricType>, SharedError> {
    let k = r.atomic_u32_at(s + S_KIND)?.load(Ordering::Acquire);
    Ok(if k == 0 {
        None
    } else {
        Some(MetricType::from_i32(k as i32 - 1).ok_or(SharedError::Corrupt)?)
    })
}

fn name_of(r: &Region, s: u32) -> Result<&[u8], SharedError> {
    let off = r.get(s + S_NAME)?;
    r.check_payload(off, Tag::Name)?;
    r.bytes(off, r.get(s + S_NAME_LEN)?)
}

fn id(index: u32, kind: MetricType) -> u32 {
    ((index + 1) << 2) | kind as u32
}

/// The slot of a metric id, checked against the table and the id's type.
fn resolve(r: &Region, metric_id: u32) -> Result<(u32, MetricType), SharedError> {
    let index = (metric_id >> 2)
        .checked_sub(1)
        .ok_or(SharedError::NotFound)?;
    if index >= MAX_METRICS {
        return Err(SharedError::NotFound);
    }
    let s = slot(r, index)?;
    match kind_of(r, s)? {
        Some(kind) if kind as u32 == metric_id & 3 => Ok((s, kind)),
        _ => Err(SharedError::NotFound),
    }
}

/// Define (or look up) a metric; the caller holds the lock.
pub(super) fn define(r: &Region, kind: MetricType, name: &[u8]) -> Result<u32, SharedError> {
    if name.is_empty() || name.len() > MAX_METRIC_NAME {
        return Err(SharedError::BadArgument);
    }
    let mut free = None;
    for index in 0..MAX_METRICS {
        let s = slot(r, index)?;
        match kind_of(r, s)? {
            None => {
                free.get_or_insert(index);
            }
            // Names are per metric type, as in Envoy and api7: a counter and a histogram may share one.
            Some(k) if k == kind && name_of(r, s)? == name => return Ok(id(index, k)),
            Some(_) => {}
        }
    }
    let index = free.ok_or(SharedError::Full)?;
    let s = slot(r, index)?;
    let off = r.alloc(name.len() as u32, Tag::Name)?;
    r.write(off, name)?;
    r.set(s + S_NAME, off)?;
    r.set(s + S_NAME_LEN, name.len() as u32)?;
    for field in (S_VALUE..SLOT_SIZE).step_by(8) {
        r.atomic_i64(s + field)?.store(0, Ordering::Relaxed);
    }
    r.atomic_u32_at(s + S_KIND)?
        .store(kind as u32 + 1, Ordering::Release);
    Ok(id(index, kind))
}

/// Repair after a writer died holding the lock: keep the name block of every defined metric; a metric whose
/// kind or name is not whole is undefined again (defining it happens before its kind is stored, last).
pub(super) fn repair(r: &Region, blocks: &mut Blocks) -> Result<(), SharedError> {
    for index in 0..MAX_METRICS {
        let s = slot(r, index)?;
        let kind = r.atomic_u32_at(s + S_KIND)?;
        if kind.load(Ordering::Acquire) == 0 {
            continue;
        }
        let name = r.get(s + S_NAME)?;
        let len = r.get(s + S_NAME_LEN)?;
        let whole = kind_of(r, s).is_ok()
            && (1..=MAX_METRIC_NAME as u32).contains(&len)
            && blocks
                .unclaimed(r, name, Tag::Name)
                .is_some_and(|capacity| len <= capacity);
        if whole {
            blocks.claim(name);
        } else {
            kind.store(0, Ordering::Release);
        }
    }
    Ok(())
}

/// `proxy_increment_metric`: counters take positive offsets only, gauges any, histograms none.
pub(super) fn increment(r: &Region, metric_id: u32, offset: i64) -> Result<(), SharedError> {
    let (s, kind) = resolve(r, metric_id)?;
    match kind {
        MetricType::Counter if offset <= 0 => Err(SharedError::BadArgument),
        MetricType::Counter | MetricType::Gauge => {
            r.atomic_i64(s + S_VALUE)?
                .fetch_add(offset, Ordering::Relaxed);
            Ok(())
        }
        MetricType::Histogram => Err(SharedError::BadArgument),
    }
}

/// `proxy_record_metric`: a counter adds the value (as Envoy does), a gauge takes it, a histogram counts it.
pub(super) fn record(r: &Region, metric_id: u32, value: u64) -> Result<(), SharedError> {
    let (s, kind) = resolve(r, metric_id)?;
    let v = i64::try_from(value).unwrap_or(i64::MAX);
    match kind {
        MetricType::Counter => {
            r.atomic_i64(s + S_VALUE)?.fetch_add(v, Ordering::Relaxed);
        }
        MetricType::Gauge => r.atomic_i64(s + S_VALUE)?.store(v, Ordering::Relaxed),
        MetricType::Histogram => {
            let bucket = HISTOGRAM_BOUNDS
                .iter()
                .position(|b| value <= *b)
                .unwrap_or(HISTOGRAM_BOUNDS.len()) as u32;
            r.atomic_i64(s + S_BUCKETS + 8 * bucket)?
                .fetch_add(1, Ordering::Relaxed);
            r.atomic_i64(s + S_SUM)?.fetch_add(v, Ordering::Relaxed);
            r.atomic_i64(s + S_VALUE)?.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// `proxy_get_metric`: counters and gauges; a histogram has no single value.
pub(super) fn get(r: &Region, metric_id: u32) -> Result<i64, SharedError> {
    let (s, kind) = resolve(r, metric_id)?;
    if kind == MetricType::Histogram {
        return Err(SharedError::BadArgument);
    }
    Ok(r.atomic_i64(s + S_VALUE)?.load(Ordering::Relaxed))
}

/// Every defined metric; the caller holds the lock (names are only written under it).
pub(super) fn all(r: &Region) -> Result<Vec<MetricValue>, SharedError> {
    let mut out = Vec::new();
    for index in 0..MAX_METRICS {
        let s = slot(r, index)?;
        let Some(kind) = kind_of(r, s)? else {
            continue;
        };
        let load = |field: u32| -> Result<i64, SharedError> {
            Ok(r.atomic_i64(s + field)?.load(Ordering::Relaxed))
        };
        let buckets = if kind == MetricType::Histogram {
            (0..=HISTOGRAM_BOUNDS.len() as u32)
                .map(|b| load(S_BUCKETS + 8 * b))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        out.push(MetricValue {
            name: name_of(r, s)?.to_vec(),
            kind,
            value: load(S_VALUE)?,
            sum: load(S_SUM)?,
            buckets,
        });
    }
    Ok(out)
}

/// A metric name made valid for Prometheus (`[a-zA-Z_:][a-zA-Z0-9_:]*`): other bytes become `_`.
fn prometheus_name(name: &[u8]) -> String {
    let mut s: String = name
        .iter()
        .map(|b| {
            let c = *b as char;
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The metrics in the Prometheus text exposition format (version 0.0.4).
pub fn prometheus_text(metrics: &[MetricValue]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for m in metrics {
        let name = prometheus_name(&m.name);
        match m.kind {
            MetricType::Counter | MetricType::Gauge => {
                let kind = if m.kind == MetricType::Counter {
                    "counter"
                } else {
                    "gauge"
                };
                let _ = write!(out, "# TYPE {name} {kind}\n{name} {}\n", m.value);
            }
            MetricType::Histogram => {
                let _ = writeln!(out, "# TYPE {name} histogram");
                let mut cumulative = 0;
                for (i, count) in m.buckets.iter().enumerate() {
                    cumulative += count;
                    let le = HISTOGRAM_BOUNDS
                        .get(i)
                        .map_or("+Inf".to_string(), |b| b.to_string());
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                let _ = write!(out, "{name}_sum {}\n{name}_count {}\n", m.sum, m.value);
            }
        }
    }
    out
}
