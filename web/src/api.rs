//! HTTP to the Stockline API.

use gloo_net::http::Request;
use stockline_shared::{AvailabilityResponse, ErrorBody};

/// Why a call did not give an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// No network, or the server did not answer: try the saved copy.
    Unreachable,
    /// The server answered with an error.
    Refused { status: u16, code: String, message: String },
}

impl CallError {
    pub fn describe(&self) -> String {
        match self {
            CallError::Unreachable => "Offline: the server cannot be reached".to_string(),
            CallError::Refused { status, code, message } => format!("{message} ({code}, {status})"),
        }
    }
}

pub async fn availability(api_base: &str, token: &str, sku: &str) -> Result<AvailabilityResponse, CallError> {
    let url = format!("{}/v1/availability/{}", api_base.trim_end_matches('/'), sku);
    let response = Request::get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|_| CallError::Unreachable)?;
    if response.ok() {
        return response.json().await.map_err(|e| CallError::Refused {
            status: response.status(),
            code: "bad_answer".into(),
            message: e.to_string(),
        });
    }
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(CallError::Refused { status, code: body.error.code, message: body.error.message }),
        Err(_) => Err(CallError::Refused { status, code: "http".into(), message: format!("HTTP {status}") }),
    }
}
