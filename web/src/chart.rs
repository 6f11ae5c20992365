//! The SKU plan chart, laid out as plain numbers (drawn as SVG by the view): the last weeks of
//! demand, the forecast, the projected on-hand line with the stockout day, the reorder point and
//! the safety stock. No JavaScript chart library.

use rust_decimal::prelude::ToPrimitive;
use stockline_shared::metrics::{Dated, FillPair};
use stockline_shared::{Plan, Scorecard, Supplier};

pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 260.0;
/// Room for the y labels: "100%" or "1,200" at the phone's larger tick font (20 px, ~60 units).
const LEFT: f64 = 68.0;
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

/// A window's daily unit fill rates (first-time and final) on a 0–100 % axis, as SVG: each
/// series is its days' points (a day without orders has none, so the line breaks there).
#[derive(Clone, Debug, PartialEq)]
pub struct TrendChart {
    /// Polylines of consecutive days, per series.
    pub first_time: Vec<String>,
    pub ended: Vec<String>,
    /// Every day that has a figure, for the dots (a lone day is a dot, not an invisible line).
    pub first_time_dots: Vec<(f64, f64)>,
    pub ended_dots: Vec<(f64, f64)>,
    pub y_ticks: Vec<(f64, String)>,
    pub x_ticks: Vec<(f64, String)>,
    pub left: f64,
    pub right: f64,
    pub bottom: f64,
}

pub const TREND_HEIGHT: f64 = 200.0;

/// Consecutive days with a value as polylines, and every point.
fn runs(points: &[Option<(f64, f64)>]) -> (Vec<String>, Vec<(f64, f64)>) {
    let lines = points
        .split(Option::is_none)
        .filter(|run| run.len() >= 2)
        .map(|run| self::points(run.iter().flatten().copied()))
        .collect();
    (lines, points.iter().flatten().copied().collect())
}

pub fn fill_trend(days: &[Dated<FillPair>]) -> TrendChart {
    let count = days.len().max(2);
    let x_of = |i: usize| LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (count - 1) as f64;
    let y_of = |pct: f64| TREND_HEIGHT - BOTTOM - (TREND_HEIGHT - TOP - BOTTOM) * pct.clamp(0.0, 100.0) / 100.0;
    let series = |pick: fn(&FillPair) -> Option<rust_decimal::Decimal>| -> Vec<Option<(f64, f64)>> {
        days.iter()
            .enumerate()
            .map(|(i, day)| pick(&day.figures).and_then(|v| v.to_f64()).map(|v| (x_of(i), y_of(v))))
            .collect()
    };
    let (first_time, first_time_dots) = runs(&series(|pair| pair.first_time.unit_fill_rate_pct));
    let (ended, ended_dots) = runs(&series(|pair| pair.ended.unit_fill_rate_pct));
    let last = days.len().saturating_sub(1);
    TrendChart {
        first_time,
        ended,
        first_time_dots,
        ended_dots,
        y_ticks: (0..=4).map(|k| (y_of(25.0 * k as f64), format!("{}%", 25 * k))).collect(),
        // Weekly, counted back from the last day so that it is always labelled.
        x_ticks: days
            .iter()
            .enumerate()
            .filter(|(i, _)| (last - i).is_multiple_of(7))
            .map(|(i, day)| (x_of(i), day.date.format("%b %-d").to_string()))
            .collect(),
        left: LEFT,
        right: WIDTH - RIGHT,
        bottom: TREND_HEIGHT - BOTTOM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_trend_breaks_where_a_day_had_no_orders() {
        let figures = |pct: Option<&str>| {
            serde_json::json!({
                "orders": 1, "orders_filled": 1, "order_fill_rate_pct": pct, "lines": 1, "lines_filled": 1,
                "line_fill_rate_pct": pct, "units": 1, "units_filled": 1, "unit_fill_rate_pct": pct
            })
        };
        let days: Vec<Dated<FillPair>> =
            [Some("100.00"), Some("50.00"), None, Some("0.00"), None, None, None, Some("75.00")]
                .iter()
                .enumerate()
                .map(|(i, pct)| {
                    serde_json::from_value(serde_json::json!({
                        "date": format!("2026-12-0{}", i + 1), "first_time": figures(*pct), "final": figures(None)
                    }))
                    .expect("a day")
                })
                .collect();
        let chart = fill_trend(&days);
        // Days 1–2 are a line; day 4 and day 8 stand alone: dots only.
        assert_eq!(chart.first_time.len(), 1);
        assert_eq!(chart.first_time_dots.len(), 4);
        assert_eq!((chart.ended.len(), chart.ended_dots.len()), (0, 0));
        let (x1, y1) = chart.first_time_dots[0];
        let (_, y2) = chart.first_time_dots[1];
        assert_eq!(x1, LEFT);
        assert_eq!((y1, y2), (TOP, (TOP + TREND_HEIGHT - BOTTOM) / 2.0), "100% at the top, 50% half way");
        assert_eq!(chart.first_time_dots[2].1, TREND_HEIGHT - BOTTOM, "0% on the axis");
        let labels: Vec<&str> = chart.x_ticks.iter().map(|(_, label)| label.as_str()).collect();
        assert_eq!(labels, ["Dec 1", "Dec 8"], "weekly, back from the last day");
    }

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
