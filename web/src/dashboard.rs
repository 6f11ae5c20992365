//! The managers' dashboard as plain values: a tile per KPI with its trend against the window
//! before, the daily fill-rate lines, the backlog bars, and the drill-downs (the SKUs behind the
//! fill rate, the channels behind the cycle time). The view only shows these.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use stockline_shared::metrics::{
    self, CurrencyMargin, CycleFigures, CycleTime, FillFigures, FillRate, Margin, SupplierFigures, Suppliers,
};
use stockline_shared::AlertsResponse;

/// Alerts the dashboard reads (the newest).
pub const ALERTS_SHOWN_MAX: u32 = 50;

/// What the dashboard reads: the fill rate by SKU, the cycle time by channel and supplier
/// performance by supplier, all over the last 30 days (kept together on the device for offline
/// reading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub fill: FillRate,
    pub cycle: CycleTime,
    /// None in a copy saved before the app read supplier figures: the tile says so.
    #[serde(default)]
    pub suppliers: Option<Suppliers>,
    /// Margin leaks by SKU; none in a copy saved before the app read them.
    #[serde(default)]
    pub margin: Option<Margin>,
    /// Every team's alerts, newest first; none in a copy saved before the app read them.
    #[serde(default)]
    pub alerts: Option<AlertsResponse>,
}

/// One alert as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRow {
    /// `predicted_stockout`, … (a style hook).
    pub kind: String,
    /// "Predicted stockout · purchasing".
    pub title: String,
    /// What it is about: "SKU TEE", "order SO-000004", "supplier basics-co".
    pub about: String,
    pub message: String,
    /// "Dec 4, 10:42 UTC".
    pub raised: String,
}

/// Whether a rise is good news.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// One KPI: its figure, what it is made of, and how it moved against the window before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// `fill-first`, `fill-final`, `cycle`, `backlog`: also what a tap drills into.
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub detail: String,
    pub trend: String,
    /// `good`, `bad`, `flat` or `none` (nothing to compare).
    pub class: &'static str,
}

impl Tile {
    /// A KPI a copy saved by an older app does not hold.
    fn not_saved(id: &'static str, label: &'static str) -> Tile {
        Tile {
            id,
            label,
            value: "—".to_string(),
            detail: "not in this saved copy".to_string(),
            trend: "refresh online to see it".to_string(),
            class: "none",
        }
    }
}

/// One SKU behind the fill rate, the worst first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkuFill {
    pub sku: String,
    pub first_time: String,
    pub ended: String,
    pub units: String,
}

/// One channel behind the cycle time, the slowest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelCycle {
    pub channel: String,
    pub shipped: i64,
    pub p50: String,
    pub p90: String,
}

/// One supplier behind the on-time-in-full figure, drifting first, then the worst.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplierRow {
    pub supplier: String,
    pub on_time_in_full: String,
    pub fill: String,
    /// "6.0 ± 4.0 days", with "· drifting" when σ doubled.
    pub lead_time: String,
    pub qc_rejects: String,
    pub price_variance: String,
}

/// One SKU behind the margin leak, the largest first: amounts in each currency it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkuLeak {
    pub sku: String,
    pub leak: String,
    pub lost_sales: String,
    pub stockout_days: String,
    pub price_variance: String,
}

/// `amounts` of each currency, "5.00 EUR · 2.50 USD"; "—" with none.
fn amounts(currencies: &[CurrencyMargin], amount: impl Fn(&CurrencyMargin) -> Option<Decimal>) -> String {
    let shown: Vec<String> =
        currencies.iter().filter_map(|c| amount(c).map(|value| format!("{value} {}", c.currency))).collect();
    if shown.is_empty() {
        "—".to_string()
    } else {
        shown.join(" · ")
    }
}

/// A bar of a breakdown, its length in percent of the longest.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub count: i64,
    pub width_pct: f64,
}

fn percent(value: Option<Decimal>) -> String {
    value.map_or("—".to_string(), |v| {
        format!("{:.1}%", v.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
    })
}

/// A duration at reading precision: "45 s", "12 min", "3.5 h", "2.1 days".
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", (s + 30) / 60),
        s if s < 86_400 => format!("{:.1} h", s as f64 / 3_600.0),
        s => format!("{:.1} days", s as f64 / 86_400.0),
    }
}

/// How `now` moved against `before`: the arrow and change (`change`), the level before (`level`),
/// and whether that is good news.
fn trend(
    now: Option<f64>,
    before: Option<f64>,
    better: Better,
    days: usize,
    change: impl Fn(f64) -> String,
    level: impl Fn(f64) -> String,
) -> (String, &'static str) {
    let (Some(now), Some(before)) = (now, before) else {
        return (format!("nothing to compare in the {days} days before"), "none");
    };
    let delta = now - before;
    if delta.abs() < 0.05 {
        return (format!("same as the {days} days before"), "flat");
    }
    let rose = delta > 0.0;
    let class = if rose == (better == Better::Higher) { "good" } else { "bad" };
    let arrow = if rose { "▲" } else { "▼" };
    (format!("{arrow} {} vs the {days} days before ({})", change(delta.abs()), level(before)), class)
}

/// "1 order shipped", "3 orders shipped" (`after` may be empty).
fn counted(n: i64, one: &str, many: &str, after: &str) -> String {
    let noun = if n == 1 { one } else { many };
    format!("{n} {noun} {after}").trim_end().to_string()
}

fn rate(figures: &FillFigures) -> Option<f64> {
    figures.unit_fill_rate_pct.and_then(|v| v.to_f64())
}

/// "+1.3%", "−0.5%": a variance keeps its sign.
fn signed_percent(value: Option<Decimal>) -> String {
    match value {
        Some(v) if v.is_sign_positive() && !v.is_zero() => format!("+{}", percent(Some(v))),
        Some(v) if v.is_sign_negative() => format!("−{}", percent(Some(-v))),
        other => percent(other),
    }
}

fn lead_time(figures: &SupplierFigures) -> String {
    let measured = match (figures.lead_time_days_mean, figures.lead_time_days_std) {
        (Some(mean), Some(std)) => format!("{mean:.1} ± {std:.1} days"),
        _ => "—".to_string(),
    };
    if figures.lead_time_drift {
        format!("{measured} · drifting")
    } else {
        measured
    }
}

impl Dashboard {
    fn days(&self) -> usize {
        self.fill.days.len()
    }

    pub fn tiles(&self) -> Vec<Tile> {
        let days = self.days();
        let fill_tile = |id, label, now: &FillFigures, before: &FillFigures| {
            let points = |v: f64| format!("{v:.1} pts");
            let level = |v: f64| format!("{v:.1}%");
            let (trend, class) = trend(rate(now), rate(before), Better::Higher, days, points, level);
            Tile {
                id,
                label,
                value: percent(now.unit_fill_rate_pct),
                detail: format!(
                    "{} of {} units · {} of {} complete",
                    now.units_filled,
                    now.units,
                    now.orders_filled,
                    counted(now.orders, "order", "orders", "")
                ),
                trend,
                class,
            }
        };
        let fill = &self.fill.figures;
        let previous = &self.fill.previous;
        let cycle: &CycleFigures = &self.cycle.window.figures;
        let cycle_before = &self.cycle.window.previous;
        let (cycle_trend, cycle_class) = trend(
            cycle.p90_seconds.map(|s| s as f64),
            cycle_before.p90_seconds.map(|s| s as f64),
            Better::Lower,
            days,
            |v| duration(v as i64),
            |v| duration(v as i64),
        );
        let backlog = &self.cycle.backlog;
        let old: i64 =
            backlog.by_age.iter().filter(|band| band.band == metrics::OLDEST_AGE_BAND).map(|band| band.orders).sum();
        vec![
            fill_tile("fill-first", "First-time fill", &fill.first_time, &previous.first_time),
            fill_tile("fill-final", "Final fill", &fill.ended, &previous.ended),
            Tile {
                id: "cycle",
                label: "Cycle time p90",
                value: cycle.p90_seconds.map_or("—".to_string(), duration),
                detail: format!(
                    "p50 {} · {}",
                    cycle.p50_seconds.map_or("—".to_string(), duration),
                    counted(cycle.shipped, "order", "orders", "shipped")
                ),
                trend: cycle_trend,
                class: cycle_class,
            },
            Tile {
                id: "backlog",
                label: "Open orders",
                value: backlog.orders.to_string(),
                detail: format!("{old} open 7 days or more"),
                trend: "counted as of now".to_string(),
                class: if old > 0 { "bad" } else { "none" },
            },
            self.supplier_tile(days),
            self.margin_tile(days),
        ]
    }

    /// The leak in the currency that leaked most, its parts, and its trend.
    fn margin_tile(&self, days: usize) -> Tile {
        const ID: &str = "margin";
        const LABEL: &str = "Margin leaks";
        let Some(margin) = &self.margin else { return Tile::not_saved(ID, LABEL) };
        let Some(now) = margin.figures.currencies.iter().max_by_key(|c| c.leak) else {
            return Tile {
                id: ID,
                label: LABEL,
                value: "—".to_string(),
                detail: "no sales, shipping or invoices in this window".to_string(),
                trend: "nothing to compare".to_string(),
                class: "none",
            };
        };
        let before = margin.previous.currencies.iter().find(|c| c.currency == now.currency).map(|c| c.leak);
        let money = |v: f64| format!("{v:.2} {}", now.currency);
        let (trend, class) = trend(
            now.leak.to_f64(),
            Some(before.unwrap_or(Decimal::ZERO).to_f64().unwrap_or(0.0)),
            Better::Lower,
            days,
            money,
            money,
        );
        let mut detail = format!(
            "lost sales {} · split {} · expedite {} · price {}",
            now.lost_sales.map_or("—".to_string(), |v| v.to_string()),
            now.split_shipment_cost,
            now.expedite_cost,
            now.price_variance
        );
        if margin.figures.currencies.len() > 1 {
            detail.push_str(&format!(" · {} currencies", margin.figures.currencies.len()));
        }
        Tile { id: ID, label: LABEL, value: format!("{} {}", now.leak, now.currency), detail, trend, class }
    }

    /// The SKUs behind the margin leak, as the server ranks them (the largest first).
    pub fn leaks(&self) -> Vec<SkuLeak> {
        let Some(margin) = &self.margin else { return Vec::new() };
        margin
            .groups
            .iter()
            .map(|group| SkuLeak {
                sku: group.key.clone(),
                leak: amounts(&group.figures.currencies, |c| Some(c.leak)),
                lost_sales: amounts(&group.figures.currencies, |c| c.lost_sales),
                stockout_days: group.figures.stockout_days.map_or("—".to_string(), |d| d.to_string()),
                price_variance: amounts(&group.figures.currencies, |c| Some(c.price_variance)),
            })
            .collect()
    }

    fn supplier_tile(&self, days: usize) -> Tile {
        let Some(suppliers) = &self.suppliers else {
            return Tile::not_saved("suppliers", "Suppliers on time in full");
        };
        let now = &suppliers.figures;
        let pct = |f: &SupplierFigures| f.on_time_in_full_pct.and_then(|v| v.to_f64());
        let points = |v: f64| format!("{v:.1} pts");
        let level = |v: f64| format!("{v:.1}%");
        let (trend, class) = trend(pct(now), pct(&suppliers.previous), Better::Higher, days, points, level);
        let drifting = suppliers.groups.iter().filter(|group| group.figures.lead_time_drift).count();
        let mut detail = format!(
            "{} of {} · fill {}",
            now.lines_on_time_in_full,
            counted(now.lines_due, "line", "lines", "due"),
            percent(now.fill_rate_pct)
        );
        if drifting > 0 {
            detail.push_str(&format!(
                " · {} with lead time drifting",
                counted(drifting as i64, "supplier", "suppliers", "")
            ));
        }
        Tile {
            id: "suppliers",
            label: "Suppliers on time in full",
            value: percent(now.on_time_in_full_pct),
            detail,
            trend,
            class: if drifting > 0 { "bad" } else { class },
        }
    }

    /// The alerts, newest first (the server's order); None when this copy has none read.
    pub fn alerts(&self) -> Option<Vec<AlertRow>> {
        let alerts = self.alerts.as_ref()?;
        Some(
            alerts
                .alerts
                .iter()
                .map(|alert| {
                    let kind = match alert.kind.as_str() {
                        "predicted_stockout" => "Predicted stockout",
                        "dead_stock" => "Dead stock",
                        "demand_anomaly" => "Demand anomaly",
                        "sla_at_risk" => "SLA at risk",
                        "supplier_drift" => "Supplier lead time drifting",
                        other => other,
                    };
                    let about = [
                        alert.order.as_ref().map(|order| format!("order {order}")),
                        alert.sku.as_ref().map(|sku| format!("SKU {sku}")),
                        alert.supplier.as_ref().map(|supplier| format!("supplier {supplier}")),
                    ];
                    AlertRow {
                        kind: alert.kind.clone(),
                        title: format!("{kind} · {}", alert.owner.replace('_', " ")),
                        about: about.into_iter().flatten().collect::<Vec<_>>().join(" · "),
                        message: alert.message.clone(),
                        raised: alert.raised_at.format("%b %-d, %H:%M UTC").to_string(),
                    }
                })
                .collect(),
        )
    }

    /// The suppliers behind the on-time-in-full figure, as the server ranks them (drifting
    /// first, then the lowest on time).
    pub fn suppliers(&self) -> Vec<SupplierRow> {
        let Some(suppliers) = &self.suppliers else { return Vec::new() };
        suppliers
            .groups
            .iter()
            .map(|group| SupplierRow {
                supplier: group.key.clone(),
                on_time_in_full: percent(group.figures.on_time_in_full_pct),
                fill: percent(group.figures.fill_rate_pct),
                lead_time: lead_time(&group.figures),
                qc_rejects: percent(group.figures.qc_reject_pct),
                price_variance: signed_percent(group.figures.price_variance_pct),
            })
            .collect()
    }

    /// The SKUs behind the fill rate, the worst final fill first (the server's order).
    pub fn skus(&self) -> Vec<SkuFill> {
        self.fill
            .groups
            .iter()
            .map(|group| SkuFill {
                sku: group.key.clone(),
                first_time: percent(group.figures.first_time.unit_fill_rate_pct),
                ended: percent(group.figures.ended.unit_fill_rate_pct),
                units: format!("{} of {}", group.figures.first_time.units_filled, group.figures.first_time.units),
            })
            .collect()
    }

    /// The channels behind the cycle time, the slowest p90 first.
    pub fn channels(&self) -> Vec<ChannelCycle> {
        self.cycle
            .window
            .groups
            .iter()
            .map(|group| ChannelCycle {
                channel: group.key.clone(),
                shipped: group.figures.shipped,
                p50: group.figures.p50_seconds.map_or("—".to_string(), duration),
                p90: group.figures.p90_seconds.map_or("—".to_string(), duration),
            })
            .collect()
    }

    /// Open orders by age, then by state: bars against the longest of each.
    pub fn backlog_bars(&self) -> (Vec<Bar>, Vec<Bar>) {
        let backlog = &self.cycle.backlog;
        let bars = |rows: Vec<(String, i64)>| {
            let longest = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
            rows.into_iter()
                .map(|(label, count)| Bar { label, count, width_pct: 100.0 * count as f64 / longest as f64 })
                .collect::<Vec<Bar>>()
        };
        let ages = backlog.by_age.iter().map(|band| (band.band.replace('_', " "), band.orders)).collect();
        let states = backlog.by_state.iter().map(|(state, n)| (state.replace('_', " "), *n)).collect();
        (bars(ages), bars(states))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard() -> Dashboard {
        let figures = |orders: i64, filled: i64, units: i64, units_filled: i64, pct: Option<&str>| {
            serde_json::json!({
                "orders": orders, "orders_filled": filled, "order_fill_rate_pct": null,
                "lines": orders, "lines_filled": filled, "line_fill_rate_pct": null,
                "units": units, "units_filled": units_filled, "unit_fill_rate_pct": pct
            })
        };
        let fill = serde_json::json!({
            "from": "2026-11-04", "to": "2026-12-03", "by": "sku",
            "first_time": figures(4, 2, 10, 6, Some("60.00")),
            "final": figures(3, 2, 9, 7, Some("77.78")),
            "previous": {"first_time": figures(2, 2, 4, 4, Some("100.00")), "final": figures(0, 0, 0, 0, None)},
            "groups": [
                {"key": "SOCK", "first_time": figures(1, 0, 2, 0, Some("0.00")), "final": figures(1, 0, 2, 0, Some("0.00"))},
                {"key": "TEE", "first_time": figures(3, 2, 8, 6, Some("75.00")), "final": figures(2, 2, 7, 7, Some("100.00"))}
            ],
            "days": (0..30).map(|_| serde_json::json!({"date": "2026-12-03", "first_time": figures(0, 0, 0, 0, None), "final": figures(0, 0, 0, 0, None)})).collect::<Vec<_>>()
        });
        let cycle = serde_json::json!({
            "from": "2026-11-04", "to": "2026-12-03", "by": "channel",
            "shipped": 2, "p50_seconds": 7881, "p90_seconds": 113583,
            "previous": {"shipped": 1, "p50_seconds": 3679, "p90_seconds": 3679},
            "groups": [{"key": "web", "shipped": 2, "p50_seconds": 7881, "p90_seconds": 113583}],
            "days": [],
            "backlog": {"orders": 3, "by_state": {"allocated": 1, "placed": 2},
                "by_age": [{"band": "under_1_day", "orders": 1}, {"band": "1_to_2_days", "orders": 0},
                    {"band": "2_to_7_days", "orders": 0}, {"band": "7_days_or_more", "orders": 2}]}
        });
        let supplier = |due: i64,
                        otif: i64,
                        pct: Option<&str>,
                        mean: Option<f64>,
                        std: Option<f64>,
                        drift: bool,
                        variance: Option<&str>| {
            serde_json::json!({
                "lines_due": due, "lines_on_time_in_full": otif, "on_time_in_full_pct": pct,
                "units_due": due * 10, "units_received": due * 10, "fill_rate_pct": if due > 0 { Some("100.00") } else { None },
                "lead_time_samples": due, "lead_time_days_mean": mean, "lead_time_days_std": std,
                "lead_time_drift": drift, "received": due * 10, "quarantined": 0,
                "qc_reject_pct": if due > 0 { Some("0.00") } else { None },
                "invoice_lines": 1, "price_variance_pct": variance
            })
        };
        let mut total = supplier(4, 3, Some("75.00"), Some(8.5), Some(3.89), false, Some("1.25"));
        let mut groups = vec![
            supplier(3, 2, Some("66.67"), Some(6.0), Some(4.0), true, Some("-0.50")),
            supplier(1, 1, Some("100.00"), Some(11.0), Some(1.0), false, Some("0.00")),
        ];
        groups[0]["key"] = "basics-co".into();
        groups[1]["key"] = "slow-co".into();
        for (field, value) in [("from", "2026-11-04"), ("to", "2026-12-03"), ("by", "supplier")] {
            total[field] = value.into();
        }
        total["previous"] = supplier(2, 2, Some("100.00"), Some(6.0), Some(1.0), false, None);
        total["groups"] = groups.into();
        total["days"] = serde_json::json!([]);
        Dashboard {
            fill: serde_json::from_value(fill).expect("a fill rate"),
            cycle: serde_json::from_value(cycle).expect("a cycle time"),
            suppliers: Some(serde_json::from_value(total).expect("supplier figures")),
            margin: Some(serde_json::from_value(margin()).expect("margin figures")),
            alerts: Some(
                serde_json::from_value(serde_json::json!({"alerts": [
                    {"id": "sla_at_risk:SO-000004-x1", "kind": "sla_at_risk", "owner": "warehouse", "sku": null,
                     "supplier": null, "order": "SO-000004", "raised_at": "2026-12-03T10:42:05Z",
                     "stockout_date": null, "action": null, "suggestion_qty": 0,
                     "message": "order SO-000004: promise at risk", "link": "/v1/orders/SO-000004"},
                    {"id": "supplier_drift:basics-co", "kind": "supplier_drift", "owner": "purchasing", "sku": null,
                     "supplier": "basics-co", "order": null, "raised_at": "2026-12-03T09:00:00Z",
                     "stockout_date": null, "action": null, "suggestion_qty": 0,
                     "message": "varies twice as much", "link": "/v1/metrics/suppliers?by=supplier"}
                ]}))
                .expect("alerts"),
            ),
        }
    }

    /// Margin by SKU: 13.00 EUR leaked (10.00 before) and 2.50 USD; S1 lost sales in both.
    fn margin() -> serde_json::Value {
        let currency = |code: &str, variance: &str, split: &str, lost: Option<&str>, leak: &str| {
            serde_json::json!({"currency": code, "price_variance": variance, "invoiced": "105.00",
                "shipping_cost": "8.00", "split_shipment_cost": split, "expedite_cost": "0.00", "revenue": "50.00",
                "lost_sales": lost, "leak": leak})
        };
        let figures = |stockout_days: Option<i64>, currencies: Vec<serde_json::Value>| {
            serde_json::json!({"orders_shipped": 2, "orders_split": 1, "orders_expedited": 0,
                "stockout_days": stockout_days, "currencies": currencies})
        };
        let mut total = figures(
            Some(2),
            vec![
                currency("EUR", "5.00", "3.00", Some("5.00"), "13.00"),
                currency("USD", "0.00", "0.00", Some("2.50"), "2.50"),
            ],
        );
        let mut group = figures(
            Some(2),
            vec![
                currency("EUR", "0.00", "0.00", Some("5.00"), "5.00"),
                currency("USD", "0.00", "0.00", Some("2.50"), "2.50"),
            ],
        );
        group["key"] = "S1".into();
        let mut quiet = figures(Some(0), vec![currency("EUR", "-1.00", "0.00", None, "0.00")]);
        quiet["key"] = "S2".into();
        for (field, value) in [("from", "2026-11-04"), ("to", "2026-12-03"), ("by", "sku")] {
            total[field] = value.into();
        }
        total["previous"] = figures(Some(1), vec![currency("EUR", "0.00", "0.00", Some("10.00"), "10.00")]);
        total["groups"] = serde_json::json!([group, quiet]);
        total["days"] = serde_json::json!([]);
        total
    }

    #[test]
    fn margin_drill_down_shows_each_currency() {
        let rows: Vec<(String, String, String, String, String)> = dashboard()
            .leaks()
            .into_iter()
            .map(|row| (row.sku, row.leak, row.lost_sales, row.stockout_days, row.price_variance))
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "S1".into(),
                    "5.00 EUR · 2.50 USD".into(),
                    "5.00 EUR · 2.50 USD".into(),
                    "2".into(),
                    "0.00 EUR · 0.00 USD".into()
                ),
                ("S2".into(), "0.00 EUR".into(), "—".into(), "0".into(), "-1.00 EUR".into()),
            ]
        );
    }

    #[test]
    fn tiles_say_the_figure_what_it_is_made_of_and_the_trend() {
        let tiles: Vec<(&str, String, String, String, &str)> =
            dashboard().tiles().into_iter().map(|t| (t.id, t.value, t.detail, t.trend, t.class)).collect();
        assert_eq!(
            tiles,
            vec![
                (
                    "fill-first",
                    "60.0%".to_string(),
                    "6 of 10 units · 2 of 4 orders complete".to_string(),
                    "▼ 40.0 pts vs the 30 days before (100.0%)".to_string(),
                    "bad"
                ),
                (
                    "fill-final",
                    "77.8%".to_string(),
                    "7 of 9 units · 2 of 3 orders complete".to_string(),
                    "nothing to compare in the 30 days before".to_string(),
                    "none"
                ),
                (
                    "cycle",
                    "1.3 days".to_string(),
                    "p50 2.2 h · 2 orders shipped".to_string(),
                    "▲ 1.3 days vs the 30 days before (1.0 h)".to_string(),
                    "bad"
                ),
                (
                    "backlog",
                    "3".to_string(),
                    "2 open 7 days or more".to_string(),
                    "counted as of now".to_string(),
                    "bad"
                ),
                (
                    "suppliers",
                    "75.0%".to_string(),
                    "3 of 4 lines due · fill 100.0% · 1 supplier with lead time drifting".to_string(),
                    "▼ 25.0 pts vs the 30 days before (100.0%)".to_string(),
                    "bad"
                ),
                (
                    "margin",
                    "13.00 EUR".to_string(),
                    "lost sales 5.00 · split 3.00 · expedite 0.00 · price 5.00 · 2 currencies".to_string(),
                    "▲ 3.00 EUR vs the 30 days before (10.00 EUR)".to_string(),
                    "bad"
                ),
            ]
        );
    }

    #[test]
    fn suppliers_drill_down_flags_drift_and_signs_the_variance() {
        let rows: Vec<(String, String, String, String)> = dashboard()
            .suppliers()
            .into_iter()
            .map(|row| (row.supplier, row.on_time_in_full, row.lead_time, row.price_variance))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("basics-co".into(), "66.7%".into(), "6.0 ± 4.0 days · drifting".into(), "−0.5%".into()),
                ("slow-co".into(), "100.0%".into(), "11.0 ± 1.0 days".into(), "0.0%".into()),
            ]
        );
        // A copy saved before the app read supplier figures and margins still opens, and says
        // what it lacks.
        let old = Dashboard { suppliers: None, margin: None, alerts: None, ..dashboard() };
        let saved: Dashboard = serde_json::from_str(
            &serde_json::to_string(&serde_json::json!({"fill": dashboard().fill, "cycle": dashboard().cycle}))
                .expect("json"),
        )
        .expect("an older copy");
        assert_eq!(saved, old);
        for tile in old.tiles().into_iter().filter(|tile| ["suppliers", "margin"].contains(&tile.id)) {
            assert_eq!((tile.value.as_str(), tile.detail.as_str()), ("—", "not in this saved copy"), "{}", tile.id);
        }
        assert!(old.suppliers().is_empty() && old.leaks().is_empty());
        assert_eq!(old.alerts(), None);
    }

    #[test]
    fn alerts_say_what_they_are_about_and_for_whom() {
        let rows: Vec<(String, String, String)> = dashboard()
            .alerts()
            .expect("alerts read")
            .into_iter()
            .map(|row| (row.title, row.about, row.raised))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("SLA at risk · warehouse".into(), "order SO-000004".into(), "Dec 3, 10:42 UTC".into()),
                (
                    "Supplier lead time drifting · purchasing".into(),
                    "supplier basics-co".into(),
                    "Dec 3, 09:00 UTC".into()
                ),
            ]
        );
    }

    #[test]
    fn drill_downs_and_bars() {
        let d = dashboard();
        let skus: Vec<(String, String, String)> = d.skus().into_iter().map(|s| (s.sku, s.ended, s.units)).collect();
        assert_eq!(
            skus,
            vec![
                ("SOCK".to_string(), "0.0%".to_string(), "0 of 2".to_string()),
                ("TEE".to_string(), "100.0%".to_string(), "6 of 8".to_string())
            ]
        );
        assert_eq!(d.channels()[0].p90, "1.3 days");
        let (ages, states) = d.backlog_bars();
        let widths: Vec<(String, i64, f64)> = ages.into_iter().map(|b| (b.label, b.count, b.width_pct)).collect();
        assert_eq!(widths[0], ("under 1 day".to_string(), 1, 50.0));
        assert_eq!(widths[3], ("7 days or more".to_string(), 2, 100.0));
        assert_eq!(states.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["allocated", "placed"]);
    }

    #[test]
    fn durations_read_at_their_scale() {
        for (seconds, text) in [(45, "45 s"), (60, "1 min"), (7_881, "2.2 h"), (113_583, "1.3 days")] {
            assert_eq!(duration(seconds), text);
        }
    }
}
