//! Shared data: a hash table of key -> (value, cas) in the shared region.
//!
//! Semantics follow the Proxy-Wasm spec as Envoy implements it: every successful set gives the entry a new,
//! non-zero cas taken from one region-wide counter; a set with a non-zero cas succeeds only if the entry's
//! current cas is that value; a set with cas 0 always succeeds.

use super::region::{Blocks, Region, Tag, H_BUCKETS, H_CAS, H_ENTRIES, H_NBUCKETS};
use super::SharedError;

// Entry payload: next, hash, cas, key_len, value_len, then the key and the value.
const E_NEXT: u32 = 0;
const E_HASH: u32 = 4;
const E_CAS: u32 = 8;
const E_KEY_LEN: u32 = 12;
const E_VALUE_LEN: u32 = 16;
const E_DATA: u32 = 24;

pub(super) fn hash(key: &[u8]) -> u32 {
    // FNV-1a.
    key.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ *b as u32).wrapping_mul(0x0100_0193)
    })
}

/// The bucket field holding the chain of `hash`, and the entry with `key` in it (with the field that points
/// at it, for unlinking).
fn find(r: &Region, key: &[u8], h: u32) -> Result<(u32, Option<(u32, u32)>), SharedError> {
    let nbuckets = r.get(H_NBUCKETS)?;
    if nbuckets == 0 || !nbuckets.is_power_of_two() {
        return Err(SharedError::Corrupt);
    }
    let bucket = r.get(H_BUCKETS)? + 4 * (h & (nbuckets - 1));
    let mut link = bucket;
    let mut e = r.get(bucket)?;
    // A chain longer than the number of entries is a cycle left by a corrupted region.
    let mut budget = r.get(H_ENTRIES)? as u64 + 1;
    while e != 0 {
        budget = budget.checked_sub(1).ok_or(SharedError::Corrupt)?;
        r.check_payload(e, Tag::Entry)?;
        if r.get(e + E_HASH)? == h {
            let key_len = r.get(e + E_KEY_LEN)?;
            if r.bytes(e + E_DATA, key_len)? == key {
                return Ok((bucket, Some((link, e))));
            }
        }
        link = e + E_NEXT;
        e = r.get(e + E_NEXT)?;
    }
    Ok((bucket, None))
}

fn next_cas(r: &Region) -> Result<u32, SharedError> {
    let mut cas = r.get(H_CAS)?.wrapping_add(1);
    if cas == 0 {
        cas = 1;
    }
    r.set(H_CAS, cas)?;
    Ok(cas)
}

pub(super) fn get(r: &Region, key: &[u8]) -> Result<Option<(Vec<u8>, u32)>, SharedError> {
    let (_, found) = find(r, key, hash(key))?;
    let Some((_, e)) = found else {
        return Ok(None);
    };
    let key_len = r.get(e + E_KEY_LEN)?;
    let value_len = r.get(e + E_VALUE_LEN)?;
    let value = r.bytes(e + E_DATA + key_len, value_len)?.to_vec();
    Ok(Some((value, r.get(e + E_CAS)?)))
}

/// A change becomes visible with the one store that links the new entry in (or unlinks the old one), after
/// the entry is complete: a writer killed before it leaves the old value, after it the new one.
pub(super) fn set(r: &Region, key: &[u8], value: &[u8], cas: u32) -> Result<(), SharedError> {
    let h = hash(key);
    let key_len = u32::try_from(key.len()).map_err(|_| SharedError::TooLarge)?;
    let value_len = u32::try_from(value.len()).map_err(|_| SharedError::TooLarge)?;
    let need = E_DATA
        .checked_add(key_len)
        .and_then(|n| n.checked_add(value_len))
        .ok_or(SharedError::TooLarge)?;
    let (bucket, found) = find(r, key, h)?;
    if let Some((link, e)) = found {
        if cas != 0 && r.get(e + E_CAS)? != cas {
            return Err(SharedError::CasMismatch);
        }
        let fresh = match r.alloc(need, Tag::Entry) {
            Ok(fresh) => fresh,
            Err(SharedError::Full) if r.capacity(e)? >= need => {
                // No room for a copy: overwrite in place (a writer killed here can leave a torn value).
                r.write(e + E_DATA + key_len, value)?;
                r.set(e + E_VALUE_LEN, value_len)?;
                return r.set(e + E_CAS, next_cas(r)?);
            }
            Err(err) => return Err(err),
        };
        write_entry(r, fresh, h, key, value)?;
        r.set(fresh + E_NEXT, r.get(e + E_NEXT)?)?;
        r.set(fresh + E_CAS, next_cas(r)?)?;
        r.set(link, fresh)?;
        return r.free(e);
    }
    let fresh = r.alloc(need, Tag::Entry)?;
    write_entry(r, fresh, h, key, value)?;
    r.set(fresh + E_NEXT, r.get(bucket)?)?;
    r.set(fresh + E_CAS, next_cas(r)?)?;
    // Counted before it is linked: a count one too high only loosens the cycle check of `find`.
    r.set(H_ENTRIES, r.get(H_ENTRIES)? + 1)?;
    r.set(bucket, fresh)
}

fn write_entry(r: &Region, e: u32, h: u32, key: &[u8], value: &[u8]) -> Result<(), SharedError> {
    r.set(e + E_HASH, h)?;
    r.set(e + E_KEY_LEN, key.len() as u32)?;
    r.set(e + E_VALUE_LEN, value.len() as u32)?;
    r.write(e + E_DATA, key)?;
    r.write(e + E_DATA + key.len() as u32, value)
}

/// Remove `key`; `false` when it was absent.
pub(super) fn delete(r: &Region, key: &[u8]) -> Result<bool, SharedError> {
    let (_, found) = find(r, key, hash(key))?;
    let Some((link, e)) = found else {
        return Ok(false);
    };
    r.set(link, r.get(e + E_NEXT)?)?;
    r.set(H_ENTRIES, r.get(H_ENTRIES)?.saturating_sub(1))?;
    r.free(e)?;
    Ok(true)
}

/// Repair after a writer died holding the lock: keep every entry reachable from the buckets that is whole
/// (a live entry block, its key and value inside it, in the bucket of its key's hash, not reached twice),
/// cut a chain where it stops being so, and recount the entries.
pub(super) fn repair(r: &Region, blocks: &mut Blocks) -> Result<(), SharedError> {
    let nbuckets = r.get(H_NBUCKETS)?;
    if nbuckets == 0 || !nbuckets.is_power_of_two() {
        return Err(SharedError::Corrupt);
    }
    let buckets = r.get(H_BUCKETS)?;
    let mut entries: u32 = 0;
    for i in 0..nbuckets {
        let mut link = buckets + 4 * i;
        loop {
            let e = r.get(link)?;
            if e == 0 {
                break;
            }
            let whole = blocks.unclaimed(r, e, Tag::Entry).is_some_and(|capacity| {
                let key_len = r.get(e + E_KEY_LEN).unwrap_or(u32::MAX);
                let value_len = r.get(e + E_VALUE_LEN).unwrap_or(u32::MAX);
                let fits = E_DATA
                    .checked_add(key_len)
                    .and_then(|n| n.checked_add(value_len))
                    .is_some_and(|n| n <= capacity);
                fits && r.bytes(e + E_DATA, key_len).is_ok_and(|key| {
                    let h = hash(key);
                    r.get(e + E_HASH) == Ok(h) && h & (nbuckets - 1) == i
                })
            });
            if !whole {
                r.set(link, 0)?;
                break;
            }
            blocks.claim(e);
            entries += 1;
            link = e + E_NEXT;
        }
    }
    r.set(H_ENTRIES, entries)
}
