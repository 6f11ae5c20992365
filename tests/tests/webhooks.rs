//! Webhooks over HTTP, in the real worker, to a receiver this test runs on loopback: deliveries
//! are signed (checked here with the hmac crate, independently of the engine), carry the event id,
//! come in feed order; a failing receiver is retried with backoff and then paused, losing nothing;
//! set active again it gets what waited; a kill -9 right after acknowledged writes loses none of
//! their deliveries; bad webhook input is refused and changes nothing.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stockline_tests::Stockline;

const ADMIN: &str = "dev-admin";
const SECRET: &str = "whsec_test_0123456789";
const TIMEOUT: Duration = Duration::from_secs(40);

/// One request the receiver took.
#[derive(Clone, Debug)]
struct Received {
    signature: String,
    event_id: String,
    attempt: u32,
    body: String,
    answered: u16,
}

/// A receiver on loopback that answers every request with `status` and records it.
struct Receiver {
    port: u16,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(200));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (answer, record) = (status.clone(), got.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    headers.push(line.trim_end().to_string());
                }
                let header = |name: &str| {
                    headers
                        .iter()
                        .find_map(|h| h.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)))
                        .map(|(_, v)| v.trim().to_string())
                        .unwrap_or_default()
                };
                let length: usize = header("content-length").parse().unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = answer.load(Ordering::SeqCst);
                record.lock().unwrap().push(Received {
                    signature: header("stockline-signature"),
                    event_id: header("stockline-event-id"),
                    attempt: header("stockline-delivery-attempt").parse().unwrap_or(0),
                    body: String::from_utf8(body).unwrap(),
                    answered: status,
                });
                let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Receiver { port, status, got }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `done` holds of what was received.
    fn wait(&self, s: &Stockline, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(started.elapsed() < TIMEOUT, "waited for {what}; received {got:#?}\n{}", s.log_tail());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The signature check a receiver makes: `t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
fn signed(received: &Received) -> bool {
    let Some((t, v1)) = received.signature.split_once(",v1=") else { return false };
    let Some(t) = t.strip_prefix("t=") else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    let fresh = t.parse::<i64>().is_ok_and(|t| (unix_now() - t).abs() < 300);
    fresh && hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

fn ids(got: &[Received]) -> Vec<String> {
    got.iter().filter(|r| r.answered == 200).map(|r| r.event_id.clone()).collect()
}

fn adjust(s: &Stockline, sku: &str) -> String {
    let body = json!({"kind": "adjust", "location": "wh-1", "qty": 1, "reason": "found"});
    let answer = s.must(s.post(&format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body));
    format!("sku:{sku}:{}", answer["entry"]["version"])
}

#[test]
fn signed_deliveries_retried_paused_resumed_and_kept_across_kill_nine() {
    let receiver = Receiver::start();
    let mut s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.sku("WH", 0);
    s.receive("WH", "wh-1", 5);
    // A new webhook starts after the newest event the feed holds: let the receipt reach it first.
    let started = Instant::now();
    while !s.must(s.get("/v1/events?after=0", ADMIN))["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == "sku:WH:2")
    {
        assert!(started.elapsed() < TIMEOUT, "the receipt never reached the feed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("http://127.0.0.1:{}/hooks/stockline", receiver.port);
    let spec = json!({"url": url, "types": ["stock"], "secret": SECRET, "pause_after_failures": 3});
    let (status, hook) = s.put("/v1/webhooks/erp", ADMIN, &spec);
    assert_eq!(status, 201, "{hook}");
    assert_eq!(hook["status"], "active");
    assert!(hook.get("secret").is_none(), "the secret is never shown: {hook}");

    // Events from before the webhook are not sent; a new one is, signed, with its id.
    let first = adjust(&s, "WH");
    let got = receiver.wait(&s, "the first delivery", |got| ids(got).contains(&first));
    assert_eq!(ids(&got), vec![first.clone()], "only what came after the webhook, once");
    let delivered = &got[0];
    assert!(signed(delivered), "signature {:?} over {}", delivered.signature, delivered.body);
    let body: Value = serde_json::from_str(&delivered.body).unwrap();
    assert_eq!(body["id"], first.as_str());
    assert_eq!(body["type"], "stock.adjust");
    let mut tampered = delivered.clone();
    tampered.body = tampered.body.replace("found", "fount");
    assert!(!signed(&tampered), "a changed body fails the check");

    // A reservation is not a `stock` event: not sent.
    let held = json!({"lines": [{"sku": "WH", "qty": 1}], "ttl_seconds": 60});
    s.must(s.post("/v1/reservations", "dev-storefront", &held));

    // The receiver fails: tried again with backoff (1 s, 2 s), then paused after 3 in a row.
    receiver.answer(500);
    let second = adjust(&s, "WH");
    receiver.wait(&s, "three failed attempts", |got| got.iter().filter(|r| r.event_id == second).count() >= 3);
    let started = Instant::now();
    let hook = loop {
        let hook = s.must(s.get("/v1/webhooks/erp", ADMIN));
        if hook["status"] == "paused" {
            break hook;
        }
        assert!(started.elapsed() < TIMEOUT, "not paused: {hook}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(hook["paused_reason"].as_str().unwrap().contains("500"), "{hook}");
    let attempts: Vec<u32> = receiver.received().iter().filter(|r| r.event_id == second).map(|r| r.attempt).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    let log = s.must(s.get("/v1/webhooks/erp/deliveries", ADMIN));
    let outcomes: Vec<&str> =
        log["deliveries"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["paused", "failed", "failed", "delivered"], "{log}");
    assert_eq!(log["deliveries"][0]["http_status"], 500);

    // Paused: nothing is tried, and nothing is lost.
    let third = adjust(&s, "WH");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.received().len(), 4, "a paused receiver gets nothing");
    receiver.answer(200);
    let mut active = spec.clone();
    active["status"] = json!("active");
    let hook = s.must(s.put("/v1/webhooks/erp", ADMIN, &active));
    assert_eq!((hook["status"].as_str(), hook["version"].as_u64()), (Some("active"), Some(2)));
    let got = receiver.wait(&s, "what waited", |got| ids(got).contains(&third));
    assert_eq!(ids(&got), vec![first.clone(), second.clone(), third.clone()], "in feed order");
    assert!(got.iter().all(signed));

    // Acknowledged writes, then kill -9 before they can be delivered: delivered after the restart.
    let mut written = Vec::new();
    for _ in 0..5 {
        written.push(adjust(&s, "WH"));
    }
    s.kill_and_restart();
    let got = receiver.wait(&s, "deliveries after the restart", |got| {
        let ids = ids(got);
        written.iter().all(|id| ids.contains(id))
    });
    // At least once: a repeat is possible (the receiver de-duplicates on the id); order holds.
    let mut firsts: Vec<String> = Vec::new();
    for id in ids(&got) {
        if !firsts.contains(&id) {
            firsts.push(id);
        }
    }
    let mut expected = vec![first, second, third];
    expected.extend(written);
    assert_eq!(firsts, expected);
}

#[test]
fn bad_webhooks_are_refused_and_change_nothing() {
    let s = Stockline::start();
    let good = json!({"url": "https://erp.example/hook", "types": [], "secret": SECRET});
    let bad = [
        json!({"url": "ftp://erp.example/hook", "secret": SECRET}),
        json!({"url": "https://user:pw@erp.example/hook", "secret": SECRET}),
        json!({"url": "https://erp.example/hook", "secret": "short"}),
        json!({"url": "https://erp.example/hook", "secret": SECRET, "types": ["nope"]}),
        json!({"url": "https://erp.example/hook", "secret": SECRET, "pause_after_failures": 0}),
        json!({"url": "https://erp.example/hook", "secret": SECRET, "colour": "red"}),
        json!({"secret": SECRET}),
    ];
    for body in bad {
        s.expect("PUT", "/v1/webhooks/erp", Some(ADMIN), Some(&body.to_string()), 400, "invalid_request");
    }
    s.expect("GET", "/v1/webhooks/erp", Some(ADMIN), None, 404, "not_found");
    s.expect("GET", "/v1/webhooks/erp/deliveries", Some(ADMIN), None, 404, "not_found");
    s.expect("PUT", "/v1/webhooks/erp", Some("dev-buyer"), Some(&good.to_string()), 403, "forbidden");
    s.expect("PUT", "/v1/webhooks/bad%20id", Some(ADMIN), Some(&good.to_string()), 400, "invalid_request");
    s.expect("GET", "/v1/webhooks/erp/deliveries?limit=0", Some(ADMIN), None, 400, "invalid_request");
    s.expect("POST", "/v1/webhooks/erp", Some(ADMIN), Some(&good.to_string()), 405, "");
    let (status, hook) = s.put("/v1/webhooks/erp", ADMIN, &good);
    assert_eq!(status, 201, "{hook}");
    assert_eq!(s.put("/v1/webhooks/erp", ADMIN, &good).0, 200, "a second PUT changes it");
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("the clock is after 1970").as_secs()
        as i64
}
