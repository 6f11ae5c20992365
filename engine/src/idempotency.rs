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

/// A request's fingerprint: SHA-256 over its parts. It is kept with the key for the key's whole
/// life (at least `IDEMPOTENCY_RETENTION_SECONDS`), so it is a cryptographic hash: no one can make
/// another request that passes for the recorded one. Written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The first 8 bytes as a number (to spread keys over shards).
    pub fn prefix_u64(&self) -> u64 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(head)
    }

    /// Reads 64 hex digits (as `Display` writes them).
    pub fn from_hex(text: &str) -> Result<Fingerprint, EngineError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|e| EngineError::unavailable(format!("fingerprint `{text}` is not 64 hex digits: {e}")))?;
        Ok(Fingerprint(bytes))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Fingerprint, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Fingerprint::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The fingerprint of a request made of `parts` (method, path, canonical body). Each part is
/// length-prefixed, so ("ab", "c") and ("a", "bc") differ.
pub fn fingerprint(parts: &[&[u8]]) -> Fingerprint {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Fingerprint(hasher.finalize().into())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord<T> {
    pub key: String,
    pub fingerprint: Fingerprint,
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
    fingerprint: Fingerprint,
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
        let (seven, eight) = (fingerprint(&[b"7"]), fingerprint(&[b"8"]));
        let record = IdempotencyRecord { key: "k".into(), fingerprint: seven, recorded_at: at(0), outcome: "first" };
        assert_eq!(decide::<&str>(None, seven, at(0)), Ok(Decision::Fresh));
        assert_eq!(decide(Some(&record), seven, at(10)), Ok(Decision::Replay(&"first")));
        assert_eq!(decide(Some(&record), eight, at(10)), Err(EngineError::IdempotencyMismatch));
        assert_eq!(decide(Some(&record), seven, at(IDEMPOTENCY_RETENTION_SECONDS)), Ok(Decision::Replay(&"first")));
        assert_eq!(decide(Some(&record), eight, at(IDEMPOTENCY_RETENTION_SECONDS + 1)), Ok(Decision::Fresh));
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
        assert_eq!(
            fingerprint(&parts).to_string(),
            // Python: sha256 over (len as u64 LE + bytes) of each part.
            "3f585e04a66f0bda43a5aa281fcad96f3f6b1736940bfc4ba4a1ed52da3cce03"
        );
        let text = fingerprint(&parts).to_string();
        assert_eq!(Fingerprint::from_hex(&text).map(|f| f.to_string()), Ok(text));
        assert!(Fingerprint::from_hex("fc872b7a3152d35f").is_err(), "64 hex digits, not 16");
    }
}
