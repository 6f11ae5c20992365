//! What the app knows, as plain data with methods (the todomvc way): no signals, no IO.

use serde::{Deserialize, Serialize};
use stockline_shared::AvailabilityResponse;

/// Where the app talks to and as whom; kept in IndexedDB so it survives reloads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub api_base: String,
    pub token: String,
    pub last_sku: Option<String>,
}

impl Settings {
    pub fn signed_in(&self) -> bool {
        !self.token.trim().is_empty()
    }

    /// The API a page served at `origin` talks to by default: the same host, port 8787.
    pub fn default_api_base(protocol: &str, hostname: &str) -> String {
        format!("{protocol}//{hostname}:8787")
    }
}

/// Where a stock card's numbers came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Live,
    Saved,
}

/// One SKU's position as last fetched from the server, kept for offline use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockCard {
    pub sku: String,
    /// Milliseconds since the epoch when it was fetched (f64: IndexedDB numbers are doubles).
    pub fetched_at_ms: f64,
    pub availability: AvailabilityResponse,
    #[serde(skip, default = "saved")]
    pub source: Source,
}

fn saved() -> Source {
    Source::Saved
}

impl StockCard {
    pub fn live(availability: AvailabilityResponse, now_ms: f64) -> StockCard {
        StockCard {
            sku: availability.availability.sku.to_string(),
            fetched_at_ms: now_ms,
            availability,
            source: Source::Live,
        }
    }

    pub fn is_saved_copy(&self) -> bool {
        self.source == Source::Saved
    }

    /// "just now", "5 min ago", "3 h ago", "2 d ago".
    pub fn age(&self, now_ms: f64) -> String {
        let seconds = ((now_ms - self.fetched_at_ms) / 1000.0).max(0.0) as u64;
        match seconds {
            0..=59 => "just now".to_string(),
            60..=3599 => format!("{} min ago", seconds / 60),
            3600..=86_399 => format!("{} h ago", seconds / 3600),
            _ => format!("{} d ago", seconds / 86_400),
        }
    }
}

/// Normalises what a person or a scanner typed into a SKU id, or says what is wrong with it.
pub fn parse_sku(input: &str) -> Result<String, String> {
    let sku = input.trim();
    if sku.is_empty() {
        return Err("Type or scan a SKU".to_string());
    }
    if !stockline_shared::Id::new(sku).is_ok() {
        return Err(format!("`{sku}` is not a SKU id (letters, digits and . _ : - only)"));
    }
    Ok(sku.to_string())
}
