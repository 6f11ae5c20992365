//! The edge load run (a benchmark, not a test): the built worker in plain workerd on loopback,
//! driven by load generators that are not ours (Debian's `wrk` and `hey`), with the floor measured
//! beside it in the same run and the same workerd binary: a JavaScript hello-world Worker and a
//! JavaScript Worker → Durable Object hop with a fixed answer (tests/bench/floor.capnp).
//!
//! - saturated: `wrk`, 16 connections, throughput and latency percentiles;
//! - at fixed offered rates: `hey`, 16 workers each limited to rate/16 per second, p50 and p99.
//!
//! Every row also gives the CPU workerd spent per request. `cargo xtask bench` runs it;
//! `LOAD_SECONDS` (default 10) sets the length of each run, `LOAD_CATALOG_SKUS` (default 10,000)
//! the size of the catalog-propagation run.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use stockline_tests::{Floor, Stockline};

const SKUS: usize = 100;
const CONNECTIONS: u32 = 16;
const STOREFRONT: &str = "Bearer dev-storefront";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU seconds (user + system) used so far by a process, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process's /proc stat");
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).expect("a /proc stat line");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("a number of clock ticks");
    (ticks(11) + ticks(12)) / 100.0
}

/// One request shape: where it goes and what it sends.
struct Target<'a> {
    url: String,
    method: &'a str,
    body: Option<String>,
    /// A wrk Lua `request` function body that varies the path (for many SKUs) or the headers
    /// (an Idempotency-Key per request); wrk only.
    paths: Option<String>,
    /// wrk Lua run before `request` is defined (a `setup` giving each thread its number).
    prelude: Option<&'a str>,
    pid: u32,
}

struct Row {
    name: String,
    offered_per_second: Option<u32>,
    served_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed: u64,
    cpu_us_per_request: f64,
}

impl Row {
    fn print(&self) {
        let offered = self.offered_per_second.map_or("saturated".to_string(), |r| format!("{r}/s"));
        println!(
            "{:<40} {:>10} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  failed {:>5}  workerd {:>5.0} µs CPU/request",
            self.name, offered, self.served_per_second, self.p50_ms, self.p99_ms, self.failed, self.cpu_us_per_request
        );
    }
}

fn bench_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stockline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory for wrk scripts");
    dir
}

fn run_tool(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("run {command:?} (cargo xtask bench installs it): {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{command:?} failed:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    text
}

/// wrk prints latencies as `1.23ms`, `850.00us` or `1.02s`.
fn wrk_ms(text: &str) -> f64 {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        panic!("a wrk latency without a unit: {text}")
    };
    number.parse::<f64>().unwrap_or_else(|_| panic!("a wrk latency: {text}")) * factor
}

/// Saturated: wrk with 16 connections for `seconds`.
fn wrk(name: &str, target: &Target, seconds: u64) -> Row {
    let script = bench_dir().join(format!("{}.lua", name.replace([' ', ',', '→', '/'], "_")));
    let mut lua = format!("wrk.method = \"{}\"\nwrk.headers[\"authorization\"] = \"{STOREFRONT}\"\n", target.method);
    if let Some(body) = &target.body {
        lua += &format!("wrk.headers[\"content-type\"] = \"application/json\"\nwrk.body = [[{body}]]\n");
    }
    if let Some(prelude) = target.prelude {
        lua += prelude;
    }
    if let Some(paths) = &target.paths {
        lua += &format!("counter = 0\nrequest = function()\n{paths}\nend\n");
    }
    std::fs::write(&script, lua).expect("write the wrk script");
    let cpu_before = cpu_seconds(target.pid);
    let text = run_tool(
        Command::new("wrk")
            .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&script)
            .arg(&target.url),
    );
    let cpu = cpu_seconds(target.pid) - cpu_before;
    let field = |prefix: &str| -> Option<String> {
        text.lines().find_map(|line| line.trim().strip_prefix(prefix).map(|rest| rest.trim().to_string()))
    };
    let percentile = |p: &str| wrk_ms(&field(p).unwrap_or_else(|| panic!("wrk printed no {p} latency:\n{text}")));
    let requests: f64 = text
        .lines()
        .find_map(|line| line.trim().split_once(" requests in ").map(|(n, _)| n.trim().to_string()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("wrk printed no request count:\n{text}"));
    let failed = field("Non-2xx or 3xx responses:").map_or(0, |n| n.parse().expect("a count"))
        // `Socket errors: connect 0, read 0, write 0, timeout 12`
        + field("Socket errors:").map_or(0, |errors| {
            errors.split(',').filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok()).sum()
        });
    Row {
        name: name.to_string(),
        offered_per_second: None,
        served_per_second: field("Requests/sec:").and_then(|n| n.parse().ok()).expect("wrk's Requests/sec"),
        p50_ms: percentile("50%"),
        p99_ms: percentile("99%"),
        failed,
        cpu_us_per_request: 1e6 * cpu / requests.max(1.0),
    }
}

/// At a fixed offered rate: hey with 16 workers, each limited to rate/16 requests per second.
fn hey(name: &str, target: &Target, rate_per_second: u32, seconds: u64) -> Row {
    let cpu_before = cpu_seconds(target.pid);
    let mut command = Command::new("hey");
    command
        .args(["-z", &format!("{seconds}s"), "-c", &CONNECTIONS.to_string()])
        .args(["-q", &format!("{}", f64::from(rate_per_second) / f64::from(CONNECTIONS))])
        .args(["-m", target.method, "-H", &format!("authorization: {STOREFRONT}")]);
    if let Some(body) = &target.body {
        command.args(["-T", "application/json", "-d", body]);
    }
    let text = run_tool(command.arg(&target.url));
    let cpu = cpu_seconds(target.pid) - cpu_before;
    let seconds_of = |p: &str| -> f64 {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(&format!("{p} in ")).map(|rest| rest.trim().to_string()))
            .and_then(|rest| rest.trim_end_matches(" secs").parse::<f64>().ok())
            .unwrap_or_else(|| panic!("hey printed no {p} latency:\n{text}"))
    };
    // `[200]	9987 responses` per status, and `[12]	Get …: error` per transport error: anything
    // but a 2xx failed.
    let (mut ok, mut failed) = (0u64, 0u64);
    for line in text.lines() {
        let line = line.trim();
        if let Some((status, rest)) = line.strip_prefix('[').and_then(|l| l.split_once(']')) {
            if let (Ok(status), Some(count)) = (status.parse::<u16>(), rest.split_whitespace().next()) {
                let count: u64 = count.parse().unwrap_or(0);
                if (200..300).contains(&status) {
                    ok += count;
                } else {
                    failed += count;
                }
            }
        }
    }
    let served = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:").map(|n| n.trim().to_string()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("hey printed no Requests/sec:\n{text}"));
    Row {
        name: name.to_string(),
        offered_per_second: Some(rate_per_second),
        served_per_second: served,
        p50_ms: 1000.0 * seconds_of("50%"),
        p99_ms: 1000.0 * seconds_of("99%"),
        failed,
        cpu_us_per_request: 1e6 * cpu / ((ok + failed) as f64).max(1.0),
    }
}

fn main() {
    let seconds = env_number("LOAD_SECONDS", 10);
    let s = Stockline::start();
    let catalog_skus = env_number("LOAD_CATALOG_SKUS", 10_000);
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "purchasing") {
        purchasing_on_disk_and_in_ram(&s, &Floor::start());
        return;
    }
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "metrics") {
        let mut s = s;
        metrics_at_scale(&mut s, &Floor::start());
        return;
    }
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "movements") {
        movements(&s, &Floor::start());
        return;
    }
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "orders") {
        let floor = Floor::start();
        orders(&s, &floor, seconds);
        return;
    }
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "integration") {
        integration(&s, seconds);
        return;
    }
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "replenishment") {
        // Only the replenishment list (to work on it): the catalog SKUs, then the list.
        create_skus(&s, catalog_skus, u64::from(CONNECTIONS));
        replenishment_list(&s, catalog_skus, u64::from(CONNECTIONS));
        return;
    }
    let floor = Floor::start();
    for (id, priority) in [("wh-1", 1), ("wh-2", 2)] {
        let body = json!({"name": id, "kind": "warehouse", "region": "eu", "priority": priority});
        s.must(s.put(&format!("/v1/locations/{id}"), "dev-admin", &body));
    }
    for i in 0..SKUS {
        let sku = format!("SKU-{i:03}");
        s.must(s.put(&format!("/v1/skus/{sku}"), "dev-admin", &json!({"name": sku, "safety_stock": 1})));
        for location in ["wh-1", "wh-2"] {
            let body = json!({"kind": "receive", "location": location, "qty": 100_000_000});
            s.must(s.post(&format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body));
        }
    }
    let hello = Target {
        url: format!("http://127.0.0.1:{}/", floor.hello_port),
        method: "GET",
        body: None,
        paths: None,
        prelude: None,
        pid: floor.pid(),
    };
    let object = |method| Target {
        url: format!("http://127.0.0.1:{}/SKU-000", floor.object_port),
        method,
        body: (method == "POST").then(|| r#"{"lines":[{"sku":"SKU-000","qty":1}],"ttl_seconds":1}"#.to_string()),
        paths: None,
        prelude: None,
        pid: floor.pid(),
    };
    let availability = Target {
        url: format!("{}/v1/availability/SKU-000", s.base()),
        method: "GET",
        body: None,
        paths: None,
        prelude: None,
        pid: s.pid(),
    };
    let availability_many = Target {
        url: s.base(),
        method: "GET",
        body: None,
        paths: Some(format!(
            "counter = counter + 1\nreturn wrk.format(nil, string.format(\"/v1/availability/SKU-%03d\", counter % {SKUS}))"
        )),
        prelude: None,
        pid: s.pid(),
    };
    // Holds of one unit for one second: they expire through the objects' alarms as the run goes.
    let reserve = |lines: &str| Target {
        url: format!("{}/v1/reservations", s.base()),
        method: "POST",
        body: Some(format!(r#"{{"lines":{lines},"ttl_seconds":1}}"#)),
        paths: None,
        prelude: None,
        pid: s.pid(),
    };
    let hot = reserve(r#"[{"sku":"SKU-000","qty":1}]"#);
    let two = reserve(r#"[{"sku":"SKU-001","qty":1},{"sku":"SKU-002","qty":1}]"#);

    println!(
        "edge load run: workerd (plain, not wrangler dev) on 127.0.0.1, {} cores; {CONNECTIONS} connections, {seconds} s per row",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rows = vec![
        wrk("floor: JS hello-world Worker", &hello, seconds),
        wrk("floor: JS Worker → JS object, GET", &object("GET"), seconds),
        wrk("availability GET, 1 SKU", &availability, seconds),
        wrk("availability GET, 100 SKUs", &availability_many, seconds),
        wrk("floor: JS Worker → JS object, POST+write", &object("POST"), seconds),
        wrk("reserve, hot SKU (qty 1, ttl 1 s)", &hot, seconds),
        wrk("reserve, two SKUs (coordinator)", &two, seconds),
    ];
    for rate in [500, 1000, 2000] {
        rows.push(hey("floor: JS Worker → JS object, GET", &object("GET"), rate, seconds));
        rows.push(hey("availability GET, 1 SKU", &availability, rate, seconds));
    }
    for rate in [250, 500] {
        rows.push(hey("floor: JS Worker → JS object, POST+write", &object("POST"), rate, seconds));
        rows.push(hey("reserve, hot SKU (qty 1, ttl 1 s)", &hot, rate, seconds));
    }
    for row in &rows {
        row.print();
    }
    if std::env::var("LOAD_ONLY").is_ok_and(|only| only == "core") {
        return; // the floor, availability and reservations only
    }
    // Every hold of the run expires through alarms: nothing stays reserved.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let position = s.must(s.get("/v1/availability/SKU-000", "dev-storefront"));
        if position["reserved"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "holds of one second still reserved 30 s after the run: {position}");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("every hold of the run expired (SKU-000 reserved 0)");
    orders(&s, &floor, seconds);
    let _ = std::fs::remove_dir_all(bench_dir());
    purchasing_on_disk_and_in_ram(&s, &floor);
    drop(floor);
    catalog_propagation(&s, catalog_skus, u64::from(CONNECTIONS));
    replenishment_list(&s, catalog_skus, u64::from(CONNECTIONS));
}

/// Every catalog SKU gets a supplier's policy and 8 weeks of demand, and nothing on hand: each
/// plan (refreshed from its object's alarm) puts it on the list. Then the whole list is read,
/// page by page, as a buyer's screen would, and the time it takes is reported.
fn replenishment_list(s: &Stockline, skus: u64, connections: u64) {
    let supplier = json!({"name": "Bench Supply", "currency": "EUR", "lead_time_days": 7, "lead_time_std_days": 2});
    s.must(s.put("/v1/suppliers/bench", "dev-buyer", &supplier));
    let today = stockline_tests::today();
    let days: Vec<serde_json::Value> = (2..58)
        .map(|back| json!({"date": (today - chrono::Duration::days(back)).to_string(), "qty": 3 + back % 5}))
        .collect();
    let import = json!({ "days": days });
    let policy = json!({"supplier": "bench", "moq": 24, "pack_multiple": 12});
    let next = AtomicU64::new(SKUS as u64);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..connections {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= skus {
                    break;
                }
                let sku = format!("CAT-{n:06}");
                s.must(s.post(&format!("/v1/skus/{sku}/demand-history"), "dev-buyer", &import));
                s.must(s.put(&format!("/v1/skus/{sku}/policy"), "dev-buyer", &policy));
            });
        }
    });
    let expected = skus - SKUS as u64;
    println!("replenishment: {expected} SKUs given history and a policy in {:.1} s", started.elapsed().as_secs_f64());
    let read_all = || {
        let started = Instant::now();
        let (mut lines, mut pages, mut cursor) = (0u64, 0u32, None::<String>);
        let mut first_page_ms = 0.0;
        loop {
            let path = match &cursor {
                Some(cursor) => {
                    format!("/v1/replenishment?limit=500&cursor={}", utf8_percent_encode(cursor, NON_ALPHANUMERIC))
                }
                None => "/v1/replenishment?limit=500".to_string(),
            };
            let page = s.must(s.get(&path, "dev-buyer"));
            pages += 1;
            if pages == 1 {
                first_page_ms = started.elapsed().as_secs_f64() * 1000.0;
            }
            for group in page["groups"].as_array().expect("groups") {
                lines += group["lines"].as_array().expect("lines").len() as u64;
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        (lines, pages, first_page_ms, started.elapsed().as_secs_f64() * 1000.0)
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let waited = Instant::now();
    while read_all().0 < expected {
        assert!(Instant::now() < deadline, "the plans of {expected} SKUs did not reach the list in 10 minutes");
        std::thread::sleep(Duration::from_millis(500));
    }
    println!("replenishment: every plan on the list {:.1} s after the last policy", waited.elapsed().as_secs_f64());
    // Each SKU's plan is refreshed 5 s after its last change (debounced), then daily: after 10 s
    // more no refresh is left, and the list is read in the steady state a buyer's morning sees.
    std::thread::sleep(Duration::from_secs(10));
    let mut whole: Vec<f64> = Vec::new();
    let mut first: Vec<f64> = Vec::new();
    for _ in 0..5 {
        let (lines, pages, first_ms, all_ms) = read_all();
        assert_eq!(lines, expected);
        println!("replenishment list: {lines} lines in {pages} pages of 500: first page {first_ms:.0} ms, all {all_ms:.0} ms");
        whole.push(all_ms);
        first.push(first_ms);
    }
    // Where a page's time goes: a page of one line (the hops, the query) against a page of 500
    // (the lines), and the bytes a page of 500 is.
    let timed = |path: &str| {
        let mut times: Vec<f64> = (0..9)
            .map(|_| {
                let started = Instant::now();
                s.must(s.get(path, "dev-buyer"));
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[4]
    };
    let bytes = s.must(s.get("/v1/replenishment?limit=500", "dev-buyer")).to_string().len();
    println!(
        "replenishment page (median of 9): 1 line {:.1} ms, 500 lines {:.1} ms ({} KiB as JSON)",
        timed("/v1/replenishment?limit=1"),
        timed("/v1/replenishment?limit=500"),
        bytes / 1024
    );
    whole.sort_by(f64::total_cmp);
    first.sort_by(f64::total_cmp);
    println!(
        "replenishment list of {expected} SKUs (median of 5): first page {:.0} ms, whole list {:.0} ms",
        first[2], whole[2]
    );
}

/// The catalog SKUs `CAT-000100` … up to `skus` in all, created `connections` at a time.
fn create_skus(s: &Stockline, skus: u64, connections: u64) {
    let created = AtomicU64::new(SKUS as u64);
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
}

/// A master-data write at `skus` created SKUs: how long the write takes to answer, and how long
/// until every SKU object has the new catalog (pushed in the background from the Directory's alarm).
fn catalog_propagation(s: &Stockline, skus: u64, connections: u64) {
    let started = Instant::now();
    create_skus(s, skus, connections);
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

/// What one stock movement costs at the edge, sequentially (no queueing in the figure): a
/// receive of one unit and an adjustment of one unit down on one SKU, each with the metrics
/// it keeps (its age layer, the stockout check), beside the floor's write to a JavaScript object in the same workerd.
fn movements(s: &Stockline, floor: &Floor) {
    let runs = env_number("LOAD_RUNS", 300) as usize;
    let location = json!({"name": "wh-1", "kind": "warehouse", "region": "eu", "priority": 1});
    s.must(s.put("/v1/locations/wh-1", "dev-admin", &location));
    s.must(s.put("/v1/skus/SKU-M", "dev-admin", &json!({"name": "moved", "safety_stock": 0})));
    let write = format!("http://127.0.0.1:{}/SKU-000", floor.object_port);
    let body = r#"{"lines":[{"sku":"SKU-000","qty":1}],"ttl_seconds":1}"#;
    let cpu_before = cpu_seconds(floor.pid());
    let floor_ms = median_ms(runs, || {
        ureq::post(&write).send_string(body).expect("the floor answers");
    });
    let floor_cpu_ms = (cpu_seconds(floor.pid()) - cpu_before) * 1000.0 / runs as f64;
    println!(
        "floor: JS Worker → JS object, POST+write: p50 {floor_ms:.2} ms, workerd {floor_cpu_ms:.2} ms CPU/request"
    );
    for (kind, qty) in [("receive", 1), ("adjust", -1)] {
        let body = json!({"kind": kind, "location": "wh-1", "qty": qty, "reason": "load run"});
        let cpu_before = cpu_seconds(s.pid());
        let p50 = median_ms(runs, || {
            s.must(s.post("/v1/skus/SKU-M/movements", "dev-warehouse", &body));
        });
        let cpu_ms = (cpu_seconds(s.pid()) - cpu_before) * 1000.0 / runs as f64;
        println!("movement {kind:<8} 1 unit: p50 {p50:.2} ms, workerd {cpu_ms:.2} ms CPU/request ({runs} in a row)");
    }
}

/// The median of `runs` timings of `f`, in ms.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// Purchase orders: a 100-line order drafted, submitted and approved (each answer's time), and the
/// approvals inbox with 1,000 orders waiting.
/// Purchasing with the run's state where it is (this machine's disk), then the receipts again with a
/// fresh runtime and floor whose state is in RAM (/dev/shm): every one of a receipt's 100 object
/// commits waits for the disk on the isolate's one thread here, which says more about the disk
/// than about Stockline; the floor beside each figure says how much.
fn purchasing_on_disk_and_in_ram(s: &Stockline, floor: &Floor) {
    purchasing(s, floor, "state on disk", true);
    let ram = std::path::Path::new("/dev/shm");
    if ram.is_dir() {
        purchasing(&Stockline::start_under(ram), &Floor::start_under(ram), "state in RAM, /dev/shm", false);
    } else {
        println!("no /dev/shm here: receipts measured with the state on disk only");
    }
}

fn purchasing(s: &Stockline, floor: &Floor, storage: &str, inbox: bool) {
    let rules = json!({
        "base_currency": "EUR",
        "bands": [{"up_to": "1000", "approvals": 0, "roles": []}, {"up_to": null, "approvals": 1, "roles": ["approver", "admin"]}]
    });
    s.must(s.put("/v1/approval-rules", "dev-admin", &rules));
    s.must(s.put(
        "/v1/locations/wh-1",
        "dev-admin",
        &json!({"name": "wh-1", "kind": "warehouse", "region": "eu", "priority": 1}),
    ));
    s.must(s.put(
        "/v1/suppliers/bench",
        "dev-buyer",
        &json!({"name": "Bench Supply", "currency": "EUR", "lead_time_days": 7}),
    ));
    let expected_on = (stockline_tests::today() + chrono::Duration::days(7)).to_string();
    let order = |lines: usize| {
        let lines: Vec<serde_json::Value> = (0..lines)
            .map(|i| json!({"sku": format!("SKU-{i:03}"), "location": "wh-1", "qty": 100, "unit_price": "12.50", "expected_on": expected_on}))
            .collect();
        json!({"supplier": "bench", "currency": "EUR", "lines": lines})
    };
    for i in 0..100 {
        s.must(s.put(
            &format!("/v1/skus/SKU-{i:03}"),
            "dev-admin",
            &json!({"name": format!("Bench {i}"), "safety_stock": 0}),
        ));
    }
    let (mut create, mut submit, mut approve, mut send, mut receipts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut receipts_cpu_seconds = 0.0;
    for n in 0..9 {
        let timed = |f: &mut dyn FnMut() -> serde_json::Value| {
            let started = Instant::now();
            let answer = f();
            (answer, started.elapsed().as_secs_f64() * 1000.0)
        };
        let (draft, ms) = timed(&mut || s.must(s.post("/v1/purchase-orders", "dev-buyer", &order(100))));
        create.push(ms);
        let id = draft["id"].as_str().expect("an id").to_string();
        let decide = |action: &str, token: &str, version: &serde_json::Value| {
            s.must(s.post(&format!("/v1/purchase-orders/{id}/{action}"), token, &json!({"version": version})))
        };
        let (submitted, ms) = timed(&mut || decide("submit", "dev-buyer", &draft["version"]));
        submit.push(ms);
        let (approved, ms) = timed(&mut || decide("approve", "dev-admin", &submitted["version"]));
        assert_eq!(approved["status"], "approved");
        approve.push(ms);
        let (sent, ms) = timed(&mut || decide("send", "dev-buyer", &approved["version"]));
        assert_eq!(sent["status"], "sent");
        send.push(ms);
        // Ten receipts of 10 units on every line: each puts 100 SKUs' stock on hand before it answers.
        let lines: Vec<serde_json::Value> = (1..=100).map(|line| json!({"line": line, "qty": 10})).collect();
        let body = json!({"lines": lines}).to_string();
        let cpu_before = cpu_seconds(s.pid());
        for r in 0..10 {
            let path = format!("/v1/purchase-orders/{id}/receipts");
            let key = format!("bench-{n}-{r}");
            let (received, ms) =
                timed(&mut || s.must(s.send("POST", &path, Some("dev-warehouse"), Some(&body), Some(&key))));
            assert_eq!(received["stock_pending"], json!([]), "applied before the answer: {received}");
            receipts.push(ms);
        }
        receipts_cpu_seconds += cpu_seconds(s.pid()) - cpu_before;
        let done = s.must(s.get(&format!("/v1/purchase-orders/{id}"), "dev-buyer"));
        assert_eq!(done["status"], "received");
    }
    let on_hand = s.must(s.get("/v1/availability/SKU-042", "dev-admin"))["on_hand"].clone();
    assert_eq!(on_hand, 900, "nine orders of 100 received once each");
    for times in [&mut create, &mut submit, &mut approve, &mut send, &mut receipts] {
        times.sort_by(f64::total_cmp);
    }
    println!(
        "purchase order of 100 lines (median of 9): drafted in {:.1} ms, submitted in {:.1} ms, approved in {:.1} ms, sent (inbound on 100 SKUs) in {:.1} ms",
        create[4], submit[4], approve[4], send[4]
    );
    let pick = |q: f64| receipts[((receipts.len() as f64 * q).ceil() as usize).clamp(1, receipts.len()) - 1];
    // The floor: one SKU's receive through the API, the write a receipt makes on each of 100 SKUs.
    let body = json!({"kind": "receive", "location": "wh-1", "qty": 1});
    let movement_ms = median_ms(9, || {
        s.must(s.post("/v1/skus/SKU-001/movements", "dev-warehouse", &body));
    });
    println!(
        "receipt of 100 lines on 100 SKUs ({storage}, {} receipts): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; workerd CPU {:.1} ms per receipt (one SKU's receive movement: {movement_ms:.1} ms)",
        receipts.len(),
        pick(0.5),
        pick(0.99),
        receipts[receipts.len() - 1],
        receipts_cpu_seconds * 1000.0 / receipts.len() as f64
    );
    // The receipt's floor: a JavaScript Worker writing one row (about the size of a receipt
    // line's change) to each of 100 JavaScript objects at once, as many times, in the same workerd
    // and on the same disk: what 100 objects' durable writes cost here before any Stockline code.
    let fan = format!("http://127.0.0.1:{}/fan/100", floor.object_port);
    let line_body = json!({"kind": "receive", "location": "wh-1", "qty": 10, "note": "x".repeat(200)}).to_string();
    let cpu_before = cpu_seconds(floor.pid());
    let mut fans: Vec<f64> = (0..receipts.len())
        .map(|_| {
            let started = Instant::now();
            ureq::post(&fan).send_string(&line_body).expect("the floor answers");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let fan_cpu_ms = (cpu_seconds(floor.pid()) - cpu_before) * 1000.0 / fans.len() as f64;
    fans.sort_by(f64::total_cmp);
    let fan_at = |q: f64| fans[((fans.len() as f64 * q).ceil() as usize).clamp(1, fans.len()) - 1];
    println!(
        "floor: JS Worker → 100 JS objects, POST+write each ({storage}, {} times): p50 {:.1} ms, p99 {:.1} ms; workerd CPU {fan_cpu_ms:.1} ms per fan-out",
        fans.len(),
        fan_at(0.5),
        fan_at(0.99)
    );
    if !inbox {
        return;
    }
    let waiting = 1_000;
    let next = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..CONNECTIONS {
            scope.spawn(|| loop {
                if next.fetch_add(1, Ordering::Relaxed) >= waiting {
                    break;
                }
                let draft = s.must(s.post("/v1/purchase-orders", "dev-buyer", &order(5)));
                let id = draft["id"].as_str().expect("an id");
                let submitted = s.must(s.post(
                    &format!("/v1/purchase-orders/{id}/submit"),
                    "dev-buyer",
                    &json!({"version": draft["version"]}),
                ));
                assert_eq!(submitted["status"], "submitted");
            });
        }
    });
    let inbox = s.must(s.get("/v1/approvals?limit=50", "dev-approver-2"));
    assert_eq!(inbox["orders"].as_array().map(Vec::len), Some(50), "{inbox}");
    let ms = median_ms(9, || {
        s.must(s.get("/v1/approvals?limit=50", "dev-approver-2"));
    });
    let floor = median_ms(9, || {
        s.must(s.get("/v1/approval-rules", "dev-approver-2"));
    });
    println!("approvals inbox with {waiting} orders waiting (median of 9): {ms:.1} ms (the same object's GET of the rules: {floor:.1} ms)");
}

/// At a fixed offered rate with an open-loop client of ours (for requests `hey` cannot make: a
/// new Idempotency-Key each): request `i` is due at `i / rate` s, and its latency counts from then,
/// so a server falling behind is charged for the wait too (no coordinated omission).
fn paced(name: &str, pid: u32, rate_per_second: u32, seconds: u64, send: impl Fn(u64) -> bool + Sync) -> Row {
    let total = u64::from(rate_per_second) * seconds;
    let next = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let latencies = std::sync::Mutex::new(Vec::with_capacity(total as usize));
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONNECTIONS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate_per_second));
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if !send(i) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                let ms = Instant::now().duration_since(due).as_secs_f64() * 1000.0;
                latencies.lock().expect("latencies").push(ms);
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let mut latencies = latencies.into_inner().expect("latencies");
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    Row {
        name: name.to_string(),
        offered_per_second: Some(rate_per_second),
        served_per_second: total as f64 / elapsed,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        failed: failed.into_inner(),
        cpu_us_per_request: 1e6 * cpu / (total as f64).max(1.0),
    }
}

/// Order placement at the edge: orders of 5 lines over two nodes (each a stock read per SKU, the
/// allocation, a 5-SKU reservation through the coordinator and its commit), saturated with wrk (a
/// key per request) and paced at 25 and 200 orders/s, beside the floor paced the same way.
fn orders(s: &Stockline, floor: &Floor, seconds: u64) {
    let skus: Vec<String> = (10..15).map(|i| format!("SKU-{i:03}")).collect();
    for (id, priority) in [("wh-1", 1), ("wh-2", 2)] {
        let body = json!({"name": id, "kind": "warehouse", "region": "eu", "priority": priority});
        s.must(s.put(&format!("/v1/locations/{id}"), "dev-admin", &body));
    }
    for sku in &skus {
        s.must(s.put(&format!("/v1/skus/{sku}"), "dev-admin", &json!({"name": sku, "safety_stock": 1})));
        for location in ["wh-1", "wh-2"] {
            let body = json!({"kind": "receive", "location": location, "qty": 100_000_000});
            s.must(s.post(&format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body));
        }
    }
    let channel = json!({"name": "Web", "locations": ["wh-1", "wh-2"], "buffer": 0, "cap": null, "stop_below": null});
    s.must(s.put("/v1/channels/web", "dev-admin", &channel));
    let rates = json!({"currency": "EUR", "rates": [
        {"location": "wh-1", "region": "eu", "cost": "4.10", "transit_days": 1},
        {"location": "wh-2", "region": "eu", "cost": "6.80", "transit_days": 2}
    ]});
    s.must(s.put("/v1/shipping-rates", "dev-admin", &rates));
    let lines: Vec<serde_json::Value> =
        skus.iter().map(|sku| json!({"sku": sku, "qty": 1, "unit_price": "10.00"})).collect();
    let body = json!({"channel": "web", "currency": "EUR", "ship_to_region": "eu", "lines": lines}).to_string();
    let placed = s.must(s.send("POST", "/v1/orders", Some("dev-storefront"), Some(&body), Some("load-first")));
    assert_eq!(placed["status"], "allocated", "{placed}");

    let saturated = Target {
        url: format!("{}/v1/orders", s.base()),
        method: "POST",
        body: Some(body.clone()),
        paths: Some(
            "counter = counter + 1\nlocal h = {}\nfor k, v in pairs(wrk.headers) do h[k] = v end\n\
             h[\"idempotency-key\"] = string.format(\"load-%d-%d\", id, counter)\nreturn wrk.format(nil, nil, h)"
                .to_string(),
        ),
        prelude: Some(
            "local threads = 0\nfunction setup(thread)\n  thread:set(\"id\", threads)\n  threads = threads + 1\nend\n",
        ),
        pid: s.pid(),
    };
    let floor_url = format!("http://127.0.0.1:{}/SKU-000", floor.object_port);
    let floor_body = r#"{"lines":[{"sku":"SKU-000","qty":1}],"ttl_seconds":1}"#;
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let place = |i: u64, rate: u32| {
        let key = format!("paced-{rate}-{i}");
        let (status, _) = s.send("POST", "/v1/orders", Some("dev-storefront"), Some(&body), Some(&key));
        status == 201
    };
    let mut rows = vec![
        wrk("floor: JS Worker → JS object, POST+write", &Target {
            url: floor_url.clone(),
            method: "POST",
            body: Some(floor_body.to_string()),
            paths: None,
            prelude: None,
            pid: floor.pid(),
        }, seconds),
        wrk("reserve 5 SKUs (coordinator), its own step", &Target {
            url: format!("{}/v1/reservations", s.base()),
            method: "POST",
            body: Some(json!({"lines": skus.iter().map(|sku| json!({"sku": sku, "qty": 1})).collect::<Vec<_>>(), "ttl_seconds": 1}).to_string()),
            paths: None,
            prelude: None,
            pid: s.pid(),
        }, seconds),
        wrk("place order, 5 lines (saturated)", &saturated, seconds),
    ];
    // 25/s is within what one Orders object places; 200/s is the issue's target rate.
    for rate in [25, 200] {
        rows.push(paced("floor: JS Worker → JS object, POST+write", floor.pid(), rate, seconds, |_| {
            agent.post(&floor_url).set("content-type", "application/json").send_string(floor_body).is_ok()
        }));
        rows.push(paced("place order, 5 lines", s.pid(), rate, seconds, |i| place(i, rate)));
    }
    for row in &rows {
        row.print();
    }
    let _ = std::fs::remove_dir_all(bench_dir());
}

/// Files one import benchmark sends: `IMPORT_FILES` × 1,000 SKUs, then their opening stock.
const IMPORT_FILES: u64 = 10;
const IMPORT_ROWS: u64 = 1_000;

/// Integration: 10,000 SKUs with opening stock imported from CSV (wall time at the edge, file by
/// file), then the event feed read from its start while 500 writes/s go on (events/s read, page
/// latency, and how far behind the writes the reader ends).
fn integration(s: &Stockline, seconds: u64) {
    s.location("wh-1", "warehouse", 1);
    let mut import_ms = Vec::new();
    let started = Instant::now();
    for (kind, make) in [
        ("skus", (|i: u64| format!("IMP-{i:05},Item {i},1,2.50,,false")) as fn(u64) -> String),
        ("opening_stock", |i: u64| format!("IMP-{i:05},wh-1,{}", 100 + i % 50)),
    ] {
        let header =
            if kind == "skus" { "sku,name,safety_stock,unit_cost,barcodes,critical" } else { "sku,location,qty" };
        for file in 0..IMPORT_FILES {
            let rows: Vec<String> = (file * IMPORT_ROWS..(file + 1) * IMPORT_ROWS).map(make).collect();
            let csv = format!("{header}\n{}\n", rows.join("\n"));
            let sent = Instant::now();
            let report = s.must(s.post("/v1/imports", "dev-admin", &json!({"kind": kind, "csv": csv})));
            assert_eq!(report["applied"].as_array().map(Vec::len), Some(IMPORT_ROWS as usize), "{kind} file {file}");
            import_ms.push((kind, sent.elapsed().as_secs_f64() * 1000.0));
        }
    }
    let total_s = started.elapsed().as_secs_f64();
    let per = |kind: &str| {
        let ms: Vec<f64> = import_ms.iter().filter(|(k, _)| *k == kind).map(|(_, ms)| *ms).collect();
        (ms.iter().sum::<f64>() / ms.len() as f64, ms.iter().copied().fold(0.0, f64::max))
    };
    let (skus_mean, skus_max) = per("skus");
    let (stock_mean, stock_max) = per("opening_stock");
    println!(
        "import: {} SKUs, then their opening stock, in files of {IMPORT_ROWS} rows: {total_s:.1} s in all \
         (a SKU file {skus_mean:.0} ms mean, {skus_max:.0} ms max; a stock file {stock_mean:.0} ms mean, {stock_max:.0} ms max)",
        IMPORT_FILES * IMPORT_ROWS
    );

    // The feed holds every entry of the import before the read starts: a backlog to read.
    let backlog_started = Instant::now();
    let mut backlog = 0u64;
    let mut cursor = "0".to_string();
    loop {
        let page = s.must(s.get(&format!("/v1/events?after={cursor}&limit=500"), "dev-admin"));
        backlog += page["events"].as_array().map_or(0, |e| e.len() as u64);
        cursor = page["next_cursor"].as_str().expect("next_cursor").to_string();
        if backlog >= 2 * IMPORT_FILES * IMPORT_ROWS && page["has_more"] == false {
            break;
        }
        assert!(backlog_started.elapsed() < Duration::from_secs(600), "the feed has {backlog} events after 10 minutes");
        if page["has_more"] == false {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    println!(
        "feed: {backlog} events of the import in the feed {:.1} s after the last file",
        backlog_started.elapsed().as_secs_f64()
    );

    // 500 movements/s over 100 SKUs while a reader reads the whole feed from its start.
    let done = std::sync::atomic::AtomicBool::new(false);
    let (read_events, pages_ms, read_s) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut cursor = "0".to_string();
            let mut events = 0u64;
            let mut pages_ms = Vec::new();
            let started = Instant::now();
            loop {
                let sent = Instant::now();
                let page = s.must(s.get(&format!("/v1/events?after={cursor}&limit=500"), "dev-admin"));
                pages_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                events += page["events"].as_array().map_or(0, |e| e.len() as u64);
                cursor = page["next_cursor"].as_str().expect("next_cursor").to_string();
                if page["has_more"] == false {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            (events, pages_ms, started.elapsed().as_secs_f64())
        });
        let writes = paced("movements while the feed is read (adjust +1, 100 SKUs)", s.pid(), 500, seconds, |i| {
            let sku = format!("IMP-{:05}", i % 100);
            let body = json!({"kind": "adjust", "location": "wh-1", "qty": 1, "reason": "bench"});
            s.post(&format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body).0 == 201
        });
        writes.print();
        done.store(true, Ordering::Relaxed);
        reader.join().expect("the reader")
    });
    let mut pages_ms = pages_ms;
    pages_ms.sort_by(f64::total_cmp);
    let pick = |q: f64| pages_ms[((pages_ms.len() as f64 * q).ceil() as usize).clamp(1, pages_ms.len()) - 1];
    println!(
        "feed read while the writes went on: {read_events} events in {read_s:.1} s = {:.0} events/s, pages of 500: p50 {:.1} ms, p99 {:.1} ms",
        read_events as f64 / read_s,
        pick(0.5),
        pick(0.99)
    );
}

/// SKUs the metrics run keeps figures for, and the days of history (a 90-day window and the 90
/// days before it, for the trend).
const METRIC_SKUS: u32 = 10_000;
const METRIC_DAYS: u32 = 180;

/// What 10,000 SKUs over 180 days leave in the buckets, written straight into the objects'
/// SQLite files while workerd is down (the API stamps today on every event, so history cannot
/// be replayed through it): each SKU sells on every 6th day (300,000 SKU-days, about 1,000,000
/// events of orders placed, allocated, picked, shipped), is received and invoiced on every 30th,
/// and has a stock-health row, age bands and, for one SKU in five, stockout days.
const ORDERS_HISTORY: &str = "
WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < {days} - 1),
  s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {skus} - 1),
  sold AS (SELECT n, k FROM d, s WHERE (n + k) % 6 = 0)
INSERT INTO metric_buckets (metric, dim, day, key, bin, n0, n1, n2, n3, n4, n5)
  SELECT 'fill_first', 'sku', date('now', '-' || n || ' days'), printf('SKU-%05d', k), 0, 5, 4, 5, 4, 15, 13 FROM sold
  UNION ALL SELECT 'fill_final', 'sku', date('now', '-' || n || ' days'), printf('SKU-%05d', k), 0, 5, 5, 5, 5, 15, 15 FROM sold
  UNION ALL SELECT 'cycle', 'sku', date('now', '-' || n || ' days'), printf('SKU-%05d', k), 20 + (n + k) % 60, 5, 3, 1, 0, 0, 0 FROM sold
  UNION ALL SELECT 'revenue', 'sku', date('now', '-' || n || ' days'), printf('SKU-%05d', k), 3242, 30000, 15, 0, 0, 0, 0 FROM sold
  UNION ALL SELECT 'fill_first', c.dim, date('now', '-' || n || ' days'), c.key, 0, 2780, 2220, 2780, 2220, 8340, 7230 FROM d, (SELECT 'all' AS dim, '' AS key UNION ALL SELECT 'channel', 'web' UNION ALL SELECT 'channel', 'retail') c
  UNION ALL SELECT 'fill_final', c.dim, date('now', '-' || n || ' days'), c.key, 0, 2780, 2600, 2780, 2600, 8340, 8200 FROM d, (SELECT 'all' AS dim, '' AS key UNION ALL SELECT 'channel', 'web' UNION ALL SELECT 'channel', 'retail') c
  UNION ALL SELECT 'revenue', c.dim, date('now', '-' || n || ' days'), c.key, 3242, 16680000, 8340, 0, 0, 0, 0 FROM d, (SELECT 'all' AS dim, '' AS key UNION ALL SELECT 'channel', 'web' UNION ALL SELECT 'channel', 'retail') c
  UNION ALL SELECT 'shipping', c.dim, date('now', '-' || n || ' days'), c.key, 3242, 1140000, 90000, 12000, 2780, 210, 30 FROM d, (SELECT 'all' AS dim, '' AS key UNION ALL SELECT 'channel', 'web' UNION ALL SELECT 'channel', 'retail') c
  UNION ALL SELECT 'cycle', c.dim, date('now', '-' || n || ' days'), c.key, b.bin, 70, 40, 6, 0, 0, 0 FROM d, (SELECT 'all' AS dim, '' AS key UNION ALL SELECT 'channel', 'web' UNION ALL SELECT 'channel', 'retail') c, (WITH RECURSIVE b(bin) AS (SELECT 20 UNION ALL SELECT bin + 1 FROM b WHERE bin < 59) SELECT bin FROM b) b
  UNION ALL SELECT 'backlog.released', 'all', date('now', '-' || n || ' days'), '', 0, 3, 0, 0, 0, 0, 0 FROM d WHERE n < 14;
";

const PURCHASING_HISTORY: &str = "
WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < {days} - 1),
  s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {skus} - 1),
  got AS (SELECT n, k FROM d, s WHERE (n + k) % 30 = 0),
  dims AS (SELECT n, k, 'sku' AS dim, printf('SKU-%05d', k) AS key FROM got
    UNION ALL SELECT n, k, 'supplier', printf('supplier-%02d', k % 20) FROM got
    UNION ALL SELECT n, k, 'location', printf('wh-%d', k % 4) FROM got
    UNION ALL SELECT n, k, 'all', '' FROM got)
INSERT INTO metric_buckets (metric, dim, day, key, bin, n0, n1, n2, n3, n4, n5)
  SELECT metric, dim, date('now', '-' || n || ' days'), key, bin, SUM(v0), SUM(v1), SUM(v2), SUM(v3), SUM(v4), 0 FROM (
    SELECT 'po_line' AS metric, dim, n, key, 0 AS bin, 1 AS v0, (k % 4 > 0) AS v1, 40 AS v2, 38 AS v3, 0 AS v4 FROM dims
    UNION ALL SELECT 'po_receipt', dim, n, key, 0, 1, 6 + k % 3, (6 + k % 3) * (6 + k % 3), 40, k % 5 FROM dims
    UNION ALL SELECT 'po_invoice', dim, n, key, 3242, 1, 16000, 16000 + k % 300, 0, 0 FROM dims)
  GROUP BY metric, dim, n, key, bin;
";

const DIRECTORY_NOW: &str = "
WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {skus} - 1),
  d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < {days} - 1)
INSERT INTO stock_health (sku, location, on_hand, unsellable, mean_daily, excess, dead, dead_since, anomaly_on)
  SELECT printf('SKU-%05d', k), l.location, 40 + k % 300, k % 7, 2.5 * (k % 9), k % 11 * 10, k % 97 = 0,
    CASE WHEN k % 97 = 0 THEN date('now', '-3 days') END, NULL
  FROM s, (SELECT '' AS location UNION ALL SELECT printf('wh-%d', 0)) l;
WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {skus} - 1)
INSERT INTO stock_aging (sku, location, bucket, band, units)
  SELECT printf('SKU-%05d', k), l.location, 'on_hand', k % 5, 40 + k % 300 FROM s, (SELECT '' AS location UNION ALL SELECT 'wh-0') l
  UNION ALL SELECT printf('SKU-%05d', k), l.location, 'quarantined', (k + 2) % 5, k % 7 FROM s, (SELECT '' AS location UNION ALL SELECT 'wh-0') l WHERE k % 7 > 0;
WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {skus} - 1),
  d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < {days} - 1)
INSERT INTO stockout_days (day, sku) SELECT date('now', '-' || n || ' days'), printf('SKU-%05d', k) FROM s, d
  WHERE k % 5 = 0 AND (n + k) % 17 < 3;
";

/// The SQLite file of the object whose schema has `table` (workerd keeps one per object).
fn object_file(state: &std::path::Path, table: &str) -> PathBuf {
    let mut stack = vec![state.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("the state directory").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "sqlite") {
                let query = format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'");
                if run_tool(Command::new("sqlite3").arg(&path).arg(&query)).trim() == "1" {
                    return path;
                }
            }
        }
    }
    panic!("no object in {} has a `{table}` table", state.display())
}

/// p50 and p99 of `runs` sequential GETs of `path` as the admin, in ms, and the workerd CPU per request.
fn latency(s: &Stockline, path: &str, runs: usize) -> (f64, f64, f64) {
    let cpu_before = cpu_seconds(s.pid());
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let (status, body) = s.get(path, "dev-admin");
            assert_eq!(status, 200, "{path}: {body}");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let cpu_ms = (cpu_seconds(s.pid()) - cpu_before) * 1000.0 / runs as f64;
    times.sort_by(f64::total_cmp);
    (times[runs / 2], times[(runs * 99).div_ceil(100) - 1], cpu_ms)
}

/// Every metrics endpoint over a 90-day window with 10,000 SKUs and 180 days of figures behind
/// it, beside the floor (a JavaScript hello-world Worker in the same workerd binary).
fn metrics_at_scale(s: &mut Stockline, floor: &Floor) {
    for report in ["fill-rate", "suppliers", "stock-health"] {
        s.must(s.get(&format!("/v1/metrics/{report}"), "dev-admin"));
    }
    s.kill_hard();
    let fill = |sql: &str| sql.replace("{days}", &METRIC_DAYS.to_string()).replace("{skus}", &METRIC_SKUS.to_string());
    // Each object's file, found by a table only it has.
    for (table, sql) in
        [("orders", ORDERS_HISTORY), ("purchase_orders", PURCHASING_HISTORY), ("stock_health", DIRECTORY_NOW)]
    {
        let file = object_file(&s.state, table);
        let started = Instant::now();
        let mut child = Command::new("sqlite3")
            .arg(&file)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sqlite3 (cargo xtask bench installs it)");
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(fill(sql).as_bytes()).expect("write the history");
        assert!(child.wait().expect("sqlite3").success(), "loading {table}'s object failed");
        let counted = if table == "stock_health" { "stock_health" } else { "metric_buckets" };
        let rows = run_tool(Command::new("sqlite3").arg(&file).arg(format!("SELECT COUNT(*) FROM {counted}")));
        println!("loaded the {table} object: {} rows in {:.1} s", rows.trim(), started.elapsed().as_secs_f64());
    }
    s.restart();
    let today = stockline_tests::today();
    let from = today - chrono::Duration::days(89);
    let window = format!("from={from}&to={today}");
    let hello = format!("http://127.0.0.1:{}/", floor.hello_port);
    let runs = env_number("LOAD_RUNS", 30) as usize;
    let floor_ms = median_ms(runs, || {
        ureq::get(&hello).call().expect("the floor answers");
    });
    println!("floor: JS hello-world Worker, sequential GET p50 {floor_ms:.2} ms");
    for path in [
        format!("/v1/metrics/fill-rate?{window}"),
        format!("/v1/metrics/fill-rate?{window}&by=sku"),
        format!("/v1/metrics/cycle-time?{window}&by=sku"),
        format!("/v1/metrics/suppliers?{window}&by=supplier"),
        format!("/v1/metrics/suppliers?{window}&by=sku"),
        format!("/v1/metrics/margin?{window}"),
        format!("/v1/metrics/margin?{window}&by=sku"),
        "/v1/metrics/stock-health".to_string(),
        "/v1/metrics/stock-health?by=sku".to_string(),
        "/v1/alerts".to_string(),
    ] {
        let (p50, p99, cpu_ms) = latency(s, &path, runs);
        println!("{path:<60} p50 {p50:>7.1} ms  p99 {p99:>7.1} ms  workerd {cpu_ms:>6.1} ms CPU/request");
    }
}
