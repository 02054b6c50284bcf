//! The Proxy-Wasm header map wire format.
//!
//! `u32 count`, then `count` pairs of `(u32 key_len, u32 value_len)`, then every key and value in order, each
//! followed by a NUL byte. All integers are little endian.

use crate::limits::{MAX_MAP_BYTES, MAX_MAP_PAIRS};

/// One header: name and value as raw bytes (HTTP headers need not be UTF-8).
pub type Pair = (Vec<u8>, Vec<u8>);

/// Why a map sent by a plugin was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    Truncated,
    TooManyPairs(usize),
    TooLarge(usize),
    MissingNul,
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MapError::Truncated => write!(f, "header map is truncated"),
            MapError::TooManyPairs(n) => {
                write!(
                    f,
                    "header map has {n} pairs, more than the limit of {MAX_MAP_PAIRS}"
                )
            }
            MapError::TooLarge(n) => {
                write!(
                    f,
                    "header map has {n} bytes, more than the limit of {MAX_MAP_BYTES}"
                )
            }
            MapError::MissingNul => write!(f, "header map entry is not NUL-terminated"),
        }
    }
}

/// Size of the encoding of `pairs`.
pub fn encoded_len<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> usize {
    4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.as_ref().len() + v.as_ref().len() + 2)
        .sum::<usize>()
}

/// Encode `pairs` into `out` (cleared first).
pub fn encode_into<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(encoded_len(pairs));
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
}

/// Encode `pairs` into a fresh buffer.
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(pairs, &mut out);
    out
}

fn read_u32(bytes: &[u8], at: usize) -> Result<usize, MapError> {
    let b = bytes.get(at..at + 4).ok_or(MapError::Truncated)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Decode a map sent by a plugin. An empty slice is an empty map (SDKs send nothing for no headers).
pub fn decode(bytes: &[u8]) -> Result<Vec<Pair>, MapError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() > MAX_MAP_BYTES {
        return Err(MapError::TooLarge(bytes.len()));
    }
    let count = read_u32(bytes, 0)?;
    if count > MAX_MAP_PAIRS {
        return Err(MapError::TooManyPairs(count));
    }
    // Sizes table must fit before any data is read; this bounds `count` by the input too.
    let mut data = 4usize
        .checked_add(count.checked_mul(8).ok_or(MapError::Truncated)?)
        .ok_or(MapError::Truncated)?;
    if data > bytes.len() {
        return Err(MapError::Truncated);
    }
    let mut pairs = Vec::with_capacity(count);
    for i in 0..count {
        let klen = read_u32(bytes, 4 + i * 8)?;
        let vlen = read_u32(bytes, 8 + i * 8)?;
        let key = take(bytes, &mut data, klen)?;
        let value = take(bytes, &mut data, vlen)?;
        pairs.push((key.to_vec(), value.to_vec()));
    }
    Ok(pairs)
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, len: usize) -> Result<&'a [u8], MapError> {
    let end = at.checked_add(len).ok_or(MapError::Truncated)?;
    let s = bytes.get(*at..end).ok_or(MapError::Truncated)?;
    match bytes.get(end) {
        Some(0) => {}
        Some(_) => return Err(MapError::MissingNul),
        None => return Err(MapError::Truncated),
    }
    *at = end + 1;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two pairs, annotated byte for byte.
    const FIXTURE: &[u8] = &[
        2, 0, 0, 0, // count = 2
        5, 0, 0, 0, // key 1 length: ":path"
        1, 0, 0, 0, // value 1 length: "/"
        1, 0, 0, 0, // key 2 length: "a"
        3, 0, 0, 0, // value 2 length: "bcd"
        b':', b'p', b'a', b't', b'h', 0, b'/', 0, // ":path\0/\0"
        b'a', 0, b'b', b'c', b'd', 0, // "a\0bcd\0"
    ];

    fn fixture_pairs() -> Vec<Pair> {
        vec![
            (b":path".to_vec(), b"/".to_vec()),
            (b"a".to_vec(), b"bcd".to_vec()),
        ]
    }

    #[test]
    fn encodes_byte_exact() {
        assert_eq!(encode(&fixture_pairs()), FIXTURE);
        assert_eq!(encoded_len(&fixture_pairs()), FIXTURE.len());
    }

    #[test]
    fn decodes_byte_exact() {
        assert_eq!(decode(FIXTURE).unwrap(), fixture_pairs());
    }

    #[test]
    fn empty_input_is_empty_map() {
        assert_eq!(decode(&[]).unwrap(), Vec::<Pair>::new());
        assert_eq!(
            decode(&encode::<&[u8], &[u8]>(&[])).unwrap(),
            Vec::<Pair>::new()
        );
    }

    #[test]
    fn refuses_truncation_everywhere() {
        for cut in 1..FIXTURE.len() {
            assert!(decode(&FIXTURE[..cut]).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn refuses_missing_nul() {
        let mut bad = FIXTURE.to_vec();
        bad[29] = b'x'; // the NUL after ":path"
        assert_eq!(decode(&bad), Err(MapError::MissingNul));
    }

    #[test]
    fn refuses_huge_counts_without_allocating() {
        let bad = [0xff, 0xff, 0xff, 0xff];
        assert!(matches!(decode(&bad), Err(MapError::TooManyPairs(_))));
        let mut bad = vec![0u8; 12];
        bad[0] = 1;
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bad), Err(MapError::Truncated));
    }
}
