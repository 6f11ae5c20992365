//! Procurement: purchase orders from draft to receipt, the approval rules that route them
//! (value bands, supplier standing, critical SKUs) and the checks every approval passes
//! (segregation of duties, roles, spend limits).
//!
//! Sans-IO like the rest of the engine: the caller, the time, the rules and the supplier's
//! standing come in as arguments; an order changes only through its methods, each checking the
//! version the caller saw and leaving an audited event.

pub mod approval;
pub mod matching;
pub mod order;
pub mod scorecard;
pub mod suggest;

pub use approval::{may_approve, ApprovalRules, Approver, Band, Route, Standing};
pub use matching::{
    moving_average, spread, true_up, CostChange, Invoice, InvoiceLine, InvoiceLineSpec, InvoiceSpec, MatchStatus,
    MatchTolerance, SpreadBy,
};
pub use order::{
    Approval, Decision, PoAction, PoEvent, PoLine, PoLineSpec, PoSpec, PoStatus, PoSummary, PurchaseOrder, Receipt,
    ReceiptEffect, ReceiptLine, ReceiptSpec, ReceiveTo,
};
pub use scorecard::{scorecard, Scorecard, LEAD_TIME_SAMPLES_MIN};
pub use suggest::{draft_from_suggestions, FromSuggestions, Skipped};
