//! A deterministic fuzz loop over the header-map codec (no nightly toolchain is needed, so it runs in every
//! `cargo test`): random and mutated encodings must never panic, and every valid map must round-trip.
//! `make fuzz` runs the mutation loop for minutes (`FUZZ_SECONDS`).

mod common;

use common::Rng;
use proxy_wasm_host::map::{decode, encode, Pair};

fn random_pairs(rng: &mut Rng) -> Vec<Pair> {
    (0..rng.below(12))
        .map(|_| (rng.bytes(20), rng.bytes(40)))
        .collect()
}

#[test]
fn valid_maps_round_trip() {
    let mut rng = Rng(0x5eed);
    for i in 0..20_000 {
        let pairs = random_pairs(&mut rng);
        // Keys and values may hold NUL bytes: lengths, not terminators, delimit them.
        assert_eq!(
            decode(&encode(&pairs)).as_ref(),
            Ok(&pairs),
            "iteration {i}"
        );
    }
}

#[test]
fn mutated_and_random_input_never_panics() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut rng = Rng(0xfeed);
    let mut runs = 0u64;
    while runs < 50_000 || std::time::Instant::now() < deadline {
        runs += 1;
        let mut bytes = encode(&random_pairs(&mut rng));
        match rng.below(4) {
            0 => {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    if let Some(b) = bytes.get_mut(at) {
                        *b = rng.next() as u8;
                    }
                }
            }
            1 => bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize),
            2 => bytes.extend(rng.bytes(16)),
            _ => bytes = rng.bytes(64),
        }
        // Any outcome is fine except a panic; a successful decode must re-encode to a decodable map.
        if let Ok(pairs) = decode(&bytes) {
            assert_eq!(decode(&encode(&pairs)), Ok(pairs));
        }
    }
}
