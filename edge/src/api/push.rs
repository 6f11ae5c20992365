//! `POST /v1/sync/push`: a device's queued movements, in order per SKU, each keyed by its op id.

use super::*;

/// How far ahead of the server's clock a pushed `occurred_at` may be (clock skew, not the future).
pub(super) const OCCURRED_AT_AHEAD_MAX_HOURS: i64 = 24;

/// `POST /v1/sync/push`: each operation goes to its SKU's ledger as `POST /v1/skus/{sku}/movements`
/// with `Idempotency-Key: <op_id>` would, so nothing is applied twice however often it is sent.
/// Operations of one SKU run in request order, one after another; SKUs run in parallel. When an
/// operation is not decided (5xx, unreachable), the later ones of its SKU are not sent: all `retry`.
pub(super) async fn sync_push(
    env: &Env,
    caller: &Caller<'_>,
    request: SyncPushRequest,
    raw: &serde_json::Value,
) -> Result<Answer, ApiError> {
    let count = request.ops.len();
    if !(1..=SYNC_OPS_MAX).contains(&count) {
        return Err(ApiError::invalid("ops", format!("must hold 1..={SYNC_OPS_MAX} operations, not {count}")));
    }
    let latest = clock()? + chrono::Duration::hours(OCCURRED_AT_AHEAD_MAX_HOURS);
    // Indices of the operations of each SKU, in request order; SKUs in order of first appearance.
    let mut by_sku: Vec<(&Id, Vec<usize>)> = Vec::new();
    for (index, op) in request.ops.iter().enumerate() {
        match by_sku.iter_mut().find(|(sku, _)| **sku == op.sku) {
            Some((_, indices)) => indices.push(index),
            None => by_sku.push((&op.sku, vec![index])),
        }
    }
    let sequences = by_sku.iter().map(|(sku, indices)| {
        let (ops, latest) = (&request.ops, latest);
        async move {
            let mut results = Vec::with_capacity(indices.len());
            let mut undecided: Option<&Id> = None;
            for &index in indices {
                let op = &ops[index];
                if let Some(earlier) = undecided {
                    let error = ApiError::unavailable(format!(
                        "not sent: the earlier operation `{earlier}` of SKU `{sku}` was not decided"
                    ));
                    results.push((
                        index,
                        result(op.op_id.clone(), SyncOutcome::Retry, error.status, None, Some(error.body.error)),
                    ));
                    continue;
                }
                if op.occurred_at.is_some_and(|at| at > latest) {
                    let error = ApiError::invalid(
                        "occurred_at",
                        format!("is more than {OCCURRED_AT_AHEAD_MAX_HOURS} h ahead of the server's clock"),
                    );
                    results.push((
                        index,
                        result(op.op_id.clone(), SyncOutcome::Rejected, error.status, None, Some(error.body.error)),
                    ));
                    continue;
                }
                let canonical = canonical_json(&raw["ops"][index]["movement"]);
                let key = Idempotency {
                    key: caller_key(caller.principal, SKU_RESOURCE, op.op_id.as_str()),
                    fingerprint: request_fingerprint("POST", &movements_path(sku), &canonical),
                };
                let command = SkuCommand::Movement {
                    sku: (*sku).clone(),
                    movement: op.movement.clone(),
                    occurred_at: op.occurred_at,
                };
                let answer = match to_sku(env, sku, envelope(caller, Some(key), command)).await {
                    Ok(answer) => answer,
                    Err(error) => Answer::error(error),
                };
                let op_result = op_result(op.op_id.clone(), answer);
                if op_result.outcome == SyncOutcome::Retry {
                    undecided = Some(&op.op_id);
                }
                results.push((index, op_result));
            }
            results
        }
    });
    let mut results: Vec<Option<SyncOpResult>> = vec![None; count];
    for (index, op_result) in join_all(sequences).await.into_iter().flatten() {
        results[index] = Some(op_result);
    }
    let results = results.into_iter().map(|r| r.expect("every operation has a result")).collect();
    Ok(Answer::ok(200, &SyncPushResponse { results }))
}

pub(super) fn result(
    op_id: Id,
    outcome: SyncOutcome,
    http_status: u16,
    version: Option<u64>,
    error: Option<ErrorDetail>,
) -> SyncOpResult {
    SyncOpResult { op_id, outcome, http_status, version, error, exceptions: Vec::new(), position: None }
}

/// What a ledger's answer to one pushed operation means for the device.
pub(super) fn op_result(op_id: Id, answer: Answer) -> SyncOpResult {
    let status = answer.status;
    let error = || {
        serde_json::from_value::<ErrorDetail>(answer.body["error"].clone()).unwrap_or_else(|_| ErrorDetail {
            code: if status < 500 { "invalid_request" } else { "unavailable" }.to_string(),
            message: format!("the ledger answered {status} without an error body"),
            details: serde_json::json!({}),
        })
    };
    match status {
        200..=299 => {
            // A movement's answer (now, or recorded for a replay): the count's exceptions and the
            // position after it travel back to the device.
            let recorded = serde_json::from_value::<MovementResponse>(answer.body).ok();
            let version = recorded.as_ref().map(|r| r.entry.version);
            let mut applied = result(op_id, SyncOutcome::Applied, status, version, None);
            if let Some(recorded) = recorded {
                applied.exceptions = recorded.exceptions;
                applied.position = Some(recorded.position);
            }
            applied
        }
        400..=499 => result(op_id, SyncOutcome::Rejected, status, None, Some(error())),
        _ => result(op_id, SyncOutcome::Retry, status, None, Some(error())),
    }
}
