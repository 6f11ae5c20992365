//! The SKU plan chart, laid out as plain numbers (drawn as SVG by the view): the last weeks of
//! demand, the forecast, the projected on-hand line with the stockout day, the reorder point and
//! the safety stock. No JavaScript chart library.

use rust_decimal::prelude::ToPrimitive;
use stockline_shared::{Plan, Scorecard, Supplier};

pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 260.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 28.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// SVG `points` of each line.
    pub history: String,
    pub forecast: String,
    pub on_hand: String,
    pub reorder_point_y: f64,
    pub safety_stock_y: f64,
    pub today_x: f64,
    /// Where the projected on-hand line reaches zero, and the date's label.
    pub stockout: Option<(f64, String)>,
    /// Units on the y axis: (y, label).
    pub y_ticks: Vec<(f64, String)>,
    /// Dates on the x axis: (x, label).
    pub x_ticks: Vec<(f64, String)>,
    pub left: f64,
    pub right: f64,
    pub bottom: f64,
}

fn points(values: impl Iterator<Item = (f64, f64)>) -> String {
    values.map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")
}

/// A round step for about five ticks up to `max`.
fn step_for(max: f64) -> f64 {
    let raw = (max / 5.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

pub fn layout(plan: &Plan) -> Chart {
    let history = &plan.history.recent;
    let projection = &plan.projection;
    let days = (history.len() + projection.len()).max(2);
    let x_of = |i: usize| LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (days - 1) as f64;
    let highest = history
        .iter()
        .map(|d| d.qty as f64)
        .chain(projection.iter().flat_map(|d| [d.on_hand, d.demand]))
        .chain([plan.reorder_point as f64, plan.safety_stock as f64, 1.0])
        .fold(0.0_f64, f64::max);
    let step = step_for(highest);
    let top_units = (highest / step).ceil().max(1.0) * step;
    let y_of = |units: f64| {
        let clamped = units.clamp(0.0, top_units);
        HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * clamped / top_units
    };
    let start = history.len();
    let y_ticks =
        (0..=((top_units / step) as usize)).map(|k| (y_of(k as f64 * step), format!("{}", k as f64 * step))).collect();
    let dates: Vec<chrono::NaiveDate> =
        history.iter().map(|d| d.date).chain(projection.iter().map(|d| d.date)).collect();
    let x_ticks = dates
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as i64 - start as i64).rem_euclid(14) == 0)
        .map(|(i, date)| (x_of(i), date.format("%b %-d").to_string()))
        .collect();
    let stockout = plan.stockout_date.and_then(|date| {
        let index = projection.iter().position(|d| d.date == date)?;
        Some((x_of(start + index), date.format("%b %-d").to_string()))
    });
    Chart {
        history: points(history.iter().enumerate().map(|(i, d)| (x_of(i), y_of(d.qty as f64)))),
        forecast: points(projection.iter().enumerate().map(|(i, d)| (x_of(start + i), y_of(d.demand)))),
        on_hand: points(projection.iter().enumerate().map(|(i, d)| (x_of(start + i), y_of(d.on_hand)))),
        reorder_point_y: y_of(plan.reorder_point as f64),
        safety_stock_y: y_of(plan.safety_stock as f64),
        today_x: x_of(start),
        stockout,
        y_ticks,
        x_ticks,
        left: LEFT,
        right: WIDTH - RIGHT,
        bottom: HEIGHT - BOTTOM,
    }
}

/// A supplier's scorecard as bars, in percent of a track's width (drawn as HTML, so its text
/// stays at reading size on a phone and a tablet): on time in full, fill rate and QC rejects on
/// one 0–100 % scale, and the lead time in days (measured mean with its σ, against the declared
/// one) on an axis a little longer than the larger of them.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreBar {
    pub label: &'static str,
    /// The bar's length; `None`: nothing measured yet.
    pub width_pct: Option<f64>,
    pub text: String,
    /// `good` when higher is better, `bad` when lower is (QC rejects).
    pub class: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeadTimeBar {
    /// The measured mean's bar and its σ whisker (from, to); `None` before any receipt.
    pub mean_pct: Option<(f64, f64, f64)>,
    pub declared_pct: f64,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScoreChart {
    pub bars: Vec<ScoreBar>,
    pub lead_time: LeadTimeBar,
}

pub fn scorecard(card: &Scorecard, supplier: &Supplier) -> ScoreChart {
    let pct = |value: Option<rust_decimal::Decimal>| value.and_then(|v| v.to_f64()).map(|v| v.clamp(0.0, 100.0));
    let rows = [
        (
            "On time in full",
            card.on_time_in_full_pct,
            "good",
            format!("{} of {} lines", card.lines_on_time_in_full, card.lines_due),
        ),
        ("Fill rate", card.fill_rate_pct, "good", "of what was due".to_string()),
        ("QC rejects", card.qc_reject_pct, "bad", "of what was received".to_string()),
    ];
    let bars = rows
        .into_iter()
        .map(|(label, value, class, detail)| ScoreBar {
            label,
            width_pct: pct(value),
            text: match value {
                Some(v) => format!("{}% {detail}", v.normalize()),
                None => "not measured yet".to_string(),
            },
            class,
        })
        .collect();
    let declared = supplier.lead_time_days;
    let (mean, std) = (card.lead_time_days_mean, card.lead_time_days_std.unwrap_or(0.0));
    let top_days = mean.map_or(declared, |m| (m + std).max(declared)).max(1.0) * 1.15;
    let x = |days: f64| 100.0 * days.clamp(0.0, top_days) / top_days;
    let lead_time = LeadTimeBar {
        mean_pct: mean.map(|m| (x(m), x(m - std), x(m + std))),
        declared_pct: x(declared),
        text: match mean {
            Some(m) => {
                format!("{m:.1} ± {std:.1} days over {} receipt lines (declared {declared:.0})", card.lead_time_samples)
            }
            None => format!("no receipts yet (declared {declared:.0} days)"),
        },
    };
    ScoreChart { bars, lead_time }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_steps() {
        for (max, step) in [(3.0, 1.0), (9.0, 2.0), (47.0, 10.0), (230.0, 50.0), (1200.0, 500.0)] {
            assert_eq!(step_for(max), step, "{max}");
        }
    }

    #[test]
    fn scorecard_bars_scale_to_the_card() {
        let supplier: Supplier = serde_json::from_value(serde_json::json!({
            "supplier": "acme", "name": "Acme", "currency": "EUR", "lead_time_days": 5.0, "lead_time_std_days": 0.0
        }))
        .expect("a supplier");
        let mut card: Scorecard = serde_json::from_value(serde_json::json!({
            "supplier": "acme", "as_of": "2026-12-02", "orders": 0, "lines_due": 0, "lines_on_time_in_full": 0,
            "on_time_in_full_pct": null, "lead_time_samples": 0, "lead_time_days_mean": null,
            "lead_time_days_std": null, "fill_rate_pct": null, "price_variance_pct": null, "qc_reject_pct": null
        }))
        .expect("a scorecard");
        let empty = scorecard(&card, &supplier);
        assert!(empty.bars.iter().all(|b| b.width_pct.is_none() && b.text == "not measured yet"));
        assert_eq!(empty.lead_time.mean_pct, None);
        assert!(empty.lead_time.text.contains("declared 5"));

        card.lines_due = 4;
        card.lines_on_time_in_full = 3;
        card.on_time_in_full_pct = Some("75.00".parse().expect("pct"));
        card.fill_rate_pct = Some("100".parse().expect("pct"));
        card.qc_reject_pct = Some("0".parse().expect("pct"));
        card.lead_time_samples = 4;
        card.lead_time_days_mean = Some(8.0);
        card.lead_time_days_std = Some(2.0);
        let chart = scorecard(&card, &supplier);
        let widths: Vec<f64> = chart.bars.iter().map(|b| b.width_pct.expect("measured")).collect();
        assert_eq!(widths, [75.0, 100.0, 0.0]);
        assert_eq!(chart.bars[0].text, "75% 3 of 4 lines");
        // 8 ± 2 days against 5 declared: the axis runs to 10 × 1.15.
        let (mean, from, to) = chart.lead_time.mean_pct.expect("measured");
        let x = |days: f64| 100.0 * days / 11.5;
        assert!((mean - x(8.0)).abs() < 1e-9 && (from - x(6.0)).abs() < 1e-9 && (to - x(10.0)).abs() < 1e-9);
        assert!((chart.lead_time.declared_pct - x(5.0)).abs() < 1e-9);
        assert_eq!(chart.lead_time.text, "8.0 ± 2.0 days over 4 receipt lines (declared 5)");
    }
}
