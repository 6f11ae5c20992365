//! Idempotency: keys scoped to the caller and the resource, and the fingerprint of a request.

use super::*;

/// A key belongs to its caller and to the resource that owns the write: the stored key is the
/// token's subject, the resource and the key, so another caller's request, or the same key used
/// for another resource, is a different request and never sees the first answer. (Each object
/// keeps its own keys, which scopes them further: one SKU, one coordinator shard, the catalog.)
pub(super) fn caller_key(principal: &Principal, resource: &str, key: &str) -> String {
    stockline_shared::auth::scoped_key(&principal.subject, resource, key)
}

/// The resource a write's key belongs to (../shared/API.md, Idempotency).
pub(super) const SKU_RESOURCE: &str = "sku";

/// The `Idempotency-Key` with a fingerprint over method, path and the canonical JSON body.
pub(super) fn idempotency(
    req: &Request,
    principal: &Principal,
    resource: &str,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Option<Idempotency>, ApiError> {
    let Some(key) = req.headers().get("idempotency-key").ok().flatten() else {
        return Ok(None);
    };
    check_key(&key)?;
    let key = caller_key(principal, resource, &key);
    let canonical = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => canonical_json(&value),
        Err(_) => body.to_vec(),
    };
    Ok(Some(Idempotency { key, fingerprint: request_fingerprint(method.as_ref(), path, &canonical) }))
}

/// A JSON body in canonical form: keys sorted, no insignificant whitespace.
pub(super) fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// The fingerprint recorded with an idempotency key: method, path and canonical body, in hex.
/// `idempotency` and `sync_push` both use it, so a pushed operation and a direct post of the same
/// movement under the same key are one request.
pub(super) fn request_fingerprint(method: &str, path: &str, canonical_body: &[u8]) -> String {
    fingerprint(&[method.as_bytes(), path.as_bytes(), canonical_body]).to_string()
}

/// The path of `POST /v1/skus/{sku}/movements`.
pub(super) fn movements_path(sku: &Id) -> String {
    format!("/v1/skus/{sku}/movements")
}
