//! The demand class of Syntetos & Boylan (2005): how often demand comes (ADI, the average
//! interval between days with demand) and how much its size varies (CV², of the non-zero sizes).

use serde::{Deserialize, Serialize};

/// ADI at or above this is intermittent (Syntetos, Boylan & Croston 2005).
pub const ADI_CUTOFF: f64 = 1.32;
/// CV² at or above this is erratic.
pub const CV2_CUTOFF: f64 = 0.49;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    Smooth,
    Intermittent,
    Erratic,
    Lumpy,
    /// No day with demand in the history.
    NoDemand,
}

impl DemandClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DemandClass::Smooth => "smooth",
            DemandClass::Intermittent => "intermittent",
            DemandClass::Erratic => "erratic",
            DemandClass::Lumpy => "lumpy",
            DemandClass::NoDemand => "no_demand",
        }
    }

    /// Demand that comes on few days: the Croston family is made for it.
    pub fn is_intermittent(self) -> bool {
        matches!(self, DemandClass::Intermittent | DemandClass::Lumpy)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemandStats {
    pub class: DemandClass,
    /// Days per day with demand; `None` without demand.
    pub adi: Option<f64>,
    /// Squared coefficient of variation of the non-zero daily sizes; `None` without demand.
    pub cv2: Option<f64>,
    pub days: u32,
    pub days_with_demand: u32,
}

/// Classifies a daily series (zeros included).
pub fn classify(series: &[f64]) -> DemandStats {
    let days = u32::try_from(series.len()).expect("a history is bounded");
    let sizes: Vec<f64> = series.iter().copied().filter(|&qty| qty > 0.0).collect();
    let days_with_demand = u32::try_from(sizes.len()).expect("a history is bounded");
    if sizes.is_empty() {
        return DemandStats { class: DemandClass::NoDemand, adi: None, cv2: None, days, days_with_demand };
    }
    let adi = f64::from(days) / f64::from(days_with_demand);
    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    let variance = sizes.iter().map(|size| (size - mean).powi(2)).sum::<f64>() / sizes.len() as f64;
    let cv2 = variance / (mean * mean);
    assert!(adi >= 1.0 && cv2 >= 0.0);
    let class = match (adi >= ADI_CUTOFF, cv2 >= CV2_CUTOFF) {
        (false, false) => DemandClass::Smooth,
        (true, false) => DemandClass::Intermittent,
        (false, true) => DemandClass::Erratic,
        (true, true) => DemandClass::Lumpy,
    };
    DemandStats { class, adi: Some(adi), cv2: Some(cv2), days, days_with_demand }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(series: &[f64], class: DemandClass) {
        assert_eq!(classify(series).class, class, "{series:?}");
    }

    #[test]
    fn cut_offs() {
        // Every day, same size: ADI 1, CV² 0.
        check(&[5.0; 10], DemandClass::Smooth);
        // ADI exactly 1.32 is intermittent: 33 days, 25 with demand.
        let mut series = vec![4.0; 25];
        series.extend([0.0; 8]);
        assert!((classify(&series).adi.expect("demand") - 1.32).abs() < 1e-12);
        check(&series, DemandClass::Intermittent);
        // Just below: 32 days, 25 with demand (ADI 1.28).
        check(&series[..32], DemandClass::Smooth);
        // Sizes 1 and 3 alternate: mean 2, variance 1, CV² 0.25; sizes 1 and 5: CV² 4/9 = 0.444;
        // sizes 1 and 6: mean 3.5, variance 6.25, CV² 0.51.
        check(&[1.0, 3.0, 1.0, 3.0], DemandClass::Smooth);
        check(&[1.0, 5.0, 1.0, 5.0], DemandClass::Smooth);
        check(&[1.0, 6.0, 1.0, 6.0], DemandClass::Erratic);
        check(&[1.0, 0.0, 6.0, 0.0], DemandClass::Lumpy);
        check(&[0.0, 0.0, 0.0], DemandClass::NoDemand);
        check(&[], DemandClass::NoDemand);
    }
}
