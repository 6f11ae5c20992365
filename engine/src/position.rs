//! The quantities of one SKU at one location, and the availability arithmetic of the contract.

use serde::{Deserialize, Serialize};

/// A quantity bucket of a position. Effects of ledger entries name a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    OnHand,
    Quarantined,
    Damaged,
    Reserved,
    Allocated,
    Inbound,
    ReturnPending,
}

impl Bucket {
    pub const ALL: [Bucket; 7] = [
        Bucket::OnHand,
        Bucket::Quarantined,
        Bucket::Damaged,
        Bucket::Reserved,
        Bucket::Allocated,
        Bucket::Inbound,
        Bucket::ReturnPending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::OnHand => "on_hand",
            Bucket::Quarantined => "quarantined",
            Bucket::Damaged => "damaged",
            Bucket::Reserved => "reserved",
            Bucket::Allocated => "allocated",
            Bucket::Inbound => "inbound",
            Bucket::ReturnPending => "return_pending",
        }
    }
}

/// What one SKU has at one location. Every field is ≥ 0; `on_hand` covers
/// `quarantined + damaged + reserved + allocated` unless a count left an exception.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub on_hand: i64,
    pub quarantined: i64,
    pub damaged: i64,
    pub reserved: i64,
    pub allocated: i64,
    pub inbound: i64,
    pub return_pending: i64,
}

impl Position {
    pub fn get(&self, bucket: Bucket) -> i64 {
        match bucket {
            Bucket::OnHand => self.on_hand,
            Bucket::Quarantined => self.quarantined,
            Bucket::Damaged => self.damaged,
            Bucket::Reserved => self.reserved,
            Bucket::Allocated => self.allocated,
            Bucket::Inbound => self.inbound,
            Bucket::ReturnPending => self.return_pending,
        }
    }

    pub fn get_mut(&mut self, bucket: Bucket) -> &mut i64 {
        match bucket {
            Bucket::OnHand => &mut self.on_hand,
            Bucket::Quarantined => &mut self.quarantined,
            Bucket::Damaged => &mut self.damaged,
            Bucket::Reserved => &mut self.reserved,
            Bucket::Allocated => &mut self.allocated,
            Bucket::Inbound => &mut self.inbound,
            Bucket::ReturnPending => &mut self.return_pending,
        }
    }

    /// Units on hand that are spoken for or not sellable.
    pub fn committed(&self) -> i64 {
        self.quarantined + self.damaged + self.reserved + self.allocated
    }

    /// on_hand minus everything committed; negative only after a count raised an exception.
    pub fn free(&self) -> i64 {
        self.on_hand - self.committed()
    }

    /// The contract's location `available`: max(0, on_hand − quarantined − damaged − reserved − allocated).
    pub fn available(&self) -> i64 {
        self.free().max(0)
    }

    pub fn add(&mut self, other: &Position) {
        for bucket in Bucket::ALL {
            *self.get_mut(bucket) += other.get(bucket);
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Position::default()
    }
}

/// The contract's channel `available`:
/// min(cap, max(0, Σ available − safety_stock − buffer)), and 0 when Σ is below `stop_below`.
pub fn channel_available(
    sum_available: i64,
    safety_stock: i64,
    buffer: i64,
    cap: Option<i64>,
    stop_below: Option<i64>,
) -> i64 {
    debug_assert!(sum_available >= 0 && safety_stock >= 0 && buffer >= 0);
    if let Some(stop_below) = stop_below {
        if sum_available < stop_below {
            return 0;
        }
    }
    let available = (sum_available - safety_stock - buffer).max(0);
    match cap {
        Some(cap) => available.min(cap),
        None => available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(sum: i64, safety: i64, buffer: i64, cap: Option<i64>, stop: Option<i64>, expect: i64) {
        assert_eq!(channel_available(sum, safety, buffer, cap, stop), expect);
    }

    #[test]
    fn channel_rules() {
        check(100, 0, 0, None, None, 100);
        check(100, 10, 5, None, None, 85);
        check(10, 10, 5, None, None, 0);
        check(100, 10, 5, Some(20), None, 20);
        check(100, 0, 0, Some(0), None, 0);
        check(4, 0, 0, None, Some(5), 0);
        check(5, 0, 0, None, Some(5), 5);
        check(50, 10, 0, Some(30), Some(20), 30);
    }

    #[test]
    fn location_available_never_negative() {
        let p = Position { on_hand: 3, reserved: 5, ..Position::default() };
        assert_eq!(p.free(), -2);
        assert_eq!(p.available(), 0);
    }
}
