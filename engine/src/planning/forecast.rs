//! Forecasts of daily demand, and the choice between them by rolling-origin backtest on MASE.
//!
//! Methods: seasonal naive (a week), simple exponential smoothing, additive Holt–Winters with a
//! damped trend and weekly seasonality, and for intermittent demand Croston, SBA (Syntetos–Boylan
//! approximation) and TSB (Teunter–Syntetos–Babai). Smoothing constants come from a small grid,
//! chosen by in-sample one-step squared error on the data before each origin.
//!
//! The choice: every method is backtested from up to `BACKTEST_ORIGINS` origins a week apart,
//! forecasting `BACKTEST_HORIZON_DAYS` from each; its MASE is its mean absolute error there over
//! the in-sample mean absolute one-day change (the naive forecast's error), so MASE < 1 means
//! better than naive. The method chosen is the best among those the demand class is made for
//! (Syntetos–Boylan's categorisation is a method-selection scheme: the Croston family for
//! intermittent and lumpy demand, the others for smooth and erratic); all are reported.

use super::class::DemandClass;
use serde::{Deserialize, Serialize};

pub const SEASON_DAYS: usize = 7;
pub const BACKTEST_ORIGINS: usize = 13;
pub const BACKTEST_HORIZON_DAYS: usize = 7;
/// Days of training a backtest origin needs at least.
pub const TRAINING_DAYS_MIN: usize = 21;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    SeasonalNaive,
    Ses,
    HoltWinters,
    Croston,
    Sba,
    Tsb,
    /// The mean of the last days: what is left when the history is too short to backtest.
    Mean,
}

impl Method {
    pub const BACKTESTED: [Method; 6] =
        [Method::SeasonalNaive, Method::Ses, Method::HoltWinters, Method::Croston, Method::Sba, Method::Tsb];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "seasonal_naive",
            Method::Ses => "ses",
            Method::HoltWinters => "holt_winters",
            Method::Croston => "croston",
            Method::Sba => "sba",
            Method::Tsb => "tsb",
            Method::Mean => "mean",
        }
    }

    fn suits(self, class: DemandClass) -> bool {
        let croston_family = matches!(self, Method::Croston | Method::Sba | Method::Tsb);
        croston_family == class.is_intermittent()
    }

    /// Forecasts `horizon` days after `history`; never negative.
    pub fn forecast(self, history: &[f64], horizon: usize) -> Vec<f64> {
        self.forecast_at(history, &[history.len()], horizon).pop().expect("one cut, one forecast")
    }

    /// Forecasts `horizon` days after each prefix `history[..cut]` (cuts ascending), as fitting
    /// each prefix on its own would; never negative. Holt–Winters fits every prefix in one pass.
    pub fn forecast_at(self, history: &[f64], cuts: &[usize], horizon: usize) -> Vec<Vec<f64>> {
        let each = |one: fn(&[f64], usize) -> Vec<f64>| cuts.iter().map(|&cut| one(&history[..cut], horizon)).collect();
        let flat = |level: fn(&[f64]) -> f64| cuts.iter().map(|&cut| vec![level(&history[..cut]); horizon]).collect();
        let mut out: Vec<Vec<f64>> = match self {
            Method::SeasonalNaive => each(seasonal_naive),
            Method::Ses => flat(ses),
            Method::HoltWinters => holt_winters_at(history, cuts, horizon),
            Method::Croston => flat(|y| croston(y, false)),
            Method::Sba => flat(|y| croston(y, true)),
            Method::Tsb => flat(tsb),
            Method::Mean => flat(|y| mean(&y[y.len().saturating_sub(28)..])),
        };
        for value in out.iter_mut().flatten() {
            *value = if value.is_finite() { value.max(0.0) } else { 0.0 };
        }
        assert!(out.len() == cuts.len() && out.iter().all(|f| f.len() == horizon));
        out
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

fn seasonal_naive(y: &[f64], horizon: usize) -> Vec<f64> {
    if y.len() < SEASON_DAYS {
        return vec![mean(y); horizon];
    }
    let last_week = &y[y.len() - SEASON_DAYS..];
    (0..horizon).map(|h| last_week[h % SEASON_DAYS]).collect()
}

const ALPHAS: [f64; 5] = [0.03, 0.08, 0.15, 0.3, 0.5];

/// Simple exponential smoothing: the level after the history, alpha by in-sample error.
fn ses(y: &[f64]) -> f64 {
    if y.is_empty() {
        return 0.0;
    }
    let start = mean(&y[..y.len().min(SEASON_DAYS)]);
    let run = |alpha: f64| {
        let (mut level, mut sse) = (start, 0.0);
        for &value in y {
            let error = value - level;
            sse += error * error;
            level += alpha * error;
        }
        (sse, level)
    };
    best_of(ALPHAS.iter().map(|&alpha| run(alpha)))
}

/// The result with the least error of (error, result) pairs; the first on ties.
fn best_of<T>(runs: impl Iterator<Item = (f64, T)>) -> T {
    let mut best: Option<(f64, T)> = None;
    for (error, result) in runs {
        if best.as_ref().is_none_or(|(least, _)| error < *least) {
            best = Some((error, result));
        }
    }
    best.expect("a grid is never empty").1
}

const DAMPING: f64 = 0.95;

/// Additive Holt–Winters (damped trend, weekly season; parameters by in-sample one-step error)
/// fitted on `y[..cut]` for every cut (ascending), in one pass per parameter set:
/// the fit on a prefix is the start of the fit on the whole (same start values, same
/// recursion), so each parameter set's state and in-sample error are kept as the pass reaches
/// each cut, and each cut takes the parameters with the least error up to it. The same forecasts
/// as fitting each prefix on its own, for the work of one fit.
fn holt_winters_at(y: &[f64], cuts: &[usize], horizon: usize) -> Vec<Vec<f64>> {
    assert!(cuts.windows(2).all(|pair| pair[0] <= pair[1]) && cuts.last().is_none_or(|&cut| cut <= y.len()));
    let m = SEASON_DAYS;
    type State = (f64, f64, [f64; SEASON_DAYS]);
    // (in-sample error, state) per cut, best so far.
    let mut best: Vec<Option<(f64, State)>> = vec![None; cuts.len()];
    let fitted: Vec<usize> = (0..cuts.len()).filter(|&i| cuts[i] >= 2 * m).collect();
    if let Some(&first_fitted) = fitted.first() {
        let level0 = mean(&y[..m]);
        let trend0 = (mean(&y[m..2 * m]) - level0) / m as f64;
        let end = cuts[*fitted.last().expect("not empty")];
        for alpha in [0.05, 0.1, 0.2, 0.4] {
            for beta in [0.0, 0.02, 0.1] {
                for gamma in [0.05, 0.15, 0.3] {
                    let mut season: [f64; SEASON_DAYS] = std::array::from_fn(|i| y[i] - level0);
                    let (mut level, mut trend, mut sse) = (level0, trend0, 0.0);
                    let mut next = first_fitted;
                    for t in m..=end {
                        while next < cuts.len() && cuts[next] == t {
                            if best[next].as_ref().is_none_or(|(least, _)| sse < *least) {
                                best[next] = Some((sse, (level, trend, season)));
                            }
                            next += 1;
                        }
                        if t == end {
                            break;
                        }
                        let value = y[t];
                        let s = season[t % m];
                        let error = value - (level + DAMPING * trend + s);
                        sse += error * error;
                        let level_new = alpha * (value - s) + (1.0 - alpha) * (level + DAMPING * trend);
                        trend = beta * (level_new - level) + (1.0 - beta) * DAMPING * trend;
                        season[t % m] = gamma * (value - level_new) + (1.0 - gamma) * s;
                        level = level_new;
                    }
                }
            }
        }
    }
    cuts.iter()
        .zip(best)
        .map(|(&cut, fit)| match fit {
            None => seasonal_naive(&y[..cut], horizon),
            Some((_, (level, trend, season))) => {
                let mut damped = 0.0;
                (1..=horizon)
                    .map(|h| {
                        damped += DAMPING.powi(i32::try_from(h).expect("horizons are bounded"));
                        level + damped * trend + season[(cut + h - 1) % m]
                    })
                    .collect()
            }
        })
        .collect()
}

/// Croston's method (or SBA, with the (1 − α/2) correction): smoothed size over smoothed interval.
fn croston(y: &[f64], sba: bool) -> f64 {
    let Some(first) = y.iter().position(|&value| value > 0.0) else { return 0.0 };
    let run = |alpha: f64| {
        let (mut size, mut interval, mut since) = (y[first], (first + 1) as f64, 0.0);
        let correction = if sba { 1.0 - alpha / 2.0 } else { 1.0 };
        let mut sse = 0.0;
        for &value in &y[first + 1..] {
            since += 1.0;
            let fitted = correction * size / interval;
            sse += (value - fitted).powi(2);
            if value > 0.0 {
                size += alpha * (value - size);
                interval += alpha * (since - interval);
                since = 0.0;
            }
        }
        (sse, correction * size / interval)
    };
    best_of([0.05, 0.1, 0.2, 0.3].into_iter().map(run))
}

/// TSB: smoothed size times a smoothed probability of demand, updated every day.
fn tsb(y: &[f64]) -> f64 {
    let Some(first) = y.iter().position(|&value| value > 0.0) else { return 0.0 };
    let run = |alpha: f64, beta: f64| {
        let (mut size, mut probability) = (y[first], 1.0 / (first + 1) as f64);
        let mut sse = 0.0;
        for &value in &y[first + 1..] {
            sse += (value - probability * size).powi(2);
            let occurred = if value > 0.0 { 1.0 } else { 0.0 };
            probability += beta * (occurred - probability);
            if value > 0.0 {
                size += alpha * (value - size);
            }
        }
        (sse, probability * size)
    };
    let mut grid = Vec::with_capacity(6);
    for alpha in [0.1, 0.2] {
        for beta in [0.05, 0.1, 0.2] {
            grid.push((alpha, beta));
        }
    }
    best_of(grid.into_iter().map(|(alpha, beta)| run(alpha, beta)))
}

/// One method's backtest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub method: Method,
    /// `None` when the naive error is zero (a constant series) or there was nothing to test on.
    pub mase: Option<f64>,
    /// Mean absolute error over the backtest days.
    pub mae: f64,
    /// Root mean squared error over the backtest days: the daily demand spread around it.
    pub rmse: f64,
    /// Whether the demand class allows it (the choice is made among these).
    pub suits_class: bool,
}

/// The forecast chosen for a SKU and how it was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub method: Method,
    pub mase: Option<f64>,
    pub runner_up: Option<Candidate>,
    pub candidates: Vec<Candidate>,
    /// Backtest origins used (0: the history was too short; `Mean` then).
    pub origins: u32,
    /// Forecast demand for each day from the day after the history.
    pub daily: Vec<f64>,
    /// Spread of daily demand around the forecast (σD).
    pub std_daily: f64,
}

impl Forecast {
    /// The chosen method's backtest error (0 without a backtest).
    pub fn mae(&self) -> f64 {
        self.candidates.iter().find(|c| c.method == self.method).map_or(0.0, |c| c.mae)
    }
}

/// Backtests every method on `history` and forecasts `horizon` days with the one chosen.
pub fn choose(history: &[f64], class: DemandClass, horizon: usize) -> Forecast {
    let n = history.len();
    // Ascending: the earliest origin first.
    let origins: Vec<usize> = (1..=BACKTEST_ORIGINS)
        .rev()
        .map(|i| n.saturating_sub(i * BACKTEST_HORIZON_DAYS))
        .filter(|&origin| origin >= TRAINING_DAYS_MIN && origin + BACKTEST_HORIZON_DAYS <= n)
        .collect();
    if origins.is_empty() || class == DemandClass::NoDemand {
        let recent = &history[n.saturating_sub(28)..];
        let level = mean(recent);
        let spread = (recent.iter().map(|v| (v - level).powi(2)).sum::<f64>() / recent.len().max(1) as f64).sqrt();
        return Forecast {
            method: Method::Mean,
            mase: None,
            runner_up: None,
            candidates: Vec::new(),
            origins: 0,
            daily: Method::Mean.forecast(history, horizon),
            std_daily: spread,
        };
    }
    let earliest = origins[0];
    let naive_error = mean(&history[1..earliest].windows(2).map(|w| (w[1] - w[0]).abs()).collect::<Vec<_>>());
    let candidates: Vec<Candidate> = Method::BACKTESTED
        .iter()
        .map(|&method| {
            let (mut absolute, mut squared, mut count) = (0.0, 0.0, 0.0);
            let forecasts = method.forecast_at(history, &origins, BACKTEST_HORIZON_DAYS);
            for (&origin, predicted) in origins.iter().zip(&forecasts) {
                for (h, value) in predicted.iter().enumerate() {
                    let error = history[origin + h] - value;
                    absolute += error.abs();
                    squared += error * error;
                    count += 1.0;
                }
            }
            let mae = absolute / count;
            let mase = (naive_error > 1e-12).then(|| mae / naive_error);
            Candidate { method, mase, mae, rmse: (squared / count).sqrt(), suits_class: method.suits(class) }
        })
        .collect();
    let mut ranked: Vec<&Candidate> = candidates.iter().filter(|c| c.suits_class).collect();
    ranked.sort_by(|a, b| a.mae.total_cmp(&b.mae));
    let chosen = *ranked[0];
    Forecast {
        method: chosen.method,
        mase: chosen.mase,
        runner_up: ranked.get(1).map(|c| **c),
        candidates: candidates.clone(),
        origins: u32::try_from(origins.len()).expect("at most BACKTEST_ORIGINS"),
        daily: chosen.method.forecast(history, horizon),
        std_daily: chosen.rmse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::classify;

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
    }

    fn weekly(seed: u64) -> Vec<f64> {
        let mut noise = Noise(seed);
        let shape = [20.0, 22.0, 25.0, 24.0, 40.0, 60.0, 15.0];
        (0..364).map(|t| (shape[t % 7] + 2.0 * noise.normal()).round().max(0.0)).collect()
    }

    fn flat(seed: u64) -> Vec<f64> {
        let mut noise = Noise(seed);
        (0..364).map(|_| (30.0 + 6.0 * noise.normal()).round().max(0.0)).collect()
    }

    fn intermittent(seed: u64) -> Vec<f64> {
        let mut noise = Noise(seed);
        (0..364).map(|_| if noise.unit() < 0.25 { (1.0 + 8.0 * noise.unit()).floor() } else { 0.0 }).collect()
    }

    /// Five series of one shape: the class, the method chosen for each, and the MASE. On
    /// intermittent demand the mean absolute error over 91 backtest days is noisy (a window with a
    /// few more demand days than the training had), so one series may come out a little above 1;
    /// across the five it must be below, and none far above.
    #[track_caller]
    fn check(shape: fn(u64) -> Vec<f64>, class: DemandClass, allowed: &[Method], mase_max: f64) {
        let mut mases = Vec::new();
        for seed in 1..=5 {
            let series = shape(seed);
            let stats = classify(&series);
            assert_eq!(stats.class, class, "{stats:?}");
            let forecast = choose(&series, stats.class, 28);
            assert!(allowed.contains(&forecast.method), "{:?} chosen: {:?}", forecast.method, forecast.candidates);
            assert_eq!(forecast.origins, BACKTEST_ORIGINS as u32);
            let runner_up = forecast.runner_up.expect("a runner-up");
            assert!(allowed.contains(&runner_up.method) || !class.is_intermittent());
            assert!(runner_up.mae >= forecast.mae());
            assert_eq!(forecast.daily.len(), 28);
            mases.push(forecast.mase.expect("a MASE"));
        }
        let mean = mases.iter().sum::<f64>() / mases.len() as f64;
        assert!(mean < 1.0 && mases.iter().all(|&m| m < mase_max), "MASE {mases:?}");
    }

    #[test]
    fn selection_follows_the_shape() {
        check(weekly, DemandClass::Smooth, &[Method::SeasonalNaive, Method::HoltWinters], 0.5);
        check(flat, DemandClass::Smooth, &[Method::Ses, Method::HoltWinters], 1.0);
        check(intermittent, DemandClass::Intermittent, &[Method::Croston, Method::Sba, Method::Tsb], 1.15);
        // On a clean weekly shape the seasonal methods beat smoothing by far.
        let forecast = choose(&weekly(9), DemandClass::Smooth, 7);
        let ses = forecast.candidates.iter().find(|c| c.method == Method::Ses).expect("listed");
        assert!(forecast.mase.expect("mase") * 3.0 < ses.mase.expect("mase"), "{forecast:?}");
        // The forecast keeps the week's shape: Saturday (index 5) is the peak.
        let week = &forecast.daily;
        let peak = (0..7).max_by(|&a, &b| week[a].total_cmp(&week[b])).expect("7 days");
        assert_eq!((364 + peak) % 7, 5);
    }

    #[test]
    fn flat_noise_prefers_smoothing_to_a_week_ago() {
        let series = flat(3);
        let forecast = choose(&series, DemandClass::Smooth, 7);
        let naive = forecast.candidates.iter().find(|c| c.method == Method::SeasonalNaive).expect("listed");
        assert!(forecast.mae() < naive.mae, "{forecast:?}");
        assert!((forecast.daily[0] - 30.0).abs() < 3.0, "{:?}", forecast.daily);
    }

    #[test]
    fn one_pass_holt_winters_equals_a_fit_per_prefix() {
        let series = weekly(4);
        let cuts = [14, 20, 100, 200, 200, 363, 364];
        let at = holt_winters_at(&series, &cuts, 7);
        for (&cut, forecast) in cuts.iter().zip(&at) {
            assert_eq!(forecast, &holt_winters_at(&series[..cut], &[cut], 7)[0], "cut {cut}");
        }
        // Prefixes too short for the season fall back to seasonal naive, as a fit on them does.
        assert_eq!(holt_winters_at(&series, &[10], 3), vec![seasonal_naive(&series[..10], 3)]);
    }

    #[test]
    fn short_or_empty_history() {
        let forecast = choose(&[3.0, 5.0, 4.0], DemandClass::Smooth, 5);
        assert_eq!((forecast.method, forecast.origins, forecast.mase), (Method::Mean, 0, None));
        assert_eq!(forecast.daily, vec![4.0; 5]);
        let forecast = choose(&[], DemandClass::NoDemand, 3);
        assert_eq!(forecast.daily, vec![0.0; 3]);
        assert_eq!(forecast.std_daily, 0.0);
    }

    #[test]
    fn croston_family_on_a_regular_pattern() {
        // 6 units every 3rd day: every Croston-family rate tends to 2 a day; SBA a little below.
        let series: Vec<f64> = (0..120).map(|t| if t % 3 == 2 { 6.0 } else { 0.0 }).collect();
        let croston = Method::Croston.forecast(&series, 1)[0];
        let sba = Method::Sba.forecast(&series, 1)[0];
        let tsb = Method::Tsb.forecast(&series, 1)[0];
        assert!((croston - 2.0).abs() < 1e-6, "{croston}");
        assert!(sba < croston && sba > 1.6, "{sba}");
        assert!((tsb - 2.0).abs() < 0.2, "{tsb}");
    }
}
