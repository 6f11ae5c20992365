//! The SKU plan chart, laid out as plain numbers (drawn as SVG by the view): the last weeks of
//! demand, the forecast, the projected on-hand line with the stockout day, the reorder point and
//! the safety stock. No JavaScript chart library.

use stockline_shared::Plan;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_steps() {
        for (max, step) in [(3.0, 1.0), (9.0, 2.0), (47.0, 10.0), (230.0, 50.0), (1200.0, 500.0)] {
            assert_eq!(step_for(max), step, "{max}");
        }
    }
}
