//! Response helpers and the internal envelope between the Worker and its Durable Objects.

use serde::{Deserialize, Serialize};
use stockline_engine::Actor;
use stockline_shared::ApiError;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Method, Request, RequestInit, Response, ResponseBody, Result};

/// Every internal request carries who asked and, for writes, the idempotency key and fingerprint.
#[derive(Serialize, Deserialize)]
pub struct Envelope<T> {
    pub actor: Actor,
    pub idempotency: Option<Idempotency>,
    pub command: T,
    /// The caller has seen this catalog version (read-your-writes after a master-data change):
    /// an object whose copy is older fetches the catalog before it decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_catalog_version: Option<u64>,
}

impl<T> Envelope<T> {
    /// An internal command from the system itself (no key, no catalog requirement).
    pub fn system(command: T) -> Envelope<T> {
        Envelope { actor: Actor::system(), idempotency: None, command, min_catalog_version: None }
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Idempotency {
    pub key: String,
    /// Hex of the engine's fingerprint over method, path and canonical body.
    pub fingerprint: String,
}

/// What a Durable Object answers: the final status and body the Worker passes on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Answer {
    /// An answer with `body`; a body that cannot be encoded is a 503 saying so, never `null`.
    pub fn ok(status: u16, body: &impl Serialize) -> Answer {
        match serde_json::to_value(body) {
            Ok(body) => Answer { status, body },
            Err(error) => {
                worker::console_error!("encoding an answer failed: {error}");
                Answer::error(ApiError::unavailable(format!("encoding the answer failed: {error}")))
            }
        }
    }

    pub fn error(error: ApiError) -> Answer {
        // An error body is a code, a message and details that are already JSON: its encoding
        // cannot fail, and if it ever did the envelope is built by hand, still with the message.
        let body = serde_json::to_value(&error.body).unwrap_or_else(|encoding| {
            worker::console_error!("encoding an error failed: {encoding}");
            serde_json::json!({ "error": { "code": error.body.error.code, "message": error.body.error.message, "details": {} } })
        });
        Answer { status: error.status, body }
    }
}

impl From<ApiError> for Answer {
    fn from(error: ApiError) -> Answer {
        Answer::error(error)
    }
}

/// An answer passed on as the object wrote it: the Worker neither reads nor re-encodes it (an
/// object's body stream becomes the client's body stream, never copied through wasm memory).
pub struct Reply {
    pub status: u16,
    body: ResponseBody,
}

impl Reply {
    pub fn into_response(self) -> Response {
        let mut response = match Response::from_body(self.body) {
            Ok(response) => response.with_status(self.status),
            Err(_) => return Response::error("internal error", 500).expect("500 is a valid error status"),
        };
        let headers = response.headers_mut();
        let _ = headers.set("content-type", "application/json");
        let _ = headers.set("cache-control", "no-store");
        response
    }
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Reply {
        Reply { status: answer.status, body: ResponseBody::Body(answer.body.to_string().into_bytes()) }
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Reply {
        Answer::error(error).into()
    }
}

pub fn json_response(status: u16, body: &impl Serialize) -> Response {
    match Response::from_json(body) {
        Ok(response) => {
            let mut response = response.with_status(status);
            let _ = response.headers_mut().set("cache-control", "no-store");
            response
        }
        Err(_) => Response::error("internal error", 500).expect("500 is a valid error status"),
    }
}

pub fn error_response(error: ApiError) -> Response {
    json_response(error.status, &error.body)
}

/// Sends an envelope to a Durable Object stub and passes its answer on unread.
pub async fn forward<T: Serialize>(stub: &worker::Stub, path: &str, envelope: &Envelope<T>) -> Result<Reply> {
    let response = stub.fetch_with_request(internal_request(path, envelope)?).await?;
    let status = response.status_code();
    let (_, body) = response.into_parts();
    Ok(Reply { status, body })
}

/// The envelope as a request to an object: a body and nothing else (objects read no headers).
fn internal_request<T: Serialize>(path: &str, envelope: &Envelope<T>) -> Result<Request> {
    let body = serde_json::to_string(envelope)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    Request::new_with_init(&format!("https://internal{path}"), &init)
}

/// A response's whole body in one read (`arrayBuffer()`), not chunk by chunk through a stream
/// reader, which costs a JavaScript round trip per chunk.
async fn body_bytes(response: Response) -> Result<Vec<u8>> {
    match response.body() {
        ResponseBody::Body(bytes) => Ok(bytes.clone()),
        ResponseBody::Empty => Ok(Vec::new()),
        ResponseBody::Stream(_) => {
            let response: worker::web_sys::Response = response.into();
            let buffer = JsFuture::from(response.array_buffer()?).await?;
            Ok(js_sys::Uint8Array::new(&buffer).to_vec())
        }
    }
}

/// Sends an envelope to a Durable Object stub and reads its answer.
pub async fn call<T: Serialize>(stub: &worker::Stub, path: &str, envelope: &Envelope<T>) -> Result<Answer> {
    call_text(stub, path, envelope).await?.answer()
}

/// An object's answer as the bytes it wrote: a large body is read once, straight into the typed
/// value wanted (borrowing from the bytes), with no `serde_json::Value` tree between.
pub struct AnswerText {
    pub status: u16,
    pub bytes: Vec<u8>,
}

impl AnswerText {
    pub fn answer(&self) -> Result<Answer> {
        let status = self.status;
        let body = serde_json::from_slice(&self.bytes).map_err(|e| self.unreadable(e.to_string()))?;
        Ok(Answer { status, body })
    }

    /// The body as text (an object writes UTF-8 JSON).
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.bytes).map_err(|e| self.unreadable(e.to_string()))
    }

    /// The body as `T`, borrowing from the bytes where it can.
    pub fn read<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        serde_json::from_slice(&self.bytes).map_err(|e| self.unreadable(e.to_string()))
    }

    fn unreadable(&self, error: String) -> worker::Error {
        let text = String::from_utf8_lossy(&self.bytes[..self.bytes.len().min(200)]).into_owned();
        worker::Error::RustError(format!("object answered {} `{text}`: {error}", self.status))
    }
}

/// Sends an envelope to a Durable Object stub and reads its answer's bytes.
pub async fn call_text<T: Serialize>(stub: &worker::Stub, path: &str, envelope: &Envelope<T>) -> Result<AnswerText> {
    let response = stub.fetch_with_request(internal_request(path, envelope)?).await?;
    let status = response.status_code();
    Ok(AnswerText { status, bytes: body_bytes(response).await? })
}

/// What an object answers: an [`Answer`], or a typed value encoded straight to its JSON text
/// (large pages: no `serde_json::Value` tree built between the value and the bytes).
pub enum Answered {
    Value(Answer),
    Encoded { status: u16, json: String },
}

impl Answered {
    pub fn encoded(status: u16, body: &impl Serialize) -> Answered {
        match serde_json::to_string(body) {
            Ok(json) => Answered::Encoded { status, json },
            Err(error) => {
                Answered::Value(Answer::error(ApiError::unavailable(format!("encoding the answer failed: {error}"))))
            }
        }
    }

    /// An object's answer to the Worker or another object: status and body only. The caller
    /// reads no headers (the Worker writes its own on the public answer), so none are set.
    fn into_internal_response(self) -> Response {
        let (status, bytes) = match self {
            Answered::Value(answer) => (answer.status, answer.body.to_string().into_bytes()),
            Answered::Encoded { status, json } => (status, json.into_bytes()),
        };
        match Response::from_body(ResponseBody::Body(bytes)) {
            Ok(response) => response.with_status(status),
            Err(_) => Response::error("internal error", 500).expect("500 is a valid error status"),
        }
    }
}

impl From<Answer> for Answered {
    fn from(answer: Answer) -> Answered {
        Answered::Value(answer)
    }
}

/// Sends an envelope to an object and reads a 200 answer as `T`; any other status is an error
/// naming what answered.
pub async fn call_for<T: serde::de::DeserializeOwned, C: Serialize>(
    stub: &worker::Stub,
    path: &str,
    envelope: &Envelope<C>,
) -> Result<T> {
    let answer = call(stub, path, envelope).await?;
    if answer.status != 200 {
        return Err(worker::Error::RustError(format!("{path} answered {}: {}", answer.status, answer.body)));
    }
    Ok(serde_json::from_value(answer.body)?)
}

/// How long one internal call to a SKU object may take before it counts as failed.
const SKU_CALL_TIMEOUT_MS: u64 = 10_000;

/// A SKU object's typed answer to an internal command (`SkuCommand::is_internal`).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SkuReply<T> {
    Ok(T),
    Err(stockline_engine::EngineError),
}

/// Sends an internal command to a SKU's object and reads its typed answer. A call that fails on
/// the way, or hangs past `SKU_CALL_TIMEOUT_MS`, is `Unavailable`: the caller keeps the step due
/// and sends it again (every internal step is safe to repeat).
pub async fn sku_call<T: serde::de::DeserializeOwned>(
    env: &worker::Env,
    sku: &stockline_engine::Id,
    envelope: &Envelope<crate::protocol::SkuCommand>,
) -> std::result::Result<T, stockline_engine::EngineError> {
    use futures_util::future::{select, Either};
    use stockline_engine::EngineError;
    assert!(envelope.command.is_internal(), "only internal commands answer typed");
    let stub = env
        .durable_object(crate::protocol::sku::BINDING)
        .and_then(|ns| ns.get_by_name(sku.as_str()))
        .map_err(|e| EngineError::unavailable(format!("sku `{sku}`: {e}")))?;
    let called = Box::pin(call(&stub, "/sku", envelope));
    let deadline = worker::Delay::from(std::time::Duration::from_millis(SKU_CALL_TIMEOUT_MS));
    let answer = match select(called, deadline).await {
        Either::Left((answer, _)) => answer.map_err(|e| EngineError::unavailable(format!("sku `{sku}`: {e}")))?,
        Either::Right(_) => {
            return Err(EngineError::unavailable(format!("sku `{sku}` did not answer in {SKU_CALL_TIMEOUT_MS} ms")));
        }
    };
    if answer.status != 200 {
        return Err(EngineError::unavailable(format!("sku `{sku}` answered {}: {}", answer.status, answer.body)));
    }
    match serde_json::from_value::<SkuReply<T>>(answer.body) {
        Ok(SkuReply::Ok(value)) => Ok(value),
        Ok(SkuReply::Err(error)) => Err(error),
        Err(error) => Err(EngineError::unavailable(format!("sku `{sku}` answered something else: {error}"))),
    }
}

/// The Directory's stub, for objects that ask it.
pub fn directory_stub(env: &worker::Env) -> Result<worker::Stub> {
    env.durable_object(crate::protocol::directory::BINDING)?.get_by_name(crate::protocol::directory::NAME)
}

/// What every object's `fetch` does: read the envelope (a malformed one is the Worker's bug: 500),
/// run `handle`, and answer; a failure of the object itself is 503 `unavailable` naming it.
pub async fn serve<T, A, F>(mut req: Request, what: &str, handle: impl FnOnce(Envelope<T>) -> F) -> Result<Response>
where
    T: serde::de::DeserializeOwned,
    A: Into<Answered>,
    F: std::future::Future<Output = Result<A>>,
{
    let envelope = match read_envelope(&mut req).await {
        Ok(envelope) => envelope,
        Err(error) => {
            return Ok(Answered::Value(Answer::error(ApiError::internal(error.to_string()))).into_internal_response())
        }
    };
    let answer = match handle(envelope).await {
        Ok(answer) => answer.into(),
        Err(error) => Answered::Value(Answer::error(ApiError::unavailable(format!("{what}: {error}")))),
    };
    Ok(answer.into_internal_response())
}

async fn read_envelope<T: serde::de::DeserializeOwned>(req: &mut Request) -> Result<Envelope<T>> {
    let bytes = req.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| worker::Error::RustError(format!("envelope: {e}")))
}

/// The runtime's clock. A clock that cannot be read as a time is an error, never 1970.
pub fn now() -> Result<chrono::DateTime<chrono::Utc>> {
    let ms = js_sys::Date::now();
    if !ms.is_finite() || ms < 0.0 {
        return Err(worker::Error::RustError(format!("the clock reads {ms} ms")));
    }
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .ok_or_else(|| worker::Error::RustError(format!("the clock reads {ms} ms, not a time")))
}
