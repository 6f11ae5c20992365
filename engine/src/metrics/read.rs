//! A window's figures from its buckets: sums, rates, percentiles, the day series, the previous
//! period of the same length (for the trend), and the breakdown.

use super::facts::{cycle_bin_upper_seconds, CYCLE_BINS};
use super::{dim, metric};
use crate::error::EngineError;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Days one window may span at most.
pub const WINDOW_DAYS_MAX: i64 = 366;
/// Days a window spans when a query names no `from`.
pub const WINDOW_DAYS_DEFAULT: u32 = 30;
/// Groups a breakdown answers at most (the worst first).
pub const GROUPS_MAX: usize = 200;

/// `from..=to`, whole UTC days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Window, EngineError> {
        if from > to {
            return Err(EngineError::invalid("from", format!("{from} is after to ({to})")));
        }
        let window = Window { from, to };
        if window.days() > WINDOW_DAYS_MAX {
            return Err(EngineError::invalid("to", format!("a window spans at most {WINDOW_DAYS_MAX} days")));
        }
        Ok(window)
    }

    /// The last `days` days up to `today`.
    pub fn ending(today: NaiveDate, days: u32) -> Window {
        assert!(days >= 1 && i64::from(days) <= WINDOW_DAYS_MAX);
        Window { from: today - Days::new(u64::from(days) - 1), to: today }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The window of the same length just before this one.
    pub fn previous(&self) -> Window {
        let days = self.days() as u64;
        Window { from: self.from - Days::new(days), to: self.from - Days::new(1) }
    }

    pub(super) fn holds(&self, day: NaiveDate) -> bool {
        (self.from..=self.to).contains(&day)
    }

    pub(super) fn each_day(&self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take(self.days() as usize)
    }
}

/// What a figure is broken down by (`?by=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsBy {
    Sku,
    Location,
    Channel,
    Supplier,
}

impl MetricsBy {
    pub const ALL: [MetricsBy; 4] = [MetricsBy::Sku, MetricsBy::Location, MetricsBy::Channel, MetricsBy::Supplier];

    pub fn dim(self) -> &'static str {
        match self {
            MetricsBy::Sku => dim::SKU,
            MetricsBy::Location => dim::LOCATION,
            MetricsBy::Channel => dim::CHANNEL,
            MetricsBy::Supplier => dim::SUPPLIER,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.dim()
    }
}

/// The reports (`GET /v1/metrics/{report}`) and what each breaks down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Report {
    FillRate,
    CycleTime,
    StockHealth,
    Suppliers,
    Margin,
}

impl Report {
    pub const ALL: [Report; 5] =
        [Report::FillRate, Report::CycleTime, Report::StockHealth, Report::Suppliers, Report::Margin];

    pub fn as_str(self) -> &'static str {
        match self {
            Report::FillRate => "fill-rate",
            Report::CycleTime => "cycle-time",
            Report::StockHealth => "stock-health",
            Report::Suppliers => "suppliers",
            Report::Margin => "margin",
        }
    }

    /// Whether it covers a window of days (stock health is a gauge: as of now).
    pub fn windowed(self) -> bool {
        self != Report::StockHealth
    }

    pub fn from_name(name: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|report| report.as_str() == name)
    }

    /// What its figures are kept by: orders by SKU and channel (and, once shipped, by the
    /// locations they shipped from), purchase orders by supplier, SKU and location.
    pub fn breakdowns(self) -> &'static [MetricsBy] {
        match self {
            Report::FillRate => &[MetricsBy::Sku, MetricsBy::Channel],
            Report::CycleTime => &[MetricsBy::Sku, MetricsBy::Location, MetricsBy::Channel],
            Report::Suppliers => &[MetricsBy::Sku, MetricsBy::Location, MetricsBy::Supplier],
            Report::StockHealth => &[MetricsBy::Sku, MetricsBy::Location],
            // Price variance and lost sales by SKU, order costs and revenue by channel, price
            // variance by supplier.
            Report::Margin => &[MetricsBy::Sku, MetricsBy::Channel, MetricsBy::Supplier],
        }
    }

    /// The window a query asks for: `from..=to`, `to` today unless given, `from` the
    /// `WINDOW_DAYS_DEFAULT` days up to `to` unless given. A report as of now (stock health)
    /// takes neither.
    pub fn window(
        self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Window, EngineError> {
        if !self.windowed() {
            if let Some(name) = [("from", from.is_some()), ("to", to.is_some())].iter().find(|(_, given)| *given) {
                return Err(EngineError::invalid(
                    name.0,
                    format!("{} is as of now: it takes no window", self.as_str()),
                ));
            }
        }
        let to = to.unwrap_or(today);
        match from {
            Some(from) => Window::new(from, to),
            None => Ok(Window::ending(to, WINDOW_DAYS_DEFAULT)),
        }
    }

    /// `by`, if this report is kept by it.
    pub fn check_by(self, by: MetricsBy) -> Result<MetricsBy, EngineError> {
        if self.breakdowns().contains(&by) {
            return Ok(by);
        }
        let names: Vec<&str> = self.breakdowns().iter().map(|by| by.as_str()).collect();
        Err(EngineError::invalid(
            "by",
            format!("{} breaks down by {}, not {}", self.as_str(), names.join(", "), by.as_str()),
        ))
    }
}

/// One summed bucket as the host reads it back. Its names borrow from the text the host read
/// (a breakdown over 10,000 SKUs is 100,000 rows: no three allocations per row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRow<'a> {
    #[serde(borrow)]
    pub metric: Cow<'a, str>,
    #[serde(borrow)]
    pub dim: Cow<'a, str>,
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    pub day: NaiveDate,
    pub bin: u32,
    pub values: [i64; 6],
}

pub(super) fn add(into: &mut [i64; 6], values: &[i64; 6]) {
    for (total, value) in into.iter_mut().zip(values) {
        *total += value;
    }
}

/// `part / whole` in percent, two decimals; none when there is nothing to divide.
pub(super) fn pct(part: i64, whole: i64) -> Option<Decimal> {
    (whole > 0).then(|| {
        let mut rate = (Decimal::from(part) * Decimal::from(100) / Decimal::from(whole)).round_dp(2);
        rate.rescale(2);
        rate
    })
}

/// Order, line and unit fill of some orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillFigures {
    pub orders: i64,
    pub orders_filled: i64,
    pub order_fill_rate_pct: Option<Decimal>,
    pub lines: i64,
    pub lines_filled: i64,
    pub line_fill_rate_pct: Option<Decimal>,
    pub units: i64,
    pub units_filled: i64,
    pub unit_fill_rate_pct: Option<Decimal>,
}

impl FillFigures {
    fn of(values: &[i64; 6]) -> FillFigures {
        let [orders, orders_filled, lines, lines_filled, units, units_filled] = *values;
        assert!(
            (0..=orders).contains(&orders_filled)
                && (0..=lines).contains(&lines_filled)
                && (0..=units).contains(&units_filled),
            "fill buckets count no more filled than ordered: {values:?}"
        );
        FillFigures {
            orders,
            orders_filled,
            order_fill_rate_pct: pct(orders_filled, orders),
            lines,
            lines_filled,
            line_fill_rate_pct: pct(lines_filled, lines),
            units,
            units_filled,
            unit_fill_rate_pct: pct(units_filled, units),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillPair {
    /// At the first allocation.
    pub first_time: FillFigures,
    /// Once the orders ended (shipped or cancelled), substitutes counted; orders still open are
    /// not in it yet.
    #[serde(rename = "final")]
    pub ended: FillFigures,
}

impl FillPair {
    fn of(sums: &[[i64; 6]; 2]) -> FillPair {
        FillPair { first_time: FillFigures::of(&sums[0]), ended: FillFigures::of(&sums[1]) }
    }
}

/// One group of a breakdown: its key (the channel, the SKU) and its figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyed<F> {
    pub key: String,
    #[serde(flatten)]
    pub figures: F,
}

/// One day of a window's series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dated<F> {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: F,
}

/// A window's figures: the total, the window of the same length before it (the trend), the
/// breakdown (at most 200 groups, the worst first) and one entry per day of the window, the days
/// with nothing included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFigures<F> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: Option<MetricsBy>,
    #[serde(flatten)]
    pub figures: F,
    pub previous: F,
    pub groups: Vec<Keyed<F>>,
    pub days: Vec<Dated<F>>,
}

/// `GET /v1/metrics/fill-rate`: orders placed in the window; groups lowest final unit fill first
/// (then lowest first-time).
pub type FillRate = WindowFigures<FillPair>;

fn fill_slot(name: &str) -> Option<usize> {
    match name {
        metric::FILL_FIRST => Some(0),
        metric::FILL_FINAL => Some(1),
        _ => None,
    }
}

/// The fill rate of `window` from buckets of the window and the one before it (both dims: all,
/// and `by`'s).
pub fn read_fill_rate(rows: &[BucketRow<'_>], window: Window, by: Option<MetricsBy>) -> FillRate {
    let previous_window = window.previous();
    let (mut total, mut previous) = ([[0; 6]; 2], [[0; 6]; 2]);
    let mut days: BTreeMap<NaiveDate, [[i64; 6]; 2]> = window.each_day().map(|day| (day, [[0; 6]; 2])).collect();
    let mut groups: BTreeMap<&str, [[i64; 6]; 2]> = BTreeMap::new();
    for row in rows {
        let Some(slot) = fill_slot(&row.metric) else { continue };
        if row.dim == dim::ALL {
            if window.holds(row.day) {
                add(&mut total[slot], &row.values);
                add(&mut days.entry(row.day).or_insert([[0; 6]; 2])[slot], &row.values);
            } else if previous_window.holds(row.day) {
                add(&mut previous[slot], &row.values);
            }
        } else if by.is_some_and(|by| by.dim() == row.dim) && window.holds(row.day) {
            add(&mut groups.entry(row.key.as_ref()).or_insert([[0; 6]; 2])[slot], &row.values);
        }
    }
    let mut groups: Vec<Keyed<FillPair>> =
        groups.into_iter().map(|(key, sums)| Keyed { key: key.to_string(), figures: FillPair::of(&sums) }).collect();
    groups.sort_by(|a, b| {
        let rank = |group: &Keyed<FillPair>| {
            (group.figures.ended.unit_fill_rate_pct, group.figures.first_time.unit_fill_rate_pct)
        };
        rank(a).cmp(&rank(b)).then_with(|| a.key.cmp(&b.key))
    });
    groups.truncate(GROUPS_MAX);
    FillRate {
        from: window.from,
        to: window.to,
        by,
        figures: FillPair::of(&total),
        previous: FillPair::of(&previous),
        groups,
        days: days.into_iter().map(|(date, sums)| Dated { date, figures: FillPair::of(&sums) }).collect(),
    }
}

/// Orders shipped and how long they took, placed → shipped; percentiles are the upper bound of
/// the histogram bin they fall in (bins about 10% wide).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleFigures {
    pub shipped: i64,
    pub p50_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    /// Of those shipped, the orders that had a promise, and those shipped after it (absent in
    /// copies the app saved before they were kept).
    #[serde(default)]
    pub promised: i64,
    #[serde(default)]
    pub sla_breaches: i64,
    #[serde(default)]
    pub sla_breach_pct: Option<Decimal>,
}

/// Orders shipped by cycle-time bin, and of them promised and shipped late.
#[derive(Default)]
struct Shipped {
    /// Orders shipped per bin, in bin order, a bin at most once (at most `CYCLE_BINS` entries:
    /// a small sorted list, where a map per group costs a node per bin).
    histogram: Vec<(u32, i64)>,
    promised: i64,
    late: i64,
}

impl Shipped {
    fn add(&mut self, bin: u32, values: &[i64; 6]) {
        assert!(bin < CYCLE_BINS, "bin {bin} is beyond the last");
        match self.histogram.last_mut() {
            // In bin order (a group's rows, sorted): the next bin, or more of the last.
            Some((last, n)) if *last == bin => *n += values[0],
            Some((last, _)) if *last < bin => self.histogram.push((bin, values[0])),
            None => self.histogram.push((bin, values[0])),
            Some(_) => match self.histogram.binary_search_by_key(&bin, |(held, _)| *held) {
                Ok(at) => self.histogram[at].1 += values[0],
                Err(at) => self.histogram.insert(at, (bin, values[0])),
            },
        }
        self.promised += values[1];
        self.late += values[2];
    }
}

impl CycleFigures {
    fn of(shipped: &Shipped) -> CycleFigures {
        let histogram = &shipped.histogram;
        let count: i64 = histogram.iter().map(|(_, n)| n).sum();
        assert!(histogram.iter().all(|(_, n)| *n >= 0), "cycle buckets are counts");
        assert!(histogram.windows(2).all(|pair| pair[0].0 < pair[1].0), "bins in order, each once");
        assert!((0..=count).contains(&shipped.promised) && (0..=shipped.promised).contains(&shipped.late));
        CycleFigures {
            shipped: count,
            p50_seconds: percentile(histogram, count, 50),
            p90_seconds: percentile(histogram, count, 90),
            promised: shipped.promised,
            sla_breaches: shipped.late,
            sla_breach_pct: pct(shipped.late, shipped.promised),
        }
    }
}

/// The nearest-rank percentile: the bin holding the ⌈p·n/100⌉-th smallest time.
fn percentile(histogram: &[(u32, i64)], count: i64, p: i64) -> Option<i64> {
    if count == 0 {
        return None;
    }
    let rank = ((p * count + 99) / 100).max(1);
    let mut seen = 0;
    for (bin, n) in histogram {
        seen += n;
        if seen >= rank {
            return Some(cycle_bin_upper_seconds(*bin));
        }
    }
    unreachable!("the histogram holds {count} times")
}

/// Open orders by the age of their placement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeBand {
    /// `under_1_day`, `1_to_2_days`, `2_to_7_days`, `7_days_or_more`.
    pub band: String,
    pub orders: i64,
}

/// The open orders now (not windowed): by state and by age.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    pub orders: i64,
    pub by_state: BTreeMap<String, i64>,
    pub by_age: Vec<AgeBand>,
}

/// `GET /v1/metrics/cycle-time`: orders shipped in the window (groups slowest p90 first), and
/// the backlog today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleTime {
    #[serde(flatten)]
    pub window: WindowFigures<CycleFigures>,
    pub backlog: Backlog,
}

/// The backlog's last age band: the orders open a week or more.
pub const OLDEST_AGE_BAND: &str = "7_days_or_more";
const AGE_BANDS: [(&str, i64); 4] =
    [("under_1_day", 1), ("1_to_2_days", 2), ("2_to_7_days", 7), (OLDEST_AGE_BAND, i64::MAX)];

/// The cycle time of `window` (buckets of it and the one before, dims all and `by`'s) and the
/// backlog (its buckets, any day) as of `today`.
pub fn read_cycle_time(rows: &[BucketRow<'_>], window: Window, by: Option<MetricsBy>, today: NaiveDate) -> CycleTime {
    let previous_window = window.previous();
    let (mut total, mut previous) = (Shipped::default(), Shipped::default());
    let mut days: BTreeMap<NaiveDate, Shipped> = window.each_day().map(|day| (day, Shipped::default())).collect();
    // The groups' rows, gathered and then sorted by key and bin: a breakdown over 10,000 SKUs is
    // 100,000 rows, already in that order as SQLite sums them, so the sort is one pass and
    // each group's histogram is built in bin order (no map lookup per row).
    let mut keyed: Vec<(&str, u32, &[i64; 6])> = Vec::new();
    let mut backlog = Backlog { orders: 0, by_state: BTreeMap::new(), by_age: Vec::new() };
    let mut ages = [0_i64; AGE_BANDS.len()];
    for row in rows {
        if let Some(state) = row.metric.strip_prefix(metric::BACKLOG_PREFIX) {
            if row.dim != dim::ALL || row.values[0] == 0 {
                continue;
            }
            backlog.orders += row.values[0];
            *backlog.by_state.entry(state.to_string()).or_insert(0) += row.values[0];
            let age_days = (today - row.day).num_days().max(0);
            let band = AGE_BANDS.iter().position(|(_, below)| age_days < *below).unwrap_or(AGE_BANDS.len() - 1);
            ages[band] += row.values[0];
            continue;
        }
        if row.metric != metric::CYCLE {
            continue;
        }
        assert!(row.bin < CYCLE_BINS, "bin {} is beyond the last", row.bin);
        if row.dim == dim::ALL {
            if window.holds(row.day) {
                total.add(row.bin, &row.values);
                days.entry(row.day).or_default().add(row.bin, &row.values);
            } else if previous_window.holds(row.day) {
                previous.add(row.bin, &row.values);
            }
        } else if by.is_some_and(|by| by.dim() == row.dim) && window.holds(row.day) {
            keyed.push((row.key.as_ref(), row.bin, &row.values));
        }
    }
    backlog.by_age =
        AGE_BANDS.iter().zip(ages).map(|((band, _), orders)| AgeBand { band: band.to_string(), orders }).collect();
    keyed.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    let mut groups: Vec<Keyed<CycleFigures>> = keyed
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            let mut shipped = Shipped::default();
            for (_, bin, values) in run {
                shipped.add(*bin, values);
            }
            Keyed { key: run[0].0.to_string(), figures: CycleFigures::of(&shipped) }
        })
        .filter(|group| group.figures.shipped > 0)
        .collect();
    groups.sort_by(|a, b| b.figures.p90_seconds.cmp(&a.figures.p90_seconds).then_with(|| a.key.cmp(&b.key)));
    groups.truncate(GROUPS_MAX);
    CycleTime {
        window: WindowFigures {
            from: window.from,
            to: window.to,
            by,
            figures: CycleFigures::of(&total),
            previous: CycleFigures::of(&previous),
            groups,
            days: days.into_iter().map(|(date, shipped)| Dated { date, figures: CycleFigures::of(&shipped) }).collect(),
        },
        backlog,
    }
}
