//! Reservation ids that say which object owns the reservation, so no lookup is needed:
//! `s<object id>.<random>` — a single-SKU reservation owned by that SKU's ledger object (its
//! 32-byte Durable Object id in base64url); `m<shard>.<random>` — a multi-SKU reservation owned by
//! coordinator shard `<shard>`. Both fit the contract's `[A-Za-z0-9._:-]{1,64}`.

use stockline_engine::Id;
use stockline_shared::ApiError;

/// Coordinator shards for multi-SKU reservations.
pub const SHARDS: u32 = 32;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..(chunk.len() + 1) {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let values: Option<Vec<u32>> =
        text.bytes().map(|c| ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)).collect();
    for chunk in values?.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &v)| n | (v << (18 - 6 * i)));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

fn hex_to_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

pub fn single_sku(object_hex: &str) -> Result<Id, ApiError> {
    let bytes = hex_to_bytes(object_hex)
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
        return (bytes.len() == 32).then(|| Owner::Sku(bytes.iter().map(|b| format!("{b:02x}")).collect()));
    }
    let shard: u32 = head.strip_prefix('m')?.parse().ok()?;
    (shard < SHARDS).then_some(Owner::Shard(shard))
}

/// The shard for a new multi-SKU reservation: fixed by the idempotency key (so a retry meets its
/// first attempt), random otherwise.
pub fn shard_for(key: Option<&str>) -> Result<u32, ApiError> {
    Ok(match key {
        Some(key) => (stockline_engine::idempotency::fingerprint(&[key.as_bytes()]) % u64::from(SHARDS)) as u32,
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
    }
}
