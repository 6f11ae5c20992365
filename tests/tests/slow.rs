//! Slow tier (`cargo xtask test --slow`, or `STOCKLINE_SLOW=1 cargo test -p stockline-tests --test slow`):
//! runs that take minutes. In the default run each test says it was skipped and passes.

use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use stockline_tests::Stockline;

fn slow() -> bool {
    let on = std::env::var("STOCKLINE_SLOW").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped: a slow-tier test (set STOCKLINE_SLOW=1 or run `cargo xtask test --slow`)");
    }
    on
}

/// One SKU through 100,000 reservations (placed, then released, committed or left to expire)
/// keeps accepting writes: its snapshot does not grow with its history (it used to pass the
/// 2 MB value limit at about 27,000 finished reservations, after which every write failed).
#[test]
fn one_sku_through_one_hundred_thousand_reservations_keeps_accepting_writes() {
    if !slow() {
        return;
    }
    const RESERVATIONS: u32 = 100_000;
    const WRITERS: u32 = 8;
    let mut s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.sku("HOT", 0);
    s.receive("HOT", "wh-1", 1_000_000);
    let next = AtomicU32::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..WRITERS {
            let (s, next) = (&s, &next);
            scope.spawn(move || loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= RESERVATIONS {
                    break;
                }
                let body =
                    json!({"lines": [{"sku": "HOT", "qty": 1}], "ttl_seconds": 2, "reference": format!("o-{n}")});
                let (status, answer) = s.post("/v1/reservations", "dev-storefront", &body);
                assert_eq!(status, 201, "reservation {n}: {answer}");
                let id = answer["id"].as_str().expect("an id").to_string();
                match n % 4 {
                    0 | 1 => {
                        let (status, answer) =
                            s.post(&format!("/v1/reservations/{id}/release"), "dev-storefront", &json!({}));
                        assert_eq!(status, 200, "release {n}: {answer}");
                    }
                    2 => {
                        let (status, answer) =
                            s.post(&format!("/v1/reservations/{id}/commit"), "dev-storefront", &json!({}));
                        assert_eq!(status, 200, "commit {n}: {answer}");
                        let ship = json!({"kind": "ship", "location": "wh-1", "qty": 1, "reference": id});
                        let (status, answer) = s.post("/v1/skus/HOT/movements", "dev-warehouse", &ship);
                        assert_eq!(status, 201, "ship {n}: {answer}");
                    }
                    _ => {} // left to expire
                }
            });
        }
    });
    eprintln!("{RESERVATIONS} reservations in {:.1?}", started.elapsed());
    // Still accepting writes, and every unit accounted for once the last holds expire.
    s.receive("HOT", "wh-1", 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, availability) = s.get("/v1/availability/HOT", "dev-admin");
        if availability["reserved"] == 0 {
            assert_eq!(availability["on_hand"], 1_000_001 - i64::from(RESERVATIONS / 4), "{availability}");
            assert_eq!(availability["allocated"], 0, "{availability}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "holds did not expire: {availability}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    s.kill_and_restart();
    s.receive("HOT", "wh-1", 1);
    let (_, availability) = s.get("/v1/availability/HOT", "dev-admin");
    assert_eq!(availability["on_hand"], 1_000_002 - i64::from(RESERVATIONS / 4), "{availability}");
}
