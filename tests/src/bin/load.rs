//! The edge load run (a benchmark, not a test): the built worker in plain workerd on loopback,
//! driven by keep-alive HTTP clients on threads. Prints requests/s, p50, p99 and the CPU used by
//! workerd and by this load generator for each scenario.
//!
//! `cargo xtask bench` runs it; `LOAD_SECONDS` (default 5) and `LOAD_CONNECTIONS` (default 16) tune it.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use stockline_tests::Stockline;

const SKUS: usize = 100;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU seconds (user + system) used so far by a process, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

struct Outcome {
    name: &'static str,
    requests: u64,
    errors: u64,
    seconds: f64,
    latencies_us: Vec<u64>,
    workerd_cpu: f64,
    load_cpu: f64,
}

impl Outcome {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }

    fn print(&self) {
        println!(
            "{:<34} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {:>4}  workerd CPU {:>4.0}%  load CPU {:>4.0}%",
            self.name,
            self.requests as f64 / self.seconds,
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.errors,
            100.0 * self.workerd_cpu / self.seconds,
            100.0 * self.load_cpu / self.seconds,
        );
    }
}

/// Runs `operation` from `connections` threads for `seconds`; each call is one request (or one
/// reserve + release pair counted as two) and returns how many requests it made and if it failed.
fn run(
    name: &'static str,
    stockline: &Stockline,
    connections: u64,
    seconds: u64,
    operation: &(dyn Fn(&Stockline, u64) -> (u64, bool) + Sync),
) -> Outcome {
    let pid = stockline.pid();
    let counter = AtomicU64::new(0);
    let (workerd_before, load_before) = (cpu_seconds(pid), cpu_seconds(std::process::id()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let results: Vec<(u64, u64, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|_| {
                scope.spawn(|| {
                    let (mut requests, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
                    while Instant::now() < deadline {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let start = Instant::now();
                        let (made, ok) = operation(stockline, n);
                        let elapsed = start.elapsed().as_micros() as u64;
                        requests += made;
                        if !ok {
                            errors += 1;
                        }
                        for _ in 0..made {
                            latencies.push(elapsed / made.max(1));
                        }
                    }
                    (requests, errors, latencies)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("load thread")).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies_us: Vec<u64> = results.iter().flat_map(|(_, _, l)| l.iter().copied()).collect();
    latencies_us.sort_unstable();
    Outcome {
        name,
        requests: results.iter().map(|r| r.0).sum(),
        errors: results.iter().map(|r| r.1).sum(),
        seconds: elapsed,
        latencies_us,
        workerd_cpu: cpu_seconds(pid) - workerd_before,
        load_cpu: cpu_seconds(std::process::id()) - load_before,
    }
}

fn reserve_release(s: &Stockline, lines: Value) -> (u64, bool) {
    let (status, body) = s.post("/v1/reservations", "dev-storefront", &json!({ "lines": lines, "ttl_seconds": 60 }));
    if status != 201 {
        return (1, false);
    }
    let id = body["id"].as_str().unwrap_or_default();
    let (status, _) = s.send("POST", &format!("/v1/reservations/{id}/release"), Some("dev-storefront"), None, None);
    (2, status == 200)
}

fn main() {
    let seconds = env_number("LOAD_SECONDS", 5);
    let connections = env_number("LOAD_CONNECTIONS", 16);
    let s = Stockline::start();
    s.must(s.put(
        "/v1/locations/wh-1",
        "dev-admin",
        &json!({"name": "Main", "kind": "warehouse", "region": "eu", "priority": 1}),
    ));
    s.must(s.put(
        "/v1/locations/wh-2",
        "dev-admin",
        &json!({"name": "Two", "kind": "warehouse", "region": "eu", "priority": 2}),
    ));
    for i in 0..SKUS {
        let sku = format!("SKU-{i:03}");
        s.must(s.put(&format!("/v1/skus/{sku}"), "dev-admin", &json!({"name": sku, "safety_stock": 1})));
        for location in ["wh-1", "wh-2"] {
            let body = json!({"kind": "receive", "location": location, "qty": 1_000_000});
            s.must(s.post(&format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body));
        }
    }
    println!("load run: workerd (plain, not wrangler dev) on 127.0.0.1, {connections} keep-alive connections, {seconds} s per scenario");
    let outcomes = [
        run("availability GET, 1 SKU", &s, connections, seconds, &|s, _| {
            (1, s.get("/v1/availability/SKU-000", "dev-storefront").0 == 200)
        }),
        run("availability GET, 100 SKUs", &s, connections, seconds, &|s, n| {
            (1, s.get(&format!("/v1/availability/SKU-{:03}", n % SKUS as u64), "dev-storefront").0 == 200)
        }),
        run("reserve + release, hot SKU", &s, connections, seconds, &|s, _| {
            reserve_release(s, json!([{"sku": "SKU-000", "qty": 1}]))
        }),
        run("reserve + release, two SKUs", &s, connections, seconds, &|s, n| {
            let (a, b) = (n % SKUS as u64, (n + 1) % SKUS as u64);
            reserve_release(
                s,
                json!([{"sku": format!("SKU-{a:03}"), "qty": 1}, {"sku": format!("SKU-{b:03}"), "qty": 1}]),
            )
        }),
    ];
    for outcome in &outcomes {
        outcome.print();
    }
    let position = s.must(s.get("/v1/availability/SKU-000", "dev-storefront"));
    assert_eq!(position["reserved"], 0, "every hold of the load run was released");
    catalog_propagation(&s, env_number("LOAD_CATALOG_SKUS", 10_000), connections);
}

/// A master-data write at `skus` created SKUs: how long the write takes to answer, and how long
/// until every SKU object has the new catalog (pushed in the background from the Directory's alarm).
fn catalog_propagation(s: &Stockline, skus: u64, connections: u64) {
    let created = AtomicU64::new(SKUS as u64);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..connections {
            scope.spawn(|| loop {
                let n = created.fetch_add(1, Ordering::Relaxed);
                if n >= skus {
                    break;
                }
                let sku = format!("CAT-{n:06}");
                s.must(s.put(&format!("/v1/skus/{sku}"), "dev-admin", &json!({"name": sku, "safety_stock": 0})));
            });
        }
    });
    let status = s.must(s.get("/v1/catalog", "dev-admin"));
    println!(
        "catalog: {} SKUs created in {:.1} s; now {} SKUs subscribed",
        skus,
        started.elapsed().as_secs_f64(),
        status["skus"]
    );
    for round in 0..3 {
        let started = Instant::now();
        let body =
            json!({"name": "Bench", "locations": ["wh-1", "wh-2"], "buffer": round, "cap": null, "stop_below": null});
        let answer = s.must(s.put("/v1/channels/bench", "dev-admin", &body));
        let answered_ms = started.elapsed().as_secs_f64() * 1000.0;
        let version = answer["catalog_version"].as_u64().expect("the answer carries the catalog version");
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let status = s.must(s.get("/v1/catalog", "dev-admin"));
            if status["version"].as_u64() == Some(version) && status["skus_behind"] == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the catalog did not reach every SKU in 10 minutes: {status}");
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "catalog change {round}: answered in {answered_ms:.1} ms; every one of {skus} SKU objects had it after {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
}
