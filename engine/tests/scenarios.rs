//! Table-driven scenarios for the per-SKU ledger, written in a tiny line-based DSL and run by one
//! `check` helper (rust-analyzer style: each test is a script, the helper does the work).
//!
//! # The DSL
//!
//! Every scenario starts with a catalog of locations `A` (priority 1), `B` (2), `C` (3), channels
//! `web` = [A, B] and `store` = [C], and the SKU `sku` defined with safety stock 0 (version 1).
//! A first line `sku safety=N` defines it with another safety stock, `sku undefined` not at all.
//! `#` starts a comment.
//!
//! Operations (each must succeed unless the next line is `=> err ...`):
//! - movements: `<kind> <loc> <qty> [to=LOC] [ref=REF] [reason=TEXT] [@vN]`, e.g. `receive A 10`,
//!   `ship A 2 ref=r1`, `count A 7 @v3`, `transfer A 5 to=B ref=t1`, `adjust A -2 reason=shrink`.
//! - `define safety=N [barcodes=GTIN,GTIN]`
//! - a count may name versions it already includes: `count A 25 @v2 includes=3,5`.
//! - `reserve ID [channel=CH] [ttl=SECS] [ref=REF] LINE...` where LINE is `QTY` or `LOC:QTY` (pinned);
//!   the same request again answers `exists` and the hold it placed.
//! - `commit ID [QTY]`, `unallocate ID LOC QTY` (a committed hold's units back to available),
//!   `release ID`, `prepare ID` (`=> prepared`, or `=> already prepared` with no
//!   entry), `expire` (expire_due at the current time), `at SECS` (set clock).
//! - catalog: `location ID PRIORITY`, `channel ID LOC,LOC [buffer=N] [cap=N] [stop_below=N]`.
//! - `repeat N <operation>`.
//!
//! Assertions:
//! - `=> OUTPUT` — the previous operation's output (see `render_*`), or `=> err CODE DETAILS`.
//! - `A on_hand=10 reserved=2` — the full position at A; buckets not named must be 0 (`A empty`).
//! - `total CH|- available=.. on_hand=..` — the availability totals; fields not named must be 0.
//! - `atp CH|- N`, `promise CH|- QTY QTY@DATE... [+N]` (now, then by date from dated inbound, +N
//!   unpromised), `order CH|- A B`, `version N`, `hold ID STATUS [LOC:QTY...]`,
//!   `next_expiry SECS|none`, `expected LOC REF N`, `exceptions N`. `hold` says `pending prepared`
//!   for a prepared hold.
//!
//! After every operation the helper also checks, without being asked: a failed operation changed
//! nothing (version and snapshot); a successful one added entries with consecutive versions; replaying
//! all entries gives the same snapshot; the snapshot survives serde_json + restore; and every
//! availability answer (all locations and each channel) matches the contract's formulas.

use chrono::{DateTime, Duration, Utc};
use stockline_engine::{
    Actor, Catalog, ChannelSpec, Ctx, Effect, EngineError, Entry, Event, HoldLineRequest, HoldRequest, HoldStatus, Id,
    LedgerSnapshot, LocationKind, LocationSpec, Movement, MovementKind, Role, SkuLedger, SkuSpec,
};

// ------------------------------------------------------------------------------------------ helper

fn id(value: &str) -> Id {
    Id::new(value).unwrap()
}

fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

struct World {
    catalog: Catalog,
    ledger: SkuLedger,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
}

impl World {
    fn new() -> World {
        let mut catalog = Catalog::default();
        for (loc, priority) in [("A", 1), ("B", 2), ("C", 3)] {
            put_location(&mut catalog, loc, priority);
        }
        put_channel(&mut catalog, "web", &["A", "B"], 0, None, None);
        put_channel(&mut catalog, "store", &["C"], 0, None, None);
        World { catalog, ledger: SkuLedger::new(id("sku")), entries: Vec::new(), now: base_time() }
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(Actor { subject: "tester".into(), role: Role::Warehouse }, self.now)
    }

    fn seconds(&self, at: DateTime<Utc>) -> i64 {
        (at - base_time()).num_seconds()
    }
}

fn put_location(catalog: &mut Catalog, loc: &str, priority: i64) {
    let spec =
        LocationSpec { name: format!("Location {loc}"), kind: LocationKind::Warehouse, region: "eu".into(), priority };
    catalog.put_location(id(loc), spec).unwrap();
}

fn put_channel(catalog: &mut Catalog, ch: &str, locs: &[&str], buffer: i64, cap: Option<i64>, stop: Option<i64>) {
    let spec = ChannelSpec {
        name: format!("Channel {ch}"),
        locations: locs.iter().map(|l| id(l)).collect(),
        buffer,
        cap,
        stop_below: stop,
    };
    catalog.put_channel(id(ch), spec).unwrap();
}

/// `key=value` options and bare words of one line.
struct Args<'a> {
    words: Vec<&'a str>,
    options: Vec<(&'a str, &'a str)>,
}

impl<'a> Args<'a> {
    fn parse(tokens: &[&'a str]) -> Args<'a> {
        let mut words = Vec::new();
        let mut options = Vec::new();
        for token in tokens {
            match token.split_once('=') {
                Some((key, value)) => options.push((key, value)),
                None => words.push(*token),
            }
        }
        Args { words, options }
    }

    fn option(&self, key: &str) -> Option<&'a str> {
        self.options.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.option(key).map(|v| v.parse().unwrap_or_else(|_| panic!("{key}={v} is not a number")))
    }
}

fn parse_kind(word: &str) -> Option<MovementKind> {
    serde_json::from_value(serde_json::Value::String(word.to_string())).ok()
}

fn render_err(ledger: &SkuLedger, error: &EngineError) -> String {
    let details = match error {
        EngineError::InvalidRequest { field, .. } => field.clone(),
        EngineError::NotFound { kind, id } => format!("{kind} {id}"),
        EngineError::InsufficientStock { shortages } => {
            assert!(!shortages.is_empty());
            shortages
                .iter()
                .map(|s| {
                    assert_eq!(s.sku, ledger.sku().as_str());
                    format!("requested={} available={}", s.requested, s.available)
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        EngineError::AlreadyResolved { status } => status.as_str().to_string(),
        EngineError::Forbidden { rule, .. } => rule.clone(),
        EngineError::Conflict { .. } | EngineError::IdempotencyMismatch | EngineError::Unavailable { .. } => {
            String::new()
        }
    };
    format!("err {} {details}", error.code()).trim_end().to_string()
}

fn render_allocs<'a>(allocs: impl IntoIterator<Item = &'a stockline_engine::Allocation>) -> String {
    allocs.into_iter().map(|a| format!("{}:{}", a.location, a.qty)).collect::<Vec<_>>().join(" ")
}

/// Runs one operation; returns its output and the entries it recorded.
fn run_op(w: &mut World, tokens: &[&str]) -> Result<(String, Vec<Entry>), EngineError> {
    let args = Args::parse(&tokens[1..]);
    let ctx = w.ctx();
    match tokens[0] {
        "define" => {
            let barcodes = args.option("barcodes").map_or(Vec::new(), |b| b.split(',').map(str::to_string).collect());
            let spec = SkuSpec {
                name: "Thing".into(),
                safety_stock: args.int("safety").unwrap_or(0),
                unit_cost: args.option("cost").map(|c| stockline_engine::Money::parse(c).expect("cost=money")),
                barcodes,
                critical: args.words.contains(&"critical"),
                substitutes: Vec::new(),
            };
            let entry = w.ledger.define(&w.catalog, spec, &ctx)?;
            Ok(("ok".into(), vec![entry]))
        }
        "expect" => {
            let target = stockline_engine::InboundTarget {
                location: id(args.words[0]),
                reference: args.option("ref").expect("expect names ref=").to_string(),
                qty: args.words[1].parse().unwrap(),
                expected_on: args.option("on").map(|d| d.parse().expect("on=YYYY-MM-DD")),
            };
            match w.ledger.expect_inbound(&w.catalog, target, &ctx)? {
                Some(entry) => Ok(("ok".into(), vec![entry])),
                None => Ok(("unchanged".into(), vec![])),
            }
        }
        "po_receive" => {
            let (stock, quarantine) = (args.words[1].parse().unwrap(), args.words[2].parse().unwrap());
            let reference = args.option("ref").expect("po_receive names ref=");
            let cost = args.option("cost").map(|c| stockline_engine::Money::parse(c).expect("cost=money"));
            let location = id(args.words[0]);
            let expected_on = args.option("on").map(|d| d.parse().expect("on=YYYY-MM-DD"));
            let receipt = stockline_engine::OrderReceipt {
                reference: reference.to_string(),
                location,
                into_stock: stock,
                into_quarantine: quarantine,
                unit_cost: cost,
                expected_on,
            };
            let entries = w.ledger.receive_from_order(&w.catalog, &receipt, &ctx)?;
            Ok((format!("{} entries", entries.len()), entries))
        }
        "revalue" => {
            let delta = stockline_engine::Money::parse(args.option("delta").expect("delta=")).expect("money");
            let reference = args.option("ref").expect("revalue names ref=");
            let qty = args.words[0].parse().unwrap();
            match w.ledger.revalue(&w.catalog, reference, qty, delta, &ctx)? {
                Some(entry) => Ok(("ok".into(), vec![entry])),
                None => Ok(("unchanged".into(), vec![])),
            }
        }
        "reserve" => {
            let mut lines = Vec::new();
            for word in &args.words[1..] {
                lines.push(match word.split_once(':') {
                    Some((loc, qty)) => HoldLineRequest { qty: qty.parse().unwrap(), location: Some(id(loc)) },
                    None => HoldLineRequest { qty: word.parse().unwrap(), location: None },
                });
            }
            let request = HoldRequest {
                id: id(args.words[0]),
                channel: args.option("channel").map(id),
                lines,
                expires_at: w.now + Duration::seconds(args.int("ttl").unwrap_or(900)),
                reference: args.option("ref").map(str::to_string),
            };
            if let Some(hold) = w.ledger.placed_hold(&request) {
                let out = hold.lines.iter().map(|l| format!("[{}]", render_allocs(&l.allocations))).collect::<Vec<_>>();
                return Ok((format!("exists {}", out.join(" ")), vec![]));
            }
            let entry = w.ledger.place_hold(&w.catalog, request, &ctx)?;
            let Event::HoldPlaced { hold } = &entry.event else { panic!("not a placed hold") };
            let out = hold.lines.iter().map(|l| format!("[{}]", render_allocs(&l.allocations))).collect::<Vec<_>>();
            Ok((out.join(" "), vec![entry]))
        }
        "commit" => {
            let qty = args.words.get(1).map(|q| q.parse().unwrap());
            let entry = w.ledger.commit_hold(&w.catalog, args.words[0], qty, &ctx)?;
            let allocated: Vec<String> = entry
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Qty { location, bucket: stockline_engine::Bucket::Allocated, delta } => {
                        Some(format!("{location}:{delta}"))
                    }
                    _ => None,
                })
                .collect();
            let allocated = if allocated.is_empty() { "-".to_string() } else { allocated.join(" ") };
            Ok((format!("committed {allocated}"), vec![entry]))
        }
        "unallocate" => {
            let qty: i64 = args.words[2].parse().unwrap();
            let entry = w.ledger.release_allocation(&w.catalog, args.words[0], &id(args.words[1]), qty, &ctx)?;
            Ok((format!("unallocated {}:{qty}", args.words[1]), vec![entry]))
        }
        "release" => {
            let entry = w.ledger.release_hold(&w.catalog, args.words[0], &ctx)?;
            Ok(("released".into(), vec![entry]))
        }
        "prepare" => match w.ledger.prepare_hold(&w.catalog, args.words[0], &ctx)? {
            Some(entry) => {
                assert!(entry.effects.is_empty(), "preparing moves no units");
                let Event::HoldPrepared { reservation } = &entry.event else { panic!("not a prepared hold") };
                assert_eq!(reservation.as_str(), args.words[0]);
                Ok(("prepared".into(), vec![entry]))
            }
            None => Ok(("already prepared".into(), Vec::new())),
        },
        "expire" => {
            let entries = w.ledger.expire_due(&w.catalog, w.now);
            let ids: Vec<String> = entries
                .iter()
                .map(|e| match &e.event {
                    Event::HoldExpired { reservation } => reservation.to_string(),
                    other => panic!("expire_due recorded {other:?}"),
                })
                .collect();
            let out = if ids.is_empty() { "-".to_string() } else { ids.join(" ") };
            Ok((format!("expired {out}"), entries))
        }
        word => {
            let kind = parse_kind(word).unwrap_or_else(|| panic!("unknown operation `{word}`"));
            let counted_at_version = args
                .words
                .iter()
                .find_map(|w| w.strip_prefix("@v"))
                .map(|v| v.parse().unwrap_or_else(|_| panic!("bad version @v{v}")));
            let movement = Movement {
                kind,
                location: Id::new(args.words[0])?,
                qty: args.words[1].parse().unwrap(),
                to_location: args.option("to").map(id),
                into: args
                    .option("into")
                    .map(|v| serde_json::from_value(serde_json::json!(v)).expect("into=stock|quarantine")),
                disposition: args.option("disposition").map(|v| {
                    serde_json::from_value(serde_json::json!(v)).expect("disposition=restock|quarantine|damage")
                }),
                reason: args.option("reason").map(str::to_string),
                reference: args.option("ref").map(str::to_string),
                counted_at_version,
                includes_versions: args
                    .option("includes")
                    .map_or(Vec::new(), |v| v.split(',').map(|v| v.parse().expect("includes=N,N")).collect()),
            };
            let expected_change = (kind != MovementKind::Count).then(|| movement.on_hand_change());
            let location = movement.location.clone();
            let outcome = w.ledger.record_movement(&w.catalog, movement, &ctx)?;
            if let Some(expected_change) = expected_change {
                // What a tablet expects a movement to do to on_hand is what the ledger records.
                let recorded: i64 = outcome
                    .entry
                    .effects
                    .iter()
                    .filter_map(|e| match e {
                        Effect::Qty { location: at, bucket: stockline_engine::Bucket::OnHand, delta }
                            if *at == location =>
                        {
                            Some(*delta)
                        }
                        _ => None,
                    })
                    .sum();
                assert_eq!(recorded, expected_change, "Movement::on_hand_change of {kind:?}");
            }
            let Event::Movement { exceptions, .. } = &outcome.entry.event else { panic!("not a movement") };
            assert_eq!(exceptions, &outcome.exceptions, "the entry records the exceptions it returns");
            let out = if outcome.exceptions.is_empty() {
                "ok".to_string()
            } else {
                outcome
                    .exceptions
                    .iter()
                    .map(|x| {
                        assert_eq!(x.version, outcome.entry.version);
                        if let Some(d) = &x.disagreement {
                            assert_eq!(x.kind, stockline_engine::CountExceptionKind::CountsDisagree);
                            return format!(
                                "counts disagree {} other=v{}:{} this={}",
                                x.location, d.other_count_version, d.other_on_hand, d.this_on_hand
                            );
                        }
                        let holds = x
                            .holds
                            .iter()
                            .map(|h| format!("{}:{}:{}", h.reservation, h.status.as_str(), h.qty))
                            .collect::<Vec<_>>()
                            .join(",");
                        format!("exception {} shortfall={} holds={holds}", x.location, x.shortfall)
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            Ok((out, vec![outcome.entry]))
        }
    }
}

const BUCKETS: [&str; 7] = ["on_hand", "quarantined", "damaged", "reserved", "allocated", "inbound", "return_pending"];

/// Parses `field=value` pairs for the named fields; every field not named is expected to be 0.
fn expected_fields(args: &Args, allowed: &[&str], line: &str) -> Vec<(String, i64)> {
    for (key, _) in &args.options {
        assert!(allowed.contains(key), "unknown field `{key}` in `{line}`");
    }
    allowed.iter().map(|f| (f.to_string(), args.int(f).unwrap_or(0))).collect()
}

fn position_fields(p: &stockline_engine::Position) -> Vec<(String, i64)> {
    stockline_engine::Bucket::ALL.iter().map(|b| (b.as_str().to_string(), p.get(*b))).collect()
}

fn channel_arg(word: &str) -> Option<&str> {
    (word != "-").then_some(word)
}

/// The contract's formulas, computed here from positions and master data alone.
fn check_formulas(w: &World, context: &str) {
    let Some(policy) = w.ledger.policy() else { return };
    let mut channels: Vec<Option<&str>> = vec![None];
    channels.extend(w.catalog.channels().map(|c| Some(c.id.as_str())));
    for channel in channels {
        let av = w.ledger.availability(&w.catalog, channel).unwrap();
        let (mut locs, buffer, cap, stop_below): (Vec<&stockline_engine::Location>, _, _, _) = match channel {
            None => (w.catalog.locations().iter().collect(), 0, None, None),
            Some(ch) => {
                let c = w.catalog.channels().find(|c| c.id.as_str() == ch).unwrap();
                let locs =
                    c.locations.iter().map(|l| w.catalog.location(w.catalog.slot(l.as_str()).unwrap())).collect();
                (locs, c.buffer, c.cap, c.stop_below)
            }
        };
        locs.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));
        let order: Vec<&str> = av.locations.iter().map(|l| l.location.as_str()).collect();
        let expected_order: Vec<&str> = locs.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(order, expected_order, "{context}: location order of {channel:?}");
        let mut sum = [0_i64; 9];
        for line in &av.locations {
            let p = w.ledger.position(w.catalog.slot(line.location.as_str()).unwrap());
            let available = (p.on_hand - p.quarantined - p.damaged - p.reserved - p.allocated).max(0);
            let fields = [
                line.available,
                line.on_hand,
                line.reserved,
                line.allocated,
                line.quarantined,
                line.damaged,
                line.inbound,
                line.return_pending,
                0,
            ];
            let want = [
                available,
                p.on_hand,
                p.reserved,
                p.allocated,
                p.quarantined,
                p.damaged,
                p.inbound,
                p.return_pending,
                0,
            ];
            assert_eq!(fields, want, "{context}: line {} of {channel:?}", line.location);
            for (s, f) in sum.iter_mut().zip(fields) {
                *s += f;
            }
        }
        let totals = [av.on_hand, av.reserved, av.allocated, av.quarantined, av.damaged, av.inbound, av.return_pending];
        assert_eq!(totals[..], sum[1..8], "{context}: totals of {channel:?}");
        let sum_available = sum[0];
        let mut want = (sum_available - policy.safety_stock - buffer).max(0);
        if let Some(cap) = cap {
            want = want.min(cap);
        }
        if stop_below.is_some_and(|s| sum_available < s) {
            want = 0;
        }
        assert_eq!(av.available, want, "{context}: available of {channel:?}");
        assert_eq!(w.ledger.available_to_promise(&w.catalog, channel).unwrap(), want);
        assert_eq!(av.version, w.ledger.version());
        assert_eq!(av.safety_stock, policy.safety_stock);
        assert_eq!(av.channel.as_ref().map(|c| c.as_str()), channel);
    }
}

fn check_after_op(w: &World, before: &LedgerSnapshot, result: &Result<(String, Vec<Entry>), EngineError>, ctx: &str) {
    let snapshot = w.ledger.snapshot(&w.catalog);
    match result {
        Err(_) => {
            assert_eq!(w.ledger.version(), before.version, "{ctx}: a failed operation changed the version");
            assert_eq!(&snapshot, before, "{ctx}: a failed operation changed the state");
        }
        Ok((_, entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                assert_eq!(entry.version, before.version + 1 + i as u64, "{ctx}: entry versions");
            }
            assert_eq!(w.ledger.version(), before.version + entries.len() as u64, "{ctx}: one version per change");
        }
    }
    let replayed = SkuLedger::replay(&w.catalog, w.ledger.sku().clone(), &w.entries).unwrap();
    assert_eq!(replayed.snapshot(&w.catalog), snapshot, "{ctx}: replay differs from the incremental ledger");
    assert_eq!(replayed.next_expiry(), w.ledger.next_expiry(), "{ctx}: replayed next_expiry");
    let json = serde_json::to_string(&snapshot).unwrap();
    let restored = SkuLedger::restore(&w.catalog, serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(restored.snapshot(&w.catalog), snapshot, "{ctx}: snapshot does not round-trip");
    assert_eq!(restored.next_expiry(), w.ledger.next_expiry(), "{ctx}: restored next_expiry");
    check_formulas(w, ctx);
}

fn check_catalog_round_trip(catalog: &Catalog, ctx: &str) {
    let json = serde_json::to_string(catalog).unwrap();
    let restored: Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(&restored, catalog, "{ctx}: catalog does not round-trip");
    assert_eq!(restored.ordered_slots(), catalog.ordered_slots(), "{ctx}: shipping order after round-trip");
}

#[track_caller]
fn check(script: &str) {
    let mut w = World::new();
    let lines: Vec<(usize, &str)> = script
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.split('#').next().unwrap().trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let mut start = 0;
    let mut safety = Some(0);
    if let Some((_, first)) = lines.first() {
        if let Some(rest) = first.strip_prefix("sku ") {
            start = 1;
            safety = match rest.trim() {
                "undefined" => None,
                other => Some(other.strip_prefix("safety=").expect("sku safety=N | sku undefined").parse().unwrap()),
            };
        }
    }
    if let Some(safety) = safety {
        let spec = SkuSpec {
            name: "Thing".into(),
            safety_stock: safety,
            unit_cost: None,
            barcodes: Vec::new(),
            critical: false,
            substitutes: Vec::new(),
        };
        let entry = w.ledger.define(&w.catalog, spec, &w.ctx()).unwrap();
        w.entries.push(entry);
    }
    // The previous operation's line and result, until an `=>` line or the next line consumes it.
    let mut last: Option<(usize, String, Result<String, String>)> = None;
    for &(n, line) in &lines[start..] {
        let ctx = format!("line {n} `{line}`");
        if let Some(expected) = line.strip_prefix("=>") {
            let (op_n, op_line, result) = last.take().unwrap_or_else(|| panic!("{ctx}: no operation to check"));
            let actual = match result {
                Ok(out) => out,
                Err(err) => err,
            };
            assert_eq!(actual, expected.trim(), "line {op_n} `{op_line}`: unexpected output");
            continue;
        }
        if let Some((op_n, op_line, Err(err))) = last.take() {
            panic!("line {op_n} `{op_line}` failed unexpectedly: {err}");
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let args = Args::parse(&tokens[1..]);
        match tokens[0] {
            "at" => w.now = base_time() + Duration::seconds(tokens[1].parse().unwrap()),
            "location" => {
                put_location(&mut w.catalog, tokens[1], tokens[2].parse().unwrap());
                check_catalog_round_trip(&w.catalog, &ctx);
            }
            "channel" => {
                let locs: Vec<&str> = tokens[2].split(',').collect();
                put_channel(
                    &mut w.catalog,
                    tokens[1],
                    &locs,
                    args.int("buffer").unwrap_or(0),
                    args.int("cap"),
                    args.int("stop_below"),
                );
                check_catalog_round_trip(&w.catalog, &ctx);
            }
            "version" => assert_eq!(w.ledger.version(), tokens[1].parse::<u64>().unwrap(), "{ctx}"),
            "exceptions" => {
                assert_eq!(w.ledger.open_exceptions().count(), tokens[1].parse::<usize>().unwrap(), "{ctx}")
            }
            "expected" => {
                assert_eq!(w.ledger.expected(tokens[1], tokens[2]), tokens[3].parse::<i64>().unwrap(), "{ctx}")
            }
            "cost" => {
                let actual = w.ledger.policy().and_then(|p| p.unit_cost);
                let expected = (tokens[1] != "none").then(|| stockline_engine::Money::parse(tokens[1]).expect("money"));
                assert_eq!(actual, expected, "{ctx}");
            }
            "expected_on" => {
                let actual =
                    w.ledger.expected_on(&id(tokens[1]), tokens[2]).map_or("none".to_string(), |d| d.to_string());
                assert_eq!(actual, tokens[3], "{ctx}");
            }
            "next_expiry" => {
                let actual = w.ledger.next_expiry().map_or("none".to_string(), |t| w.seconds(t).to_string());
                assert_eq!(actual, tokens[1], "{ctx}");
            }
            "promise" => {
                // `promise CH|- QTY  QTY@DATE … [+UNPROMISED]`, today being the world's clock.
                let qty = tokens[2].parse::<i64>().unwrap();
                let promise = w.ledger.promise(&w.catalog, channel_arg(tokens[1]), qty, w.now.date_naive()).unwrap();
                let mut shown: Vec<String> =
                    promise.slices.iter().map(|s| format!("{}@{}", s.qty, s.available_on)).collect();
                if promise.unpromised > 0 {
                    shown.push(format!("+{}", promise.unpromised));
                }
                assert_eq!(shown, tokens[3..], "{ctx}");
            }
            "atp" => {
                let actual = w.ledger.available_to_promise(&w.catalog, channel_arg(tokens[1])).unwrap();
                assert_eq!(actual, tokens[2].parse::<i64>().unwrap(), "{ctx}");
            }
            "order" => {
                let av = w.ledger.availability(&w.catalog, channel_arg(tokens[1])).unwrap();
                let order: Vec<&str> = av.locations.iter().map(|l| l.location.as_str()).collect();
                assert_eq!(order, tokens[2..], "{ctx}");
            }
            "total" => {
                let av = w.ledger.availability(&w.catalog, channel_arg(tokens[1])).unwrap();
                let mut allowed = vec!["available"];
                allowed.extend(BUCKETS);
                let want = expected_fields(&args, &allowed, line);
                let actual: Vec<(String, i64)> = [
                    ("available", av.available),
                    ("on_hand", av.on_hand),
                    ("quarantined", av.quarantined),
                    ("damaged", av.damaged),
                    ("reserved", av.reserved),
                    ("allocated", av.allocated),
                    ("inbound", av.inbound),
                    ("return_pending", av.return_pending),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                assert_eq!(actual, want, "{ctx}");
            }
            "hold" => {
                let hold_id = tokens[1];
                let mut status = w.ledger.hold_status(hold_id).map_or("unknown", HoldStatus::as_str).to_string();
                if w.ledger.hold(hold_id).is_some_and(|h| h.prepared) {
                    status.push_str(" prepared");
                }
                let allocs = match w.ledger.hold(hold_id) {
                    Some(h) if h.status == HoldStatus::Pending => render_allocs(&h.held_by_location()),
                    Some(h) => render_allocs(&h.allocated),
                    None => String::new(),
                };
                let actual = format!("{status} {allocs}").trim_end().to_string();
                assert_eq!(actual, tokens[2..].join(" "), "{ctx}");
            }
            word if w.catalog.slot(word).is_some() => {
                let want = if tokens.get(1) == Some(&"empty") {
                    expected_fields(&Args::parse(&[]), &BUCKETS, line)
                } else {
                    expected_fields(&args, &BUCKETS, line)
                };
                let actual = position_fields(&w.ledger.position(w.catalog.slot(word).unwrap()));
                assert_eq!(actual, want, "{ctx}");
            }
            "repeat" => {
                let times: usize = tokens[1].parse().unwrap();
                for _ in 0..times {
                    let before = w.ledger.snapshot(&w.catalog);
                    let result = run_op(&mut w, &tokens[2..]);
                    if let Ok((_, entries)) = &result {
                        w.entries.extend(entries.iter().cloned());
                    }
                    check_after_op(&w, &before, &result, &ctx);
                    if let Err(err) = result {
                        panic!("{ctx} failed unexpectedly: {}", render_err(&w.ledger, &err));
                    }
                }
            }
            _ => {
                let before = w.ledger.snapshot(&w.catalog);
                let result = run_op(&mut w, &tokens);
                if let Ok((_, entries)) = &result {
                    w.entries.extend(entries.iter().cloned());
                }
                check_after_op(&w, &before, &result, &ctx);
                let rendered = result.map(|(out, _)| out).map_err(|err| render_err(&w.ledger, &err));
                last = Some((n, line.to_string(), rendered));
            }
        }
    }
    if let Some((op_n, op_line, Err(err))) = last {
        panic!("line {op_n} `{op_line}` failed unexpectedly: {err}");
    }
}

// ------------------------------------------------------------------------------------------ movements

#[test]
fn receive_adds_on_hand() {
    check(
        r#"
        receive A 100
        => ok
        A on_hand=100
        B empty
        version 2
        total - available=100 on_hand=100
        atp web 100
        atp store 0
        "#,
    );
}

#[test]
fn quantities_out_of_range_are_invalid() {
    check(
        r#"
        receive A 0
        => err invalid_request qty
        receive A 1000000001
        => err invalid_request qty
        receive A -1
        => err invalid_request qty
        receive A 1000000000
        A on_hand=1000000000
        ship A 0 ref=r1
        => err invalid_request qty
        quarantine A 0
        => err invalid_request qty
        version 2
        "#,
    );
}

#[test]
fn unknown_location_sku_and_bad_fields() {
    check(
        r#"
        receive Z 1
        => err not_found location Z
        receive A 1 @v1
        => err invalid_request counted_at_version
        receive A 1 to=B
        => err invalid_request to_location
        receive A 1 ref=
        => err invalid_request reference
        version 1
        "#,
    );
    check(
        r#"
        sku undefined
        receive A 1
        => err not_found sku sku
        reserve r1 1
        => err not_found sku sku
        define safety=0
        version 1
        receive A 1
        version 2
        "#,
    );
}

#[test]
fn adjust_needs_reason_and_non_zero_qty() {
    check(
        r#"
        adjust A 5
        => err invalid_request reason
        adjust A 5 reason=
        => err invalid_request reason
        adjust A 0 reason=found
        => err invalid_request qty
        adjust A -1000000001 reason=lost
        => err invalid_request qty
        adjust A 5 reason=found
        A on_hand=5
        adjust A -2 reason=shrink
        A on_hand=3
        adjust A -4 reason=shrink
        => err conflict
        A on_hand=3
        version 3
        "#,
    );
}

#[test]
fn receive_into_quarantine_and_returns_by_disposition_are_one_entry_each() {
    // Units never pass through "sellable" on their way to quarantine or damaged.
    check(
        r#"
        receive A 10 into=quarantine
        A on_hand=10 quarantined=10
        total - available=0 on_hand=10 quarantined=10
        version 2
        receive A 5 into=stock
        A on_hand=15 quarantined=10
        return_expected A 6
        return_receive A 2 disposition=quarantine
        A on_hand=17 quarantined=12 return_pending=4
        return_receive A 1 disposition=damage
        A on_hand=18 quarantined=12 damaged=1 return_pending=3
        return_receive A 1 disposition=restock
        A on_hand=19 quarantined=12 damaged=1 return_pending=2
        return_receive A 1
        A on_hand=20 quarantined=12 damaged=1 return_pending=1
        version 8
        # into and disposition belong to their own kinds
        adjust A 1 reason=found into=quarantine
        => err invalid_request into
        receive A 1 disposition=damage
        => err invalid_request disposition
        version 8
        "#,
    );
}

#[test]
fn on_hand_never_below_committed_units() {
    // Every movement that lowers on_hand or raises a committed bucket is refused past the cover.
    check(
        r#"
        receive A 10
        quarantine A 2
        damage A 3
        reserve r1 A:4
        reserve r2 A:1
        commit r2
        A on_hand=10 quarantined=2 damaged=3 reserved=4 allocated=1
        total - available=0 on_hand=10 quarantined=2 damaged=3 reserved=4 allocated=1
        adjust A -1 reason=shrink
        => err conflict
        transfer A 1 to=B ref=t1
        => err conflict
        quarantine A 1
        => err conflict
        damage A 1
        => err conflict
        reserve r3 1
        => err insufficient_stock requested=1 available=0
        # scrap lowers on_hand and damaged together: the cover stays
        scrap A 3
        A on_hand=7 quarantined=2 reserved=4 allocated=1
        release_quarantine A 2
        A on_hand=7 reserved=4 allocated=1
        adjust A -2 reason=shrink
        A on_hand=5 reserved=4 allocated=1
        adjust A -1 reason=shrink
        => err conflict
        version 10
        "#,
    );
}

#[test]
fn buckets_never_negative() {
    check(
        r#"
        receive A 10
        release_quarantine A 1
        => err conflict
        scrap A 1
        => err conflict
        return_receive A 1
        => err conflict
        ship A 1 ref=r1
        => err conflict
        quarantine A 4
        release_quarantine A 5
        => err conflict
        damage A 2
        scrap A 3
        => err conflict
        return_expected A 2
        return_receive A 3
        => err conflict
        A on_hand=10 quarantined=4 damaged=2 return_pending=2
        version 5
        "#,
    );
}

#[test]
fn quarantine_and_damage_are_not_sellable() {
    // Odoo stock_quant: quarantined/damaged quants are on hand but not available; scrap removes them.
    check(
        r#"
        receive A 10
        quarantine A 3
        damage A 2
        A on_hand=10 quarantined=3 damaged=2
        atp - 5
        atp web 5
        reserve r1 6
        => err insufficient_stock requested=6 available=5
        reserve r1 5
        => [A:5]
        release r1
        release_quarantine A 3
        atp - 8
        scrap A 2
        => ok
        A on_hand=8
        total - available=8 on_hand=8
        "#,
    );
}

#[test]
fn returns_expected_then_received() {
    check(
        r#"
        return_expected B 4
        B return_pending=4
        atp - 0
        return_receive B 3
        B on_hand=3 return_pending=1
        atp web 3
        total web available=3 on_hand=3 return_pending=1
        total store
        "#,
    );
}

/// A host that lost the answer to a hold (killed between the hold and its own record) asks
/// again: the same request is the hold it placed, nothing taken twice; anything else is refused.
#[test]
fn the_same_hold_asked_again_is_the_one_placed() {
    check(
        r#"
        receive A 10
        reserve r1 ref=o1 A:4
        => [A:4]
        reserve r1 ttl=60 ref=o1 A:4
        => exists [A:4]
        A on_hand=10 reserved=4
        reserve r1 ref=o1 A:5
        => err conflict
        reserve r1 ref=o2 A:4
        => err conflict
        reserve r1 ref=o1 4
        => err conflict
        commit r1
        => committed A:4
        reserve r1 ref=o1 A:4
        => err conflict          # resolved: an id is never placed again
        A on_hand=10 reserved=0 allocated=4
        "#,
    );
}

#[test]
fn ship_draws_down_a_committed_reservation() {
    check(
        r#"
        receive A 10
        reserve r1 4
        ship A 1 ref=r1
        => err conflict          # pending, nothing allocated yet
        commit r1
        => committed A:4
        A on_hand=10 allocated=4
        ship A 1
        => err invalid_request reference
        ship B 1 ref=r1
        => err conflict          # r1 has nothing allocated at B
        ship A 5 ref=r1
        => err conflict          # more than allocated
        ship A 1 ref=nope
        => err conflict
        ship A 3 ref=r1
        A on_hand=7 allocated=1
        hold r1 committed A:1
        ship A 1 ref=r1
        A on_hand=6
        hold r1 committed
        ship A 1 ref=r1
        => err conflict          # fully shipped
        version 6
        "#,
    );
}

#[test]
fn a_cancelled_order_gives_its_allocated_units_back() {
    check(
        r#"
        receive A 6
        receive B 4
        reserve r1 A:3 B:2
        unallocate r1 A 1
        => err conflict          # pending: release it instead
        commit r1
        A on_hand=6 allocated=3
        unallocate r1 A 4
        => err conflict          # more than allocated there
        unallocate r1 C 1
        => err conflict          # nothing allocated at C
        unallocate r1 A 0
        => err invalid_request qty
        unallocate r1 Z 1
        => err not_found location Z
        unallocate nope A 1
        => err not_found reservation nope
        ship A 1 ref=r1
        unallocate r1 A 2
        => unallocated A:2
        A on_hand=5
        hold r1 committed B:2
        total web available=7 on_hand=9 allocated=2
        unallocate r1 B 2
        hold r1 committed
        unallocate r1 B 1
        => err conflict          # all given back: a repeat changes nothing
        total web available=9 on_hand=9
        "#,
    );
}

#[test]
fn ship_from_a_hold_split_across_locations() {
    check(
        r#"
        receive A 3
        receive B 5
        reserve r1 channel=web 6
        => [A:3 B:3]
        commit r1 5
        => committed A:3 B:2
        A on_hand=3 allocated=3
        B on_hand=5 allocated=2
        ship B 3 ref=r1
        => err conflict
        ship B 2 ref=r1
        ship A 3 ref=r1
        A empty
        B on_hand=3
        hold r1 committed
        "#,
    );
}

#[test]
fn transfer_then_receive_settles_inbound() {
    check(
        r#"
        receive A 20
        transfer A 10 to=B ref=t1
        A on_hand=10
        B inbound=10
        expected B t1 10
        total web available=10 on_hand=10 inbound=10
        # a partial receive settles what it brings
        receive B 4 ref=t1
        B on_hand=4 inbound=6
        expected B t1 6
        # receiving more than still expected settles only what was expected
        receive B 9 ref=t1
        B on_hand=13
        expected B t1 0
        # the transfer is complete: another receive with its reference leaves inbound alone
        receive B 1 ref=t1
        B on_hand=14
        version 6
        "#,
    );
}

#[test]
fn promises_come_from_the_channel_available_then_dated_inbound_at_its_locations() {
    check(
        r#"
        sku safety=2
        receive A 5
        reserve r1 A:1
        # web = [A, B]: 4 free at A, safety stock 2 → 2 now
        atp web 2
        promise web 2  2@2030-01-01
        promise web 9  2@2030-01-01 +7
        # dated inbound at B and C; C is not in web, undated inbound promises nothing
        expect B 3 ref=PO-1 on=2030-01-20
        expect B 4 ref=PO-2 on=2030-01-10
        expect C 50 ref=PO-3 on=2030-01-02
        expect A 9 ref=T-1
        promise web 9  2@2030-01-01 4@2030-01-10 3@2030-01-20
        promise web 10  2@2030-01-01 4@2030-01-10 3@2030-01-20 +1
        promise store 10  10@2030-01-02
        promise - 60  2@2030-01-01 50@2030-01-02 4@2030-01-10 3@2030-01-20 +1
        # a channel buffer is refilled first by what arrives
        channel lean A,B buffer=3
        promise lean 5  3@2030-01-10 2@2030-01-20
        "#,
    );
}

#[test]
fn purchase_order_inbound_is_a_dated_target_that_receipts_settle() {
    check(
        r#"
        # sent: 10 expected at B on a date, in one entry
        expect B 10 ref=PO-1 on=2030-01-20
        B inbound=10
        expected B PO-1 10
        expected_on B PO-1 2030-01-20
        total web available=0 inbound=10
        version 2
        # the same target again (a retried delivery) changes nothing and records nothing
        expect B 10 ref=PO-1 on=2030-01-20
        => unchanged
        version 2
        # a partial receipt into quarantine settles what it brings, in one entry
        receive B 4 ref=PO-1 into=quarantine
        B on_hand=4 quarantined=4 inbound=6
        expected_on B PO-1 2030-01-20
        # the open remainder cancelled: the target 0 withdraws it and its date
        expect B 0 ref=PO-1
        B on_hand=4 quarantined=4
        expected B PO-1 0
        expected_on B PO-1 none
        # a receipt past what was expected settles nothing more
        expect C 5 ref=PO-2 on=2030-02-01
        receive C 6 ref=PO-2
        C on_hand=6
        expected_on C PO-2 none
        # a receipt split between stock and quarantine: checked whole, then one entry each
        expect A 10 ref=PO-4 on=2030-01-05
        po_receive A 3 2 ref=PO-4
        => 2 entries
        A on_hand=5 quarantined=2 inbound=5
        # what stays expected moves to the next open line's date (one more entry)
        po_receive A 1 0 ref=PO-4 on=2030-02-10
        => 2 entries
        expected_on A PO-4 2030-02-10
        A on_hand=6 quarantined=2 inbound=4
        po_receive A 1 0 ref=PO-4 on=2030-02-10
        => 1 entries
        po_receive A 0 0 ref=PO-4
        => err invalid_request into_stock
        po_receive A 1 -1 ref=PO-4
        => err invalid_request into_quarantine
        po_receive Z 1 0 ref=PO-4
        => err not_found location Z
        A on_hand=7 quarantined=2 inbound=3
        # bad targets change nothing
        po_receive A 1 0 ref=PO-4 cost=-1
        => err invalid_request unit_cost
        expect B -1 ref=PO-3
        => err invalid_request qty
        expect Z 1 ref=PO-3
        => err not_found location Z
        "#,
    );
}

#[test]
fn receipts_move_the_moving_average_cost_and_invoices_true_it_up() {
    check(
        r#"
        cost none
        # the first units arriving set the cost (a third entry after the receive)
        po_receive A 10 0 ref=PO-1 cost=4.00
        => 2 entries
        cost 4
        # 10 at 4.00 and 30 at 6.00: 5.50
        po_receive B 20 10 ref=PO-2 cost=6.00
        => 3 entries
        cost 5.5
        # the same cost again changes nothing but stock
        po_receive A 40 0 ref=PO-3 cost=5.50
        => 1 entries
        # 80 on hand at 5.50; an invoice lands 0.80 more on 40 units still here: +0.40 a unit
        revalue 40 ref=PO-3 delta=0.80
        cost 5.9
        # a correction down: 40 units 0.80 less, back to 5.50
        revalue 40 ref=PO-3 delta=-0.80
        cost 5.5
        revalue 5 ref=PO-3 delta=0
        => unchanged
        revalue 0 ref=PO-3 delta=1
        => err invalid_request qty
        # a new name without a cost keeps the moving average; a cost given sets it
        define
        cost 5.5
        define cost=3.25
        cost 3.25
        define
        cost 3.25
        "#,
    );
}

#[test]
fn receive_with_unknown_or_foreign_reference_leaves_inbound_alone() {
    check(
        r#"
        receive A 5
        transfer A 5 to=B ref=t1
        receive B 2 ref=po-77
        B on_hand=2 inbound=5
        receive C 2 ref=t1        # t1 goes to B, not C
        C on_hand=2
        B on_hand=2 inbound=5
        expected B t1 5
        expected C t1 0
        "#,
    );
}

#[test]
fn transfer_rules() {
    check(
        r#"
        receive A 5
        reserve r1 A:3
        transfer A 3 to=B ref=t1
        => err conflict            # only 2 are free
        transfer A 1 to=B
        => err invalid_request reference
        transfer A 1 ref=t1
        => err invalid_request to_location
        transfer A 1 to=A ref=t1
        => err invalid_request to_location
        transfer A 1 to=Z ref=t1
        => err not_found location Z
        transfer A 2 to=C ref=t1
        transfer A 1 to=C ref=t1
        => err conflict
        A on_hand=3 reserved=3
        C inbound=2
        # a second transfer under the same reference adds to what is expected
        release r1
        transfer A 3 to=C ref=t1
        C inbound=5
        expected C t1 5
        receive C 5 ref=t1
        C on_hand=5
        "#,
    );
}

#[test]
fn count_without_version_sets_on_hand() {
    check(
        r#"
        receive A 10
        count A 7
        => ok
        A on_hand=7
        count A 12
        A on_hand=12
        count A 12            # no change is still a recorded count
        version 5
        count A -1
        => err invalid_request qty
        count A 0
        A empty
        "#,
    );
}

#[test]
fn count_at_an_older_version_merges_later_movements() {
    check(
        r#"
        receive A 10           # v2
        receive B 3            # v3
        # someone read version 3, counted 8, and meanwhile 5 arrived and 2 were adjusted away at A
        receive A 5            # v4
        adjust A -2 reason=x   # v5
        receive B 100          # v6: another location does not matter
        reserve r1 A:1         # v7: holds do not move on_hand
        count A 8 @v3          # v8
        => ok
        A on_hand=11 reserved=1
        # counts are not merged: a second count from the same read lands on the same number
        count A 8 @v3
        A on_hand=11 reserved=1
        count A 9 @v5          # only v6.. count: none of them moved on_hand at A
        A on_hand=9 reserved=1
        # the current version merges nothing
        count A 4 @v10
        A on_hand=4 reserved=1
        count A 4 @v12
        => err invalid_request counted_at_version
        version 11
        "#,
    );
}

#[test]
fn count_merges_ships_transfers_and_receives() {
    check(
        r#"
        receive A 20                 # v2
        reserve r1 A:5               # v3
        commit r1                    # v4
        ship A 2 ref=r1              # v5 on_hand -2
        transfer A 3 to=B ref=t1     # v6 on_hand -3 at A
        receive B 3 ref=t1           # v7 on_hand +3 at B
        count A 10 @v4               # 10 - 2 - 3
        => ok
        A on_hand=5 allocated=3
        count B 0 @v6                # 0 + 3
        B on_hand=3
        count A 1 @v2                # 1 - 2 - 3 would be negative: on_hand never goes below 0
        => counts disagree A other=v8:5 this=0; exception A shortfall=3 holds=r1:committed:3
        A allocated=3
        "#,
    );
}

#[test]
fn count_leaving_holds_uncovered_applies_and_names_them() {
    check(
        r#"
        receive A 10
        receive B 10
        reserve r1 A:6
        reserve r2 A:3
        commit r2
        reserve r3 B:2
        count A 4
        => exception A shortfall=5 holds=r1:pending:6,r2:committed:3
        A on_hand=4 reserved=6 allocated=3
        exceptions 1
        total - available=8 on_hand=14 reserved=8 allocated=3
        # movements that would make it worse are refused, ones that do not make it worse apply
        adjust A -1 reason=x
        => err conflict
        quarantine A 1
        => err conflict
        ship A 1 ref=r2
        A on_hand=3 reserved=6 allocated=2
        receive A 2
        A on_hand=5 reserved=6 allocated=2
        # releasing the hold restores the cover
        release r1
        A on_hand=5 allocated=2
        count B 1
        => exception B shortfall=1 holds=r3:pending:2
        exceptions 2
        "#,
    );
}

// ------------------------------------------------------------------------------------------ reservations

#[test]
fn reservation_commit_in_full() {
    // Saleor: stock 100, allocate 50 → on_hand 100, allocated 50.
    check(
        r#"
        receive A 100
        reserve r1 50
        => [A:50]
        hold r1 pending A:50
        A on_hand=100 reserved=50
        atp - 50
        commit r1
        => committed A:50
        hold r1 committed A:50
        A on_hand=100 allocated=50
        atp - 50
        next_expiry none
        version 4
        "#,
    );
}

#[test]
fn reservation_commit_partial_releases_the_rest() {
    check(
        r#"
        receive A 3
        receive B 4
        reserve r1 channel=web 6
        => [A:3 B:3]
        commit r1 4
        => committed A:3 B:1
        A on_hand=3 allocated=3
        B on_hand=4 allocated=1
        atp web 3
        commit r1 1
        => err already_resolved committed
        "#,
    );
    check(
        r#"
        receive A 3
        reserve r1 3
        commit r1 4
        => err invalid_request qty
        commit r1 -1
        => err invalid_request qty
        commit r1 0                # nothing committed: resolved, nothing allocated
        => committed -
        hold r1 committed
        A on_hand=3
        release r1
        => err already_resolved committed
        "#,
    );
}

#[test]
fn reservation_release_frees_units() {
    // Medusa: reserve more than available fails; releasing a reservation frees its units.
    check(
        r#"
        receive A 10
        reserve r1 11
        => err insufficient_stock requested=11 available=10
        hold r1 unknown
        reserve r1 7
        atp - 3
        reserve r2 4
        => err insufficient_stock requested=4 available=3
        release r1
        => released
        hold r1 released
        A on_hand=10
        atp - 10
        reserve r2 4
        release r1
        => err already_resolved released
        commit r1
        => err already_resolved released
        reserve r1 1
        => err conflict              # a reservation id is used once
        release nope
        => err not_found reservation nope
        "#,
    );
}

#[test]
fn reservation_expires_via_expire_due() {
    check(
        r#"
        receive A 10
        reserve r1 ttl=60 4
        at 10
        reserve r2 ttl=30 3        # expires at 40
        reserve r3 ttl=100 1       # expires at 110
        next_expiry 40
        at 39
        expire
        => expired -
        at 60
        expire
        => expired r2 r1
        version 7
        hold r1 expired
        hold r2 expired
        A on_hand=10 reserved=1
        next_expiry 110
        commit r1
        => err already_resolved expired
        release r2
        => err already_resolved expired
        commit r3
        hold r3 committed A:1
        next_expiry none
        at 1000
        expire
        => expired -
        "#,
    );
}

#[test]
fn commit_after_expires_at_is_already_resolved_before_the_alarm() {
    check(
        r#"
        receive A 10
        reserve r1 ttl=60 4
        at 60
        commit r1
        => err already_resolved expired
        release r1
        => err already_resolved expired
        A on_hand=10 reserved=4       # the units come back when expire_due runs
        expire
        => expired r1
        A on_hand=10
        hold r1 expired
        "#,
    );
}

#[test]
fn a_prepared_hold_never_expires_and_only_commits_or_releases() {
    check(
        r#"
        receive A 10
        reserve r1 ttl=60 4
        reserve r2 ttl=30 3
        next_expiry 30
        prepare r2
        => prepared
        hold r2 pending prepared A:3
        A on_hand=10 reserved=7          # preparing moves no units
        version 5
        next_expiry 60                   # r2 no longer expires
        prepare r2
        => already prepared
        version 5
        at 100
        expire
        => expired r1                    # r2 is skipped
        hold r2 pending prepared A:3
        next_expiry none
        prepare r1
        => err already_resolved expired
        commit r2 2                      # past expires_at, still committable
        => committed A:2
        hold r2 committed A:2
        prepare r2
        => err already_resolved committed
        A on_hand=10 allocated=2
        "#,
    );
    check(
        r#"
        receive A 10
        reserve r1 ttl=60 4
        prepare r1
        at 1000
        release r1                       # past expires_at, still releasable
        => released
        hold r1 released
        prepare r1
        => err already_resolved released
        prepare nope
        => err not_found reservation nope
        A on_hand=10
        "#,
    );
    check(
        r#"
        receive A 10
        reserve r1 ttl=60 4
        at 60
        prepare r1                       # a pending hold past expires_at is expired
        => err already_resolved expired
        hold r1 pending A:4
        "#,
    );
}

#[test]
fn reservation_ttl_and_lines_are_checked() {
    check(
        r#"
        receive A 10
        reserve r1 ttl=0 1
        => err invalid_request ttl_seconds
        reserve r1
        => err invalid_request lines
        reserve r1 0
        => err invalid_request qty
        reserve r1 1000000001
        => err invalid_request qty
        reserve r1 ref= 1
        => err invalid_request reference
        reserve r1 channel=nope 1
        => err not_found channel nope
        reserve r1 Z:1
        => err not_found location Z
        version 2
        "#,
    );
}

#[test]
fn allocation_follows_priority_and_splits() {
    // Saleor: need 5 from locations holding 3 and 2 → 3 + 2.
    check(
        r#"
        receive B 2
        receive A 3
        reserve r1 channel=web 5
        => [A:3 B:2]
        A on_hand=3 reserved=3
        B on_hand=2 reserved=2
        atp web 0
        "#,
    );
    // Priorities, not insertion order; ties broken by id; changing a priority reorders.
    check(
        r#"
        location D 0
        location A 2
        channel web A,B,C,D
        order web D A B C
        receive A 1
        receive B 1
        receive C 1
        receive D 1
        reserve r1 channel=web 3
        => [D:1 A:1 B:1]
        location C -5
        order web C D A B
        order - C D A B
        reserve r2 channel=web 1
        => [C:1]
        "#,
    );
}

#[test]
fn allocation_skips_locations_outside_the_channel() {
    check(
        r#"
        receive C 5
        receive B 1
        reserve r1 channel=web 2
        => err insufficient_stock requested=2 available=1
        reserve r1 2                       # no channel: every location
        => [B:1 C:1]
        reserve r2 channel=store 4
        => [C:4]
        "#,
    );
}

#[test]
fn pinned_location() {
    check(
        r#"
        receive A 10
        receive B 3
        reserve r1 channel=web B:2
        => [B:2]
        reserve r2 channel=web B:2
        => err insufficient_stock requested=2 available=1
        reserve r2 channel=web C:1
        => err invalid_request location
        reserve r2 channel=store A:1
        => err invalid_request location
        reserve r2 C:1                     # no channel: any location
        => err insufficient_stock requested=1 available=0
        reserve r2 A:10
        => [A:10]
        A on_hand=10 reserved=10
        B on_hand=3 reserved=2
        "#,
    );
}

#[test]
fn pinned_location_is_also_limited_by_the_channel() {
    check(
        r#"
        sku safety=4
        receive A 3
        receive B 3
        atp web 2
        reserve r1 channel=web A:3
        => err insufficient_stock requested=3 available=2
        reserve r1 channel=web A:2
        => [A:2]
        "#,
    );
}

#[test]
fn several_lines_of_one_sku_share_the_stock() {
    check(
        r#"
        receive A 6
        receive B 3
        reserve r1 channel=web A:5 4
        => [A:5] [A:1 B:3]
        A on_hand=6 reserved=6
        B on_hand=3 reserved=3
        hold r1 pending A:6 B:3
        commit r1 7
        => committed A:6 B:1
        "#,
    );
}

#[test]
fn shortfall_on_any_line_holds_nothing() {
    // Saleor: insufficient stock across multiple lines → error listing the lines, nothing allocated.
    check(
        r#"
        receive A 12
        reserve r1 5 10
        => err insufficient_stock requested=10 available=7
        reserve r1 20 30
        => err insufficient_stock requested=20 available=12, requested=30 available=12
        reserve r1 A:13 2
        => err insufficient_stock requested=13 available=12
        A on_hand=12
        hold r1 unknown
        version 2
        reserve r1 5 7
        => [A:5] [A:7]
        "#,
    );
}

#[test]
fn channel_buffer_and_cap() {
    check(
        r#"
        channel web A,B buffer=2 cap=5
        receive A 10
        atp web 5
        atp - 10
        total web available=5 on_hand=10
        reserve r1 channel=web 6
        => err insufficient_stock requested=6 available=5
        reserve r1 channel=web 5
        atp web 3                     # 5 left, minus the buffer
        reserve r2 channel=web 4
        => err insufficient_stock requested=4 available=3
        reserve r2 channel=web 3
        atp web 0
        atp - 2                       # the buffer is the web channel's only
        reserve r3 2
        "#,
    );
}

#[test]
fn channel_stop_below() {
    check(
        r#"
        channel store C stop_below=5
        receive C 4
        atp store 0
        atp - 4
        reserve r1 channel=store 1
        => err insufficient_stock requested=1 available=0
        receive C 1
        atp store 5
        reserve r1 channel=store 1
        atp store 0                   # 4 left, below 5 again
        "#,
    );
}

#[test]
fn safety_stock_applies_to_every_channel() {
    check(
        r#"
        sku safety=3
        receive A 10
        receive C 2
        atp - 9
        atp web 7
        atp store 0
        total - available=9 on_hand=12
        reserve r1 channel=web 8
        => err insufficient_stock requested=8 available=7
        reserve r1 10
        => err insufficient_stock requested=10 available=9
        reserve r1 9
        => [A:9]
        "#,
    );
    check(
        r#"
        receive A 10
        define safety=4
        version 3
        atp web 6
        total web available=6 on_hand=10
        "#,
    );
}

#[test]
fn cap_and_safety_and_stop_below_together() {
    check(
        r#"
        sku safety=10
        channel web A,B buffer=5 cap=30 stop_below=20
        receive A 19
        atp web 0                      # below stop_below
        receive B 1
        atp web 5                      # 20 - 10 - 5
        receive A 100
        atp web 30                     # capped
        "#,
    );
}

#[test]
fn version_grows_by_one_per_change_and_not_on_error() {
    check(
        r#"
        version 1
        receive A 5
        version 2
        reserve r1 2
        version 3
        commit r1 1
        version 4
        reserve r2 1
        release r2
        version 6
        ship A 1 ref=r1
        version 7
        ship A 1 ref=r1
        => err conflict
        reserve r3 100
        => err insufficient_stock requested=100 available=4
        commit r2
        => err already_resolved released
        version 7
        "#,
    );
}

#[test]
fn next_expiry_tracks_the_earliest_pending_hold() {
    check(
        r#"
        receive A 10
        next_expiry none
        reserve r1 ttl=100 1
        next_expiry 100
        reserve r2 ttl=50 1
        next_expiry 50
        release r2
        next_expiry 100
        reserve r3 ttl=100 1         # same expiry as r1
        commit r1
        next_expiry 100
        release r3
        next_expiry none
        "#,
    );
}

#[test]
fn count_history_is_bounded() {
    // Counts taken against a version older than the kept history must be redone.
    check(
        r#"
        receive A 1                   # v2
        repeat 1100 receive A 1       # v3..v1102
        count A 5 @v2
        => err conflict
        count A 5 @v1000
        A on_hand=107
        count A 5 @v1102
        A on_hand=5
        "#,
    );
}

// ------------------------------------------------------------------------------------------ the helper itself

#[test]
#[should_panic(expected = "unexpected output")]
fn helper_catches_a_wrong_output() {
    check("receive A 1\n=> err conflict");
}

#[test]
#[should_panic(expected = "failed unexpectedly")]
fn helper_catches_an_unexpected_error() {
    check("ship A 1 ref=r1\nA empty");
}

#[test]
#[should_panic(expected = "failed unexpectedly")]
fn helper_catches_an_unexpected_error_on_the_last_line() {
    check("ship A 1 ref=r1");
}

#[test]
#[should_panic(expected = "line 2")]
fn helper_checks_every_bucket_of_a_position() {
    check("receive A 1\nA reserved=0");
}

#[test]
fn a_count_after_your_own_receive_does_not_add_it_again() {
    check(
        r#"
        receive A 20           # v2: the tablet reads version 2, 20 on hand
        receive A 5            # v3: the tablet's own receive
        receive B 9            # v4: elsewhere
        adjust A -1 reason=x   # v5: someone else, after the tablet read
        # the tablet counts 24 (its 5 are on the shelf); the adjust after it read is merged
        count A 24 @v2 includes=3
        => ok
        A on_hand=23
        # without naming its receive, the same count would add the 5 again
        count A 24 @v2
        => counts disagree A other=v6:23 this=28
        A on_hand=28
        # versions it names must follow what it read, ascending, and exist
        count A 1 @v2 includes=2
        => err invalid_request includes_versions
        count A 1 @v2 includes=4,3
        => err invalid_request includes_versions
        count A 1 includes=3
        => err invalid_request includes_versions
        count A 1 @v2 includes=99
        => err invalid_request includes_versions
        receive A 1 includes=3
        => err invalid_request includes_versions
        "#,
    );
}

#[test]
fn counts_that_disagree_raise_an_exception_and_agreeing_ones_do_not() {
    check(
        r#"
        receive A 30           # v2: two people read version 2
        count A 28 @v2         # v3
        => ok
        count A 28 @v2         # the same shelf, the same number: no exception
        => ok
        count A 27 @v2         # the second person found 27: applies, and asks for a recount
        => counts disagree A other=v4:28 this=27
        A on_hand=27
        exceptions 1
        # a recount from the latest version disagrees with nobody
        count A 27 @v5
        => ok
        exceptions 1
        # a count without a version read is not compared
        count A 26
        => ok
        "#,
    );
}

#[test]
fn barcodes_are_gtins_with_a_correct_check_digit() {
    check(
        r#"
        define barcodes=4006381333931,036000291452,96385074,10012345678902
        => ok
        define barcodes=4006381333932
        => err invalid_request barcodes
        define barcodes=40063813339
        => err invalid_request barcodes
        define barcodes=4006381333931,4006381333931
        => err invalid_request barcodes
        define barcodes=ABCDEFGHIJKLM
        => err invalid_request barcodes
        version 2
        "#,
    );
}

// ------------------------------------------------------------------------------------------ stockouts

/// A stockout day (priced as lost sales) is a day the last sellable units went, or stayed gone;
/// a SKU never stocked has none.
#[test]
fn a_stockout_day_is_one_the_last_units_went_or_stayed_gone() {
    use stockline_engine::planning::stockout_day;
    let mut w = World::new();
    let today = base_time().date_naive();
    let next = |days: u64| today + chrono::Days::new(days);
    let op = |w: &mut World, tokens: &[&str]| run_op(w, tokens).expect("applies").1;
    let defined = op(&mut w, &["define"]);
    assert!(!stockout_day(&w.ledger, &w.catalog, &defined, None, today), "never stocked: nothing to lose");
    assert!(!stockout_day(&w.ledger, &w.catalog, &[], None, today));
    let received = op(&mut w, &["receive", "A", "3"]);
    assert!(!stockout_day(&w.ledger, &w.catalog, &received, None, today));
    let quarantined = op(&mut w, &["quarantine", "A", "1"]);
    assert!(!stockout_day(&w.ledger, &w.catalog, &quarantined, None, today), "2 left to sell");
    let lost = op(&mut w, &["adjust", "A", "-2", "reason=lost"]);
    assert!(stockout_day(&w.ledger, &w.catalog, &lost, None, today), "the last units went");
    assert!(stockout_day(&w.ledger, &w.catalog, &[], Some(today), next(1)), "still out the next day");
    assert!(!stockout_day(&w.ledger, &w.catalog, &[], Some(today), next(2)), "a chain broken is not picked up");
    op(&mut w, &["receive", "B", "1"]);
    assert!(!stockout_day(&w.ledger, &w.catalog, &[], Some(next(1)), next(1)), "back in stock elsewhere");
}
