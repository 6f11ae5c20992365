//! Margin leaks, in money, one currency at a time (a bucket of money keeps its currency in its
//! bin, so sums never mix currencies):
//!
//! - **Price variance**: invoiced − ordered on the invoices that count (Purchasing's buckets);
//!   positive when suppliers billed more than agreed.
//! - **Split-shipment cost**: for orders shipped on a day, what their plans' extra parcels cost
//!   (the shipping less the dearest shipment).
//! - **Expedite cost**: what keeping a promise added over the next best plan, which would have
//!   been late.
//! - **Lost sales**: each SKU's stockout days × its average daily revenue on the days it was in
//!   stock, in the same window (the Directory counts the days out, the orders' buckets hold the
//!   revenue). It is an estimate over a window, so the day series does not carry it.
//!
//! The leak is their sum (a price variance in the buyer's favour counts as none).

use super::read::{add, Dated, Keyed, MetricsBy, Window, WindowFigures, GROUPS_MAX};
use super::{dim, metric, BucketRow};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const LETTERS: u32 = 26;

/// The bin a money bucket in `currency` is kept in: 1 + the ISO 4217 code read in base 26 (0 is
/// money kept before its currency was); none for a code that is not three capital letters.
pub fn currency_bin(currency: &str) -> Option<u32> {
    let bytes = currency.as_bytes();
    if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    Some(1 + bytes.iter().fold(0, |bin, letter| bin * LETTERS + u32::from(letter - b'A')))
}

/// The currency a money bucket's bin names (none for bin 0).
pub fn bin_currency(bin: u32) -> Option<String> {
    let code = bin.checked_sub(1).filter(|code| *code < LETTERS.pow(3))?;
    let letter = |place: u32| char::from(b'A' + (code / LETTERS.pow(place) % LETTERS) as u8);
    Some([letter(2), letter(1), letter(0)].iter().collect())
}

/// One SKU's stockout days in the window and in the one before it (from the Directory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockoutDays {
    pub sku: String,
    pub days: i64,
    pub previous_days: i64,
}

/// What leaked in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyMargin {
    pub currency: String,
    /// Invoiced − ordered, on `invoiced` (positive: billed more than agreed).
    pub price_variance: Decimal,
    pub invoiced: Decimal,
    pub shipping_cost: Decimal,
    pub split_shipment_cost: Decimal,
    pub expedite_cost: Decimal,
    /// What the orders shipped sold for.
    pub revenue: Decimal,
    /// None in the day series (an estimate over the window; see the module).
    pub lost_sales: Option<Decimal>,
    /// The price variance when against the buyer, the split-shipment and expedite costs and the
    /// lost sales.
    pub leak: Decimal,
}

/// Margin over some days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarginFigures {
    pub orders_shipped: i64,
    pub orders_split: i64,
    pub orders_expedited: i64,
    /// SKU-days out of stock (none in the day series).
    pub stockout_days: Option<i64>,
    /// One entry per currency that has any figure, by code.
    pub currencies: Vec<CurrencyMargin>,
}

/// `GET /v1/metrics/margin`: the window's leaks (groups the largest leak first).
pub type Margin = WindowFigures<MarginFigures>;

/// The sums of one currency: shipping buckets, revenue buckets, invoice buckets, lost cents.
#[derive(Clone, Copy, Default)]
struct Sum {
    shipping: [i64; 6],
    revenue: [i64; 6],
    invoices: [i64; 6],
    lost_cents: i64,
}

/// Some days' sums, by currency bin.
#[derive(Default)]
struct Leaks {
    currencies: BTreeMap<u32, Sum>,
    stockout_days: Option<i64>,
}

impl Leaks {
    fn slot(&mut self, bin: u32) -> &mut Sum {
        self.currencies.entry(bin).or_default()
    }

    fn take(&mut self, row: &BucketRow<'_>) {
        let into = match row.metric.as_ref() {
            metric::SHIPPING => &mut self.slot(row.bin).shipping,
            metric::REVENUE => &mut self.slot(row.bin).revenue,
            metric::PO_INVOICE => &mut self.slot(row.bin).invoices,
            _ => return,
        };
        add(into, &row.values);
    }

    fn figures(&self) -> MarginFigures {
        let money = |cents: i64| Decimal::new(cents, 2);
        let mut figures = MarginFigures {
            orders_shipped: 0,
            orders_split: 0,
            orders_expedited: 0,
            stockout_days: self.stockout_days,
            currencies: Vec::new(),
        };
        for (bin, sum) in &self.currencies {
            let [shipping, split, expedite, orders, orders_split, orders_expedited] = sum.shipping;
            assert!(shipping >= 0 && (0..=shipping).contains(&split) && (0..=shipping).contains(&expedite));
            assert!(orders >= 0 && (0..=orders).contains(&orders_split) && (0..=orders).contains(&orders_expedited));
            figures.orders_shipped += orders;
            figures.orders_split += orders_split;
            figures.orders_expedited += orders_expedited;
            let Some(currency) = bin_currency(*bin) else { continue };
            let [_, ordered, invoiced, ..] = sum.invoices;
            let variance = invoiced - ordered;
            let lost = sum.lost_cents;
            figures.currencies.push(CurrencyMargin {
                currency,
                price_variance: money(variance),
                invoiced: money(invoiced),
                shipping_cost: money(shipping),
                split_shipment_cost: money(split),
                expedite_cost: money(expedite),
                revenue: money(sum.revenue[0]),
                lost_sales: (self.stockout_days.is_some()).then(|| money(lost)),
                leak: money(variance.max(0) + split + expedite + lost),
            });
        }
        figures
    }
}

/// The leak a group is ranked by: its largest in any currency.
fn largest_leak(figures: &MarginFigures) -> Decimal {
    figures.currencies.iter().map(|currency| currency.leak).max().unwrap_or(Decimal::ZERO)
}

/// Lost sales of one SKU: its revenue (cents per currency) over `open_days` days in stock,
/// for each of its `out_days` days out.
fn lost_cents(revenue_cents: i64, open_days: i64, out_days: i64) -> i64 {
    if out_days <= 0 || open_days <= 0 || revenue_cents <= 0 {
        return 0;
    }
    let lost = i128::from(revenue_cents) * i128::from(out_days);
    let open = i128::from(open_days);
    // Rounded half up, in whole cents.
    i64::try_from((2 * lost + open) / (2 * open)).expect("a window's lost sales fit i64 cents")
}

/// The margin of `window`: `orders`' buckets (shipping and revenue: dim all per day, `by`'s
/// groups, and revenue by SKU for the window and the one before it), `purchases`' (invoices:
/// dim all per day and `by`'s groups), and each SKU's `stockouts`; `today` bounds the days a
/// SKU could have been in stock.
pub fn read_margin(
    orders: &[BucketRow<'_>],
    purchases: &[BucketRow<'_>],
    stockouts: &[StockoutDays],
    window: Window,
    by: Option<MetricsBy>,
    today: NaiveDate,
) -> Margin {
    let previous_window = window.previous();
    let elapsed_days = |window: Window| (window.to.min(today) - window.from).num_days() + 1;
    let (mut total, mut previous) = (Leaks::default(), Leaks::default());
    let mut days: BTreeMap<NaiveDate, Leaks> = window.each_day().map(|day| (day, Leaks::default())).collect();
    let mut groups: BTreeMap<&str, Leaks> = BTreeMap::new();
    // Revenue by SKU and currency, in the window and the one before.
    let mut sku_revenue: BTreeMap<(&str, u32), [i64; 2]> = BTreeMap::new();
    for row in orders.iter().chain(purchases) {
        if row.dim == dim::ALL {
            if window.holds(row.day) {
                total.take(row);
                days.entry(row.day).or_default().take(row);
            } else if previous_window.holds(row.day) {
                previous.take(row);
            }
            continue;
        }
        if row.dim == dim::SKU && row.metric == metric::REVENUE {
            let slot = sku_revenue.entry((row.key.as_ref(), row.bin)).or_insert([0, 0]);
            slot[usize::from(!window.holds(row.day))] += row.values[0];
        }
        if by.is_some_and(|by| by.dim() == row.dim) && window.holds(row.day) {
            groups.entry(row.key.as_ref()).or_default().take(row);
        }
    }
    // Lost sales, SKU by SKU: each currency it sold in, in each window.
    let out: BTreeMap<&str, &StockoutDays> = stockouts.iter().map(|days| (days.sku.as_str(), days)).collect();
    total.stockout_days = Some(stockouts.iter().map(|days| days.days).sum());
    previous.stockout_days = Some(stockouts.iter().map(|days| days.previous_days).sum());
    for ((sku, bin), [now, before]) in &sku_revenue {
        let Some(days) = out.get(sku) else { continue };
        let lost_now = lost_cents(*now, elapsed_days(window) - days.days, days.days);
        let lost_before = lost_cents(*before, elapsed_days(previous_window) - days.previous_days, days.previous_days);
        for (sums, lost) in [(&mut total, lost_now), (&mut previous, lost_before)] {
            if lost > 0 {
                sums.slot(*bin).lost_cents += lost;
            }
        }
        if let Some(group) = groups.get_mut(sku).filter(|_| by == Some(MetricsBy::Sku) && lost_now > 0) {
            group.slot(*bin).lost_cents = lost_now;
        }
    }
    if by == Some(MetricsBy::Sku) {
        for (sku, _) in out.iter().filter(|(_, days)| days.days > 0) {
            groups.entry(sku).or_default();
        }
        for (sku, group) in groups.iter_mut() {
            group.stockout_days = Some(out.get(sku).map_or(0, |days| days.days));
        }
    }
    let mut groups: Vec<Keyed<MarginFigures>> =
        groups.into_iter().map(|(key, sums)| Keyed { key: key.to_string(), figures: sums.figures() }).collect();
    groups.sort_by(|a, b| largest_leak(&b.figures).cmp(&largest_leak(&a.figures)).then_with(|| a.key.cmp(&b.key)));
    groups.truncate(GROUPS_MAX);
    Margin {
        from: window.from,
        to: window.to,
        by,
        figures: total.figures(),
        previous: previous.figures(),
        groups,
        days: days.into_iter().map(|(date, sums)| Dated { date, figures: sums.figures() }).collect(),
    }
}
