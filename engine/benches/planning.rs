//! Planning benchmarks. Target: a plan refresh of one SKU with 730 days of history, the method
//! chosen by backtest included, < 2 ms native, whatever the demand class.
//!
//! Run: `cargo bench -p stockline-engine --bench planning` (add `-- --quick` for a fast pass).

use chrono::{Duration, NaiveDate};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use stockline_engine::planning::{
    choose, classify, plan, DemandClass, Inbound, LeadTime, PlanBasis, PlanningPolicy, ServiceMeasure,
};
use stockline_engine::{Id, Position};

const HISTORY_DAYS: usize = 730;

fn id(value: &str) -> Id {
    Id::new(value).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()
}

/// A small deterministic generator (xorshift), so the series are the same on every run.
struct Noise(u64);

impl Noise {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (the sum of four uniforms), mean 0, sd 1.
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.unit()).sum::<f64>() - 2.0) * 3.0_f64.sqrt()
    }

    /// Lognormal with mean 1 and log-sd `sigma` (CV² = e^σ² − 1).
    fn lognormal(&mut self, sigma: f64) -> f64 {
        (sigma * self.normal() - sigma * sigma / 2.0).exp()
    }
}

/// `HISTORY_DAYS` of daily demand of one class: smooth with a weekly shape, erratic (every day,
/// sizes lognormal), intermittent (a demand day in four, sizes steady), lumpy (both).
fn series(class: DemandClass, seed: u64) -> Vec<f64> {
    let mut noise = Noise(seed);
    let shape = [20.0, 22.0, 25.0, 24.0, 40.0, 60.0, 15.0];
    let series: Vec<f64> = (0..HISTORY_DAYS)
        .map(|t| match class {
            DemandClass::Smooth => (shape[t % 7] + 3.0 * noise.normal()).round().max(0.0),
            DemandClass::Erratic => (20.0 * noise.lognormal(1.0)).round().max(1.0),
            DemandClass::Intermittent if noise.unit() < 0.25 => (6.0 + 1.5 * noise.normal()).round().max(1.0),
            DemandClass::Lumpy if noise.unit() < 0.25 => (15.0 * noise.lognormal(1.0)).round().max(1.0),
            _ => 0.0,
        })
        .collect();
    assert_eq!(classify(&series).class, class, "{:?}", classify(&series));
    series
}

const CLASSES: [DemandClass; 4] =
    [DemandClass::Smooth, DemandClass::Erratic, DemandClass::Intermittent, DemandClass::Lumpy];

/// A plan refresh as a host runs it: the history, the policy, the stock and one inbound line in,
/// a `Plan` out.
fn plan_refresh(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_refresh");
    group.sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    let sku = id("SKU-1");
    let policy = PlanningPolicy {
        service_level: 0.95,
        service_measure: ServiceMeasure::FillRate,
        review_period_days: 7,
        lead_time_days: Some(7.0),
        lead_time_std_days: Some(2.0),
        ..PlanningPolicy::default()
    };
    let inbound = [Inbound {
        location: id("east"),
        reference: "PO-1".into(),
        qty: 40,
        expected_on: Some(today() + Duration::days(3)),
    }];
    for (i, class) in CLASSES.into_iter().enumerate() {
        let history = series(class, 11 + i as u64);
        let input = PlanBasis {
            expedites: Vec::new(),
            sku: sku.clone(),
            location: None,
            elsewhere: Vec::new(),
            today: today(),
            policy: policy.clone(),
            lead_time: LeadTime { mean_days: 7.0, std_days: 2.0, source: "policy".into() },
            history_first: Some(today() - Duration::days(HISTORY_DAYS as i64)),
            history,
            demand_today: 0,
            stock: Position { on_hand: 120, reserved: 10, ..Position::default() },
            inbound: inbound.to_vec(),
            unit_cost: None,
            forecast: None,
        };
        group.bench_function(format!("730_days/{}", class.as_str()), |b| b.iter(|| black_box(plan(black_box(&input)))));
    }
    group.finish();
}

/// The method choice alone (every method backtested from 13 origins), 28 days forecast.
fn choice(c: &mut Criterion) {
    let mut group = c.benchmark_group("choose");
    group.sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    for (i, class) in CLASSES.into_iter().enumerate() {
        let history = series(class, 11 + i as u64);
        group.bench_function(format!("730_days/{}", class.as_str()), |b| {
            b.iter(|| black_box(choose(black_box(&history), class, 28)))
        });
    }
    group.finish();
}

criterion_group!(benches, plan_refresh, choice);
criterion_main!(benches);
