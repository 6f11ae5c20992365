//! Idempotency: an operation key with a fingerprint of its request. A replay returns the recorded
//! outcome; the same key with another request is a typed error. Records are kept at least
//! `IDEMPOTENCY_RETENTION_SECONDS`; storage is the host's, the decision is here.

use crate::error::EngineError;
use crate::limits::IDEMPOTENCY_RETENTION_SECONDS;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub const KEY_LENGTH_MAX: usize = 128;

/// Checks an `Idempotency-Key`: 1–128 printable ASCII characters.
pub fn check_key(key: &str) -> Result<(), EngineError> {
    if key.is_empty() || key.len() > KEY_LENGTH_MAX || !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(EngineError::invalid("Idempotency-Key", "must be 1–128 printable ASCII characters"));
    }
    Ok(())
}

/// FNV-1a, 64 bits: deterministic on every target, enough to tell two requests apart.
pub fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separate parts so ("ab","c") and ("a","bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord<T> {
    pub key: String,
    pub fingerprint: u64,
    pub recorded_at: DateTime<Utc>,
    pub outcome: T,
}

/// What to do with a request that carries a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'a, T> {
    /// Never seen (or forgotten after retention): do the work and record the outcome.
    Fresh,
    /// Seen with the same request: answer with the recorded outcome, apply nothing.
    Replay(&'a T),
}

pub fn decide<'a, T>(
    existing: Option<&'a IdempotencyRecord<T>>,
    fingerprint: u64,
    now: DateTime<Utc>,
) -> Result<Decision<'a, T>, EngineError> {
    match existing {
        None => Ok(Decision::Fresh),
        Some(record) if now - record.recorded_at > Duration::seconds(IDEMPOTENCY_RETENTION_SECONDS) => {
            Ok(Decision::Fresh)
        }
        Some(record) if record.fingerprint == fingerprint => Ok(Decision::Replay(&record.outcome)),
        Some(_) => Err(EngineError::IdempotencyMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn decisions() {
        let record = IdempotencyRecord { key: "k".into(), fingerprint: 7, recorded_at: at(0), outcome: "first" };
        assert_eq!(decide::<&str>(None, 7, at(0)), Ok(Decision::Fresh));
        assert_eq!(decide(Some(&record), 7, at(10)), Ok(Decision::Replay(&"first")));
        assert_eq!(decide(Some(&record), 8, at(10)), Err(EngineError::IdempotencyMismatch));
        assert_eq!(decide(Some(&record), 7, at(IDEMPOTENCY_RETENTION_SECONDS)), Ok(Decision::Replay(&"first")));
        assert_eq!(decide(Some(&record), 8, at(IDEMPOTENCY_RETENTION_SECONDS + 1)), Ok(Decision::Fresh));
    }

    #[test]
    fn keys() {
        assert!(check_key("abc-123").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(&"x".repeat(129)).is_err());
        assert!(check_key("tab\tkey").is_err());
        assert!(check_key("é").is_err());
    }

    #[test]
    fn fingerprints_separate_parts() {
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        assert_eq!(fingerprint(&[b"POST", b"{}"]), fingerprint(&[b"POST", b"{}"]));
    }

    /// Fingerprints are stored with idempotency records for 24 hours: a change of the function
    /// would turn every retry across a deploy into 422 `idempotency_mismatch`. Pinned.
    #[test]
    fn the_fingerprint_is_stable() {
        let parts: [&[u8]; 3] = [b"POST", b"/v1/skus/A/movements", br#"{"kind":"receive"}"#];
        assert_eq!(fingerprint(&parts), 0xfc87_2b7a_3152_d35f);
    }
}
