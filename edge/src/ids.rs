//! Reservation ids that say which object owns the reservation, so no lookup is needed:
//! `s<object id>.<random>` — a single-SKU reservation owned by that SKU's ledger object (its
//! 32-byte Durable Object id in base64url); `m<shard>.<random>` — a multi-SKU reservation owned by
//! coordinator shard `<shard>`. Both fit the contract's `[A-Za-z0-9._:-]{1,64}`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use stockline_engine::Id;
use stockline_shared::ApiError;

/// Coordinator shards for multi-SKU reservations.
pub const SHARDS: u32 = 32;

pub enum Owner {
    /// The hex id of the SKU's ledger object.
    Sku(String),
    Shard(u32),
}

/// Bytes from the runtime's cryptographic random source (`crypto.getRandomValues`). When it fails
/// the request fails (503): an id made of zeros would collide with the next one.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| ApiError::unavailable(format!("random source failed: {e}")))?;
    Ok(out)
}

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Canonical base64url only: trailing bits that are not zero are refused, so one object has
/// one id text.
fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

pub fn single_sku(object_hex: &str) -> Result<Id, ApiError> {
    let bytes = hex::decode(object_hex)
        .ok()
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| ApiError::unavailable(format!("object id `{object_hex}` is not 32 bytes of hex")))?;
    Id::new(format!("s{}.{}", encode(&bytes), encode(&random_bytes::<9>()?))).map_err(ApiError::from)
}

pub fn multi_sku(shard: u32) -> Result<Id, ApiError> {
    Id::new(format!("m{shard:02}.{}", encode(&random_bytes::<16>()?))).map_err(ApiError::from)
}

pub fn owner(id: &str) -> Option<Owner> {
    let (head, _random) = id.split_once('.')?;
    if let Some(object) = head.strip_prefix('s') {
        let bytes = decode(object)?;
        return (bytes.len() == 32).then(|| Owner::Sku(hex::encode(bytes)));
    }
    let shard: u32 = head.strip_prefix('m')?.parse().ok()?;
    (shard < SHARDS).then_some(Owner::Shard(shard))
}

/// The shard for a new multi-SKU reservation: fixed by the idempotency key (so a retry meets its
/// first attempt), random otherwise.
pub fn shard_for(key: Option<&str>) -> Result<u32, ApiError> {
    Ok(match key {
        Some(key) => {
            (stockline_engine::idempotency::fingerprint(&[key.as_bytes()]).prefix_u64() % u64::from(SHARDS)) as u32
        }
        None => u32::from_le_bytes(random_bytes::<4>()?) % SHARDS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for bytes in [vec![], vec![0u8], vec![1, 2], vec![255, 254, 253], (0..32).collect::<Vec<u8>>()] {
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(encode(&(0..32).collect::<Vec<u8>>()).len(), 43);
        // One object, one id: a text with non-zero trailing bits names no object.
        let canonical = encode(&[0xff]);
        assert_eq!(canonical, "_w");
        assert_eq!(decode("__"), None);
    }
}
