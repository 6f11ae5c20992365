//! An order's life through the engine: placement, allocation from real stock figures, the steps,
//! cancellations, backorders filled in queue order, and the SLA watch.

use super::*;
use crate::ids::Id;
use crate::ledger::{Actor, Role};
use crate::money::Money;
use chrono::{DateTime, Duration, TimeZone, Utc};

pub(crate) fn id(text: &str) -> Id {
    Id::new(text).expect("a test id")
}

pub(crate) fn m(text: &str) -> Money {
    Money::parse(text).expect("test money")
}

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("a time")
}

pub(crate) fn storefront() -> Actor {
    Actor { subject: "shop".to_string(), role: Role::Storefront }
}

pub(crate) fn warehouse() -> Actor {
    Actor { subject: "dock".to_string(), role: Role::Warehouse }
}

fn service() -> Actor {
    Actor { subject: "desk".to_string(), role: Role::CustomerService }
}

pub(crate) fn spec(lines: &[(&str, i64)], priority: i32) -> OrderSpec {
    OrderSpec {
        channel: id("web"),
        currency: "EUR".to_string(),
        ship_to_region: "eu".to_string(),
        service_level: ServiceLevel::Standard,
        priority,
        promised_by: Some(t0() + Duration::days(3)),
        split: SplitPolicy::Allow,
        hold: None,
        reference: None,
        lines: lines
            .iter()
            .map(|(sku, qty)| OrderLineSpec { sku: id(sku), qty: *qty, unit_price: m("10.00") })
            .collect(),
    }
}

fn rates() -> ShippingRates {
    let rate = |location: &str, cost: &str, days: u32| ShippingRate {
        location: id(location),
        region: "eu".to_string(),
        service_level: ServiceLevel::Standard,
        cost: m(cost),
        transit_days: days,
    };
    ShippingRates::new("EUR".to_string(), vec![rate("A", "3.00", 1), rate("B", "5.00", 2)]).expect("rates")
}

/// Allocates an order against `stock` ((sku, location, available)) and records the choice.
pub(crate) fn allocate_from(order: &mut Order, stock: &[(&str, &str, i64)], at: DateTime<Utc>) -> Choice {
    let lines = order.to_allocate();
    let skus: Vec<SkuStock> = lines
        .iter()
        .map(|line| {
            let locations: Vec<LocationStock> = stock
                .iter()
                .filter(|(sku, ..)| *sku == line.sku.as_str())
                .map(|(_, location, available)| LocationStock {
                    location: id(location),
                    available: *available,
                    reorder_point: None,
                })
                .collect();
            SkuStock { sku: line.sku.clone(), sellable: locations.iter().map(|l| l.available).sum(), locations }
        })
        .collect();
    let rates = rates();
    let rules = RoutingRules { version: 1, shipment_penalty: m("1.00"), drain_penalty: m("0") };
    let choice = allocate(&AllocationRequest {
        lines: &lines,
        region: &order.ship_to_region,
        service_level: order.service_level,
        promised_by: order.promised_by,
        split: order.split,
        locations: &[id("A"), id("B")],
        stock: &skus,
        nodes: &[],
        rates: &rates,
        rules: &rules,
        now: at,
    })
    .expect("an allocation");
    order.apply_choice(&choice, at).expect("the choice applies");
    choice
}

fn decision(actor: &Actor, order: &Order) -> crate::audit::Decision<'static> {
    crate::audit::Decision {
        actor: Box::leak(Box::new(actor.clone())),
        at: t0(),
        seen_version: order.version,
        comment: None,
    }
}

/// An order brought to `status` along its ordinary path.
fn order_in(status: OrderStatus) -> Order {
    let mut order = Order::place(id("o-1"), &spec(&[("S1", 2)], 0), &storefront(), t0()).expect("placed");
    let w = warehouse();
    match status {
        OrderStatus::Placed => {}
        OrderStatus::OnHold => {
            order = Order::place(
                id("o-1"),
                &OrderSpec { hold: Some(HoldKind::Fraud), ..spec(&[("S1", 2)], 0) },
                &storefront(),
                t0(),
            )
            .expect("placed on hold");
        }
        OrderStatus::Backordered => {
            allocate_from(&mut order, &[], t0());
        }
        OrderStatus::PartiallyAllocated => {
            allocate_from(&mut order, &[("S1", "A", 1)], t0());
        }
        OrderStatus::Cancelled => {
            order.cancel(None, &decision(&w, &order)).expect("cancelled");
        }
        _ => {
            allocate_from(&mut order, &[("S1", "A", 5)], t0());
            for (step, reached) in [
                (OrderAction::Release, OrderStatus::Released),
                (OrderAction::Pick, OrderStatus::Picked),
                (OrderAction::Ship, OrderStatus::Shipped),
                (OrderAction::Deliver, OrderStatus::Delivered),
            ] {
                if order.status == status {
                    break;
                }
                order.advance(step, &decision(&w, &order)).expect("a step");
                assert_eq!(order.status, reached);
            }
        }
    }
    assert_eq!(order.status, status);
    order
}

#[test]
fn every_illegal_step_is_refused_and_changes_nothing() {
    use OrderAction::*;
    let statuses = [
        OrderStatus::Placed,
        OrderStatus::Allocated,
        OrderStatus::PartiallyAllocated,
        OrderStatus::Backordered,
        OrderStatus::OnHold,
        OrderStatus::Released,
        OrderStatus::Picked,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];
    let mut legal_count = 0;
    for status in statuses {
        for action in [ReleaseHold, Release, Pick, Ship, Deliver, Cancel, CancelLine] {
            let mut order = order_in(status);
            let before = order.clone();
            // A hold is customer service's to lift; every other step here the warehouse's.
            let w = if action == ReleaseHold { service() } else { warehouse() };
            let result = match action {
                Cancel => order.cancel(None, &decision(&w, &order)).map(|_| ()),
                CancelLine => order.cancel(Some(1), &decision(&w, &order)).map(|_| ()),
                step => order.advance(step, &decision(&w, &order)),
            };
            let legal = status.actions().contains(&action);
            assert_eq!(result.is_ok(), legal, "{} from {}: {result:?}", action.as_str(), status.as_str());
            if legal {
                legal_count += 1;
                assert_eq!(order.version, before.version + 1);
                assert_eq!(order.events.last().map(|e| e.action), Some(action));
            } else {
                assert_eq!(order, before, "a refused {} from {} changed the order", action.as_str(), status.as_str());
            }
        }
    }
    assert_eq!(legal_count, 20, "the table of legal steps");
}

#[test]
fn a_stale_version_is_refused() {
    let mut order = order_in(OrderStatus::Allocated);
    let before = order.clone();
    let w = warehouse();
    let stale = crate::audit::Decision { seen_version: order.version - 1, ..decision(&w, &order) };
    let error = order.advance(OrderAction::Release, &stale).expect_err("stale");
    assert!(error.to_string().contains("changed since version 1 (now 2)"), "{error}");
    assert_eq!(order, before);
}

#[test]
fn an_order_lives_from_placement_to_delivery_with_its_timeline() {
    let order = order_in(OrderStatus::Delivered);
    let timeline: Vec<(u32, &str, &str)> =
        order.events.iter().map(|e| (e.version, e.action.as_str(), e.to.as_str())).collect();
    assert_eq!(
        timeline,
        [
            (1, "place", "placed"),
            (2, "allocate", "allocated"),
            (3, "release", "released"),
            (4, "pick", "picked"),
            (5, "ship", "shipped"),
            (6, "deliver", "delivered"),
        ]
    );
    assert_eq!(order.lines[0].shipped, 2);
    assert!(order.events[1].comment.as_deref().is_some_and(|c| c.starts_with("A ships complete, 1 day, 3.00")));
}

#[test]
fn a_partial_shipment_leaves_the_rest_backordered_until_stock_fills_it() {
    let w = warehouse();
    let mut order = Order::place(id("o-1"), &spec(&[("S1", 3), ("S2", 1)], 0), &storefront(), t0()).expect("placed");
    let choice = allocate_from(&mut order, &[("S1", "A", 1), ("S2", "A", 1)], t0());
    assert_eq!(choice.outcome, Outcome::PartiallyAllocated);
    assert_eq!((order.lines[0].allocated(), order.lines[0].backordered()), (1, 2));
    for step in [OrderAction::Release, OrderAction::Pick, OrderAction::Ship] {
        order.advance(step, &decision(&w, &order)).expect("a step");
    }
    assert_eq!(order.status, OrderStatus::Backordered, "2 of S1 still wait");
    assert_eq!(order.to_allocate().iter().map(|l| (l.sku.as_str(), l.qty)).collect::<Vec<_>>(), [("S1", 2)]);
    allocate_from(&mut order, &[("S1", "B", 7)], t0());
    assert_eq!(order.status, OrderStatus::Allocated);
    assert_eq!(order.lines[0].allocations, [crate::hold::Allocation { location: id("B"), qty: 2 }]);
    // A plan for more than waits is refused, and changes nothing.
    let before = order.clone();
    assert!(order.apply_choice(&choice, t0()).is_err());
    assert_eq!(order, before);
}

#[test]
fn cancelling_frees_the_allocations_to_release() {
    let w = warehouse();
    let mut order = Order::place(id("o-1"), &spec(&[("S1", 2), ("S2", 1)], 0), &storefront(), t0()).expect("placed");
    allocate_from(&mut order, &[("S1", "A", 5), ("S2", "B", 5)], t0());
    let freed = order.cancel(Some(2), &decision(&w, &order)).expect("line 2 cancelled");
    assert_eq!(freed, [(id("S2"), crate::hold::Allocation { location: id("B"), qty: 1 })]);
    assert_eq!(order.status, OrderStatus::Allocated);
    assert!(order.cancel(Some(2), &decision(&w, &order)).is_err(), "nothing open on line 2");
    assert!(order.cancel(Some(9), &decision(&w, &order)).is_err(), "no line 9");
    let freed = order.cancel(None, &decision(&w, &order)).expect("cancelled");
    assert_eq!(freed.len(), 1);
    assert_eq!(order.status, OrderStatus::Cancelled);
}

#[test]
fn backorders_take_arriving_stock_by_priority_then_time() {
    let mut orders: Vec<Order> =
        [("o-late-urgent", 10, 30), ("o-early", 0, 0), ("o-later", 0, 10), ("o-first-urgent", 10, 20)]
            .iter()
            .map(|(name, priority, minutes)| {
                let at = t0() + Duration::minutes(*minutes);
                let mut order =
                    Order::place(id(name), &spec(&[("S1", 2)], *priority), &storefront(), at).expect("placed");
                allocate_from(&mut order, &[], at);
                assert_eq!(order.status, OrderStatus::Backordered);
                order
            })
            .collect();
    let queue: Vec<&str> = backorder_queue(&orders).iter().map(|order| order.id.as_str()).collect();
    assert_eq!(queue, ["o-first-urgent", "o-late-urgent", "o-early", "o-later"]);
    // 5 units arrive at A: the queue takes them in turn; the last one in line waits on.
    let mut left = 5;
    let ids: Vec<Id> = backorder_queue(&orders).iter().map(|order| order.id.clone()).collect();
    for order_id in ids {
        let order = orders.iter_mut().find(|order| order.id == order_id).expect("queued order");
        let choice = allocate_from(order, &[("S1", "A", left)], t0() + Duration::hours(1));
        left -= choice.plan.as_ref().map_or(0, Plan::allocated_qty);
    }
    let status: Vec<(&str, &str)> = orders.iter().map(|o| (o.id.as_str(), o.status.as_str())).collect();
    assert_eq!(
        status,
        [
            ("o-late-urgent", "allocated"),
            ("o-early", "partially_allocated"),
            ("o-later", "backordered"),
            ("o-first-urgent", "allocated")
        ]
    );
}

#[test]
fn the_sla_watch_warns_before_the_breach() {
    let nodes = [Node { location: id("A"), cutoff_minute_utc: 16 * 60, capacity_per_day: None, shipments_today: 0 }];
    let rates = rates();
    // Promised by 12-04 09:00; A ships in 1 day, cut-off 16:00: it must leave by 12-03 16:00.
    let order = order_in(OrderStatus::Released);
    let watch = |at: DateTime<Utc>| sla_watch(&order, &nodes, &rates, at, 120).expect("watched");
    let on_track = watch(t0());
    assert_eq!(on_track.state, SlaState::OnTrack);
    assert_eq!(on_track.ship_by.to_rfc3339(), "2026-12-03T16:00:00+00:00");
    assert!(
        on_track.reason.contains("A must hand over by 2026-12-03 16:00 UTC (1 day in transit)"),
        "{}",
        on_track.reason
    );
    let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0).single().expect("a time");
    assert_eq!(watch(at(13, 59)).state, SlaState::OnTrack);
    assert_eq!(watch(at(14, 0)).state, SlaState::AtRisk);
    assert_eq!(watch(at(16, 0)).state, SlaState::AtRisk);
    assert_eq!(watch(at(16, 1)).state, SlaState::Breached);
    // Shipped or unpromised orders are not watched; one still waiting for stock is at risk.
    assert!(sla_watch(&order_in(OrderStatus::Shipped), &nodes, &rates, t0(), 120).is_none());
    let waiting = order_in(OrderStatus::Backordered);
    assert_eq!(sla_watch(&waiting, &nodes, &rates, t0(), 120).map(|w| w.state), Some(SlaState::AtRisk));
    let mut unpromised = order_in(OrderStatus::Released);
    unpromised.promised_by = None;
    assert!(sla_watch(&unpromised, &nodes, &rates, t0(), 120).is_none());
}

#[test]
fn bad_orders_are_refused() {
    let refused = |spec: OrderSpec, field: &str| {
        let error = Order::place(id("o"), &spec, &storefront(), t0()).expect_err(field);
        assert!(
            matches!(&error, crate::EngineError::InvalidRequest { field: f, .. } if f == field),
            "{field}: {error:?}"
        );
    };
    refused(spec(&[], 0), "lines");
    refused(spec(&[("S1", 0)], 0), "lines[0].qty");
    refused(spec(&[("S1", 1), ("S1", 2)], 0), "lines[1].sku");
    refused(spec(&[("S1", 1)], 101), "priority");
    refused(OrderSpec { currency: "eur".into(), ..spec(&[("S1", 1)], 0) }, "currency");
    refused(OrderSpec { split: SplitPolicy::AllowAbove(m("-1")), ..spec(&[("S1", 1)], 0) }, "split.allow_above");
    refused(OrderSpec { ship_to_region: String::new(), ..spec(&[("S1", 1)], 0) }, "ship_to_region");
    let mut dear = spec(&[("S1", 1_000)], 0);
    dear.lines[0].unit_price = m("999999999999");
    refused(dear, "lines[0].unit_price");
    let wire: Result<OrderSpec, _> = serde_json::from_str(
        r#"{"channel":"web","currency":"EUR","ship_to_region":"eu","split":{"allow_above":"25.00"},"lines":[{"sku":"S1","qty":1,"unit_price":"9.50"}]}"#,
    );
    assert_eq!(wire.map(|spec| spec.split).ok(), Some(SplitPolicy::AllowAbove(m("25.00"))));
}

/// Triage of an order: the kinds it calls for (each raised for real, so the record's own rules
/// hold), their details, and the reasons later states give for closing them.
#[track_caller]
fn check_triage(
    order: &Order,
    promises: &[(Id, Promise)],
    sla: Option<&SlaWatch>,
    expect: &[(&str, &str)],
) -> Vec<OrderException> {
    let specs = triage(order, promises, sla);
    let shown: Vec<(&str, &str)> = specs.iter().map(|spec| (spec.kind.as_str(), spec.detail.as_str())).collect();
    assert_eq!(shown, expect);
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            OrderException::raise(id(&format!("x-{i}")), spec, t0()).expect("a triaged exception is valid")
        })
        .collect()
}

fn promised(sku: &str, slices: &[(i64, &str)], unpromised: i64) -> (Id, Promise) {
    let slices = slices
        .iter()
        .map(|(qty, day)| PromiseSlice {
            qty: *qty,
            available_on: chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("a test date"),
        })
        .collect();
    (id(sku), Promise { slices, unpromised, substitutes: Vec::new() })
}

/// A promise is read for the whole line: what the placement allocated from stock is its first
/// slices, and the exception dates only the units still waiting.
#[test]
fn a_partly_allocated_line_dates_only_what_waits() {
    let mut order = Order::place(id("o-1"), &spec(&[("S1", 5)], 0), &storefront(), t0()).expect("placed");
    allocate_from(&mut order, &[("S1", "A", 3)], t0());
    type Case<'a> = (&'a [(i64, &'a str)], i64, &'a str, &'a str);
    let cases: [Case; 3] = [
        (
            &[(3, "2026-12-01"), (1, "2026-12-05")],
            1,
            "shortage",
            "line 1: 2 × S1 short; 1 by 2026-12-05; 1 without a date",
        ),
        (&[(3, "2026-12-01"), (2, "2026-12-05")], 0, "backorder", "line 1: 2 × S1 backordered; 2 by 2026-12-05"),
        (&[(3, "2026-12-01")], 2, "shortage", "line 1: 2 × S1 short, nothing dated inbound"),
    ];
    for (slices, unpromised, kind, detail) in cases {
        check_triage(&order, &[promised("S1", slices, unpromised)], None, &[(kind, detail)]);
    }
}

#[test]
fn triage_routes_holds_backorders_shortages_splits_and_sla_risk() {
    let w = warehouse();
    // A fraud hold goes to customer service; lifting it settles the exception.
    let mut held = order_in(OrderStatus::OnHold);
    let raised = check_triage(&held, &[], None, &[("fraud_hold", "order o-1 on hold: payment flagged for review")]);
    assert_eq!(raised[0].team, Team::CustomerService);
    let refused = held.advance(OrderAction::ReleaseHold, &decision(&w, &held));
    assert!(matches!(&refused, Err(crate::EngineError::Forbidden { rule, .. }) if rule == "team"), "{refused:?}");
    held.advance(OrderAction::ReleaseHold, &decision(&service(), &held)).expect("hold lifted");
    assert_eq!(settled(&held, &raised[0], None), Some("the hold was lifted"));

    // Backordered lines: covered by dated inbound → backorder (procurement); not covered → shortage.
    let mut order =
        Order::place(id("o-1"), &spec(&[("S1", 3), ("S2", 2), ("S3", 1)], 0), &storefront(), t0()).expect("placed");
    allocate_from(&mut order, &[("S1", "A", 1)], t0());
    let raised = check_triage(
        &order,
        &[promised("S1", &[(2, "2026-12-05")], 0), promised("S2", &[(1, "2026-12-09")], 1)],
        None,
        &[
            ("backorder", "line 1: 2 × S1 backordered; 2 by 2026-12-05"),
            ("shortage", "line 2: 2 × S2 short; 1 by 2026-12-09; 1 without a date"),
            ("shortage", "line 3: 1 × S3 short, nothing dated inbound"),
        ],
    );
    assert!(raised.iter().all(|x| x.team == Team::Procurement));
    assert_eq!(settled(&order, &raised[0], None), None, "still waiting");
    // Stock arrives for S1: its backorder is settled, the others stand; cancelling settles all.
    allocate_from(&mut order, &[("S1", "B", 5)], t0());
    assert_eq!(settled(&order, &raised[0], None), Some("the line got its stock"));
    assert_eq!(settled(&order, &raised[1], None), None);
    order.cancel(Some(2), &decision(&w, &order)).expect("line 2 cancelled");
    assert_eq!(settled(&order, &raised[1], None), Some("the line was shipped or cancelled"));

    // Ship complete with the stock split over A and B: customer service decides on the split.
    let mut whole = Order::place(
        id("o-2"),
        &OrderSpec { split: SplitPolicy::ShipComplete, ..spec(&[("S1", 1), ("S2", 1)], 0) },
        &storefront(),
        t0(),
    )
    .expect("placed");
    allocate_from(&mut whole, &[("S1", "A", 1), ("S2", "B", 1)], t0());
    let raised = check_triage(
        &whole,
        &[],
        None,
        &[(
            "split_needs_approval",
            "ship complete: no location has it all; A + B in 2 shipments, 2 days, 9.00 could ship now; \
             A: cannot ship the order complete; B: cannot ship the order complete",
        )],
    );
    assert_eq!(raised[0].team, Team::CustomerService);

    // The SLA watch at risk goes to the warehouse; on track again, it is settled.
    let released = order_in(OrderStatus::Released);
    let watch = |state: SlaState| SlaWatch {
        state,
        ship_by: Utc.with_ymd_and_hms(2026, 12, 3, 16, 0, 0).single().expect("a time"),
        reason: "A must hand over by 2026-12-03 16:00 UTC (1 day in transit)".to_string(),
    };
    let raised = check_triage(
        &released,
        &[],
        Some(&watch(SlaState::AtRisk)),
        &[("sla_at_risk", "promise at risk: ship by 2026-12-03 16:00 UTC; A must hand over by 2026-12-03 16:00 UTC (1 day in transit)")],
    );
    assert_eq!(raised[0].team, Team::Warehouse);
    // While open it is an alert for the warehouse, linked to the order; the split is not one.
    let alert = raised[0].alert().expect("an open SLA at risk is an alert");
    assert_eq!(
        (alert.kind.as_str(), alert.owner.as_str(), alert.order.as_ref(), alert.link.as_str()),
        ("sla_at_risk", "warehouse", Some(&released.id), format!("/v1/orders/{}", released.id).as_str())
    );
    assert!(alert.message.ends_with("(1 day in transit)"), "{}", alert.message);
    let mut resolved = raised[0].clone();
    resolved.status = ExceptionStatus::Resolved;
    assert_eq!(resolved.alert(), None, "a resolved exception is no alert");
    // Alerts of every source, newest first.
    let mut older = alert.clone();
    older.id = "older".to_string();
    older.raised_at = alert.raised_at - chrono::Duration::hours(1);
    let merged = crate::planning::Alert::merged(vec![vec![older.clone()], vec![alert.clone()]], 10);
    assert_eq!(merged.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [alert.id.as_str(), "older"]);
    assert_eq!(crate::planning::Alert::merged(vec![vec![older], vec![alert.clone()]], 1), [alert]);
    assert_eq!(settled(&released, &raised[0], Some(&watch(SlaState::AtRisk))), None);
    assert_eq!(settled(&released, &raised[0], Some(&watch(SlaState::OnTrack))), Some("the promise is on track again"));
    check_triage(&released, &[], Some(&watch(SlaState::OnTrack)), &[]);
}

/// A placement driven step by step as a host would, with the host's answers scripted: each step
/// the placement names, then what the host reports back.
mod placing {
    use super::*;
    use crate::error::HoldStatus;
    use crate::orders::placement::{Placement, PlacementStep, Routing, PLACEMENT_ATTEMPTS_MAX};

    fn stock(available_at_a: i64) -> Vec<SkuStock> {
        vec![SkuStock {
            sku: id("S1"),
            sellable: available_at_a,
            locations: vec![LocationStock { location: id("A"), available: available_at_a, reorder_point: None }],
        }]
    }

    fn placement() -> Placement {
        let order = Order::place(id("o-1"), &spec(&[("S1", 2)], 0), &storefront(), t0()).expect("placed");
        Placement::new(order).expect("a placement")
    }

    fn read(p: &mut Placement, available_at_a: i64) {
        let rates = rates();
        let rules = RoutingRules { version: 1, shipment_penalty: m("1.00"), drain_penalty: m("0") };
        let routing = Routing { rates: &rates, rules: &rules, nodes: &[] };
        assert!(matches!(p.step(), PlacementStep::ReadStock { ref skus } if *skus == [id("S1")]), "{:?}", p.step());
        p.stock_read(&stock(available_at_a), &[id("A"), id("B")], routing, t0()).expect("allocated");
    }

    fn insufficient() -> crate::EngineError {
        crate::EngineError::InsufficientStock { shortages: Vec::new() }
    }

    #[test]
    fn an_order_reserves_its_plan_pinned_then_commits_it() {
        let mut p = placement();
        read(&mut p, 5);
        let PlacementStep::Reserve { reservation, request } = p.step() else { panic!("{:?}", p.step()) };
        assert_eq!(reservation, id("o-1-r1"));
        assert_eq!(request.channel, Some(id("web")));
        assert_eq!(
            request.lines,
            [crate::reservation::ReservationLineRequest { sku: id("S1"), qty: 2, location: Some(id("A")) }]
        );
        // Stored and read back mid-way, it carries on where it was.
        let mut p: Placement = serde_json::from_str(&serde_json::to_string(&p).expect("stored")).expect("read back");
        p.reserved().expect("reserved");
        assert_eq!(p.step(), PlacementStep::Commit { reservation: id("o-1-r1") });
        p.committed(t0()).expect("committed");
        assert_eq!(p.step(), PlacementStep::Done);
        assert_eq!(p.reservation(), Some(&id("o-1-r1")));
        assert_eq!(p.order().status, OrderStatus::Allocated);
        assert_eq!(p.order().lines[0].allocations, [crate::hold::Allocation { location: id("A"), qty: 2 }]);
    }

    #[test]
    fn a_race_for_the_last_units_reads_again_then_waits() {
        let mut p = placement();
        for attempt in 1..=PLACEMENT_ATTEMPTS_MAX {
            assert_eq!(p.attempt(), attempt);
            read(&mut p, 5);
            let PlacementStep::Reserve { reservation, .. } = p.step() else { panic!("{:?}", p.step()) };
            assert_eq!(reservation.as_str(), format!("o-1-r{attempt}"), "a new reservation per attempt");
            p.refused(insufficient(), t0()).expect("taken in between");
        }
        assert_eq!(p.step(), PlacementStep::Done);
        assert_eq!(p.order().status, OrderStatus::Backordered);
        assert!(p.order().choice.as_ref().is_some_and(|c| c.explanation.contains("in each of 3 attempts")));
        assert_eq!(p.reservation(), None);
    }

    #[test]
    fn nothing_to_ship_waits_without_a_reservation() {
        let mut p = placement();
        read(&mut p, 0);
        assert_eq!(p.step(), PlacementStep::Done);
        assert_eq!(p.order().status, OrderStatus::Backordered);
    }

    #[test]
    fn a_commit_too_late_tries_again_and_an_abandoned_reservation_is_released() {
        let mut p = placement();
        read(&mut p, 5);
        p.reserved().expect("reserved");
        p.commit_refused(crate::EngineError::AlreadyResolved { status: HoldStatus::Expired }, t0()).expect("again");
        assert!(matches!(p.step(), PlacementStep::ReadStock { .. }));
        assert_eq!(p.attempt(), 2);
        read(&mut p, 5);
        p.abandon().expect("abandoned before the reservation was committed");
        assert_eq!(p.step(), PlacementStep::Release { reservation: id("o-1-r2") });
        p.released().expect("released");
        assert_eq!((p.step(), p.order().status), (PlacementStep::Done, OrderStatus::Placed));
    }

    #[test]
    fn a_commit_whose_answer_was_lost_is_the_commit() {
        let mut p = placement();
        read(&mut p, 5);
        p.reserved().expect("reserved");
        p.commit_refused(crate::EngineError::AlreadyResolved { status: HoldStatus::Committed }, t0())
            .expect("committed");
        assert_eq!((p.step(), p.order().status), (PlacementStep::Done, OrderStatus::Allocated));
        assert_eq!(p.holdings().iter().map(|h| h.qty).sum::<i64>(), 2, "{:?}", p.holdings());
    }

    #[test]
    fn answers_out_of_step_are_refused_and_change_nothing() {
        let mut p = placement();
        let before = p.clone();
        assert!(p.reserved().is_err());
        assert!(p.committed(t0()).is_err());
        assert!(p.released().is_err());
        assert!(p.refused(insufficient(), t0()).is_err());
        assert_eq!(p, before);
        read(&mut p, 5);
        let before = p.clone();
        // A refusal other than for stock is the host's to answer; the placement stays.
        let other = crate::EngineError::Unavailable { message: "down".into() };
        assert_eq!(p.refused(other.clone(), t0()), Err(other));
        assert!(p.committed(t0()).is_err());
        assert_eq!(p, before);
        p.reserved().expect("reserved");
        assert!(p.abandon().is_err(), "a reservation being committed is finished, not abandoned");
        let placed = Order::place(id("o-2"), &spec(&[("S1", 1)], 0), &storefront(), t0()).expect("placed");
        let mut shipped = placed.clone();
        shipped.status = OrderStatus::Shipped;
        assert!(Placement::new(shipped).is_err());
    }
}

/// An escalated shortage asks its SKU to be expedited for the units its line still waits for,
/// follows the line as stock arrives, and is withdrawn once the exception closes; exceptions
/// never escalated ask nothing.
#[test]
fn an_escalated_shortage_asks_to_expedite_until_it_closes() {
    let buyer = Actor { subject: "buyer-1".to_string(), role: Role::Buyer };
    let mut order = Order::place(id("o-1"), &spec(&[("S1", 3), ("S2", 2)], 0), &storefront(), t0()).expect("placed");
    allocate_from(&mut order, &[("S2", "A", 2)], t0());
    let mut exceptions = Vec::new();
    reconcile(&order, &mut exceptions, &[], None, t0()).expect("reconciled");
    assert_eq!(exceptions.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(), ["shortage"]);
    let before = exceptions[0].clone();
    assert_eq!(expedite_change(&order, None, &before, t0()), None, "not escalated: nothing to ask");

    let escalated_at = t0() + Duration::minutes(5);
    exceptions[0].resolve(ExceptionAction::Escalate, &buyer, escalated_at, 1, Some("customer VIP")).expect("escalated");
    let (sku, change) = expedite_change(&order, Some(&before), &exceptions[0], escalated_at).expect("a request");
    let request = change.request.clone().expect("set");
    assert_eq!(sku, id("S1"));
    assert_eq!(
        (request.order.as_str(), request.line, request.qty, request.since, request.by.as_str()),
        ("o-1", 1, 3, escalated_at, "buyer-1")
    );
    assert_eq!((change.order_version, change.exception_version), (order.version, 2));

    // One unit arrives: the request follows the line, at a newer order version.
    let before = exceptions[0].clone();
    allocate_from(&mut order, &[("S1", "B", 1)], t0());
    reconcile(&order, &mut exceptions, &[], None, t0()).expect("reconciled");
    let (_, partly) = expedite_change(&order, Some(&before), &exceptions[0], t0()).expect("still asks");
    assert_eq!(partly.request.map(|r| r.qty), Some(2));
    assert!(partly.order_version > change.order_version);

    // The rest arrives: the shortage closes itself and the request is withdrawn, once.
    let before = exceptions[0].clone();
    allocate_from(&mut order, &[("S1", "B", 5)], t0());
    reconcile(&order, &mut exceptions, &[], None, t0()).expect("reconciled");
    assert_eq!(exceptions[0].status, ExceptionStatus::Closed);
    let (_, withdrawn) = expedite_change(&order, Some(&before), &exceptions[0], t0()).expect("withdrawn");
    assert_eq!(withdrawn.request, None);
    assert_eq!(expedite_change(&order, Some(&exceptions[0].clone()), &exceptions[0], t0()), None);
}

/// A short line whose SKU names substitutes is offered the first that can ship all it waits
/// for, once; accepting moves the waiting units to a new line of the substitute (the original
/// keeps what it shipped or holds), and the shortage closes itself.
#[test]
fn a_substitute_with_stock_is_offered_once_and_accepting_moves_the_waiting_units() {
    let mut order = Order::place(id("o-1"), &spec(&[("S1", 3), ("S2", 1)], 0), &storefront(), t0()).expect("placed");
    allocate_from(&mut order, &[("S1", "A", 1), ("S2", "A", 1)], t0());
    let substitutes = |list: &[(&str, i64)]| -> Vec<SubstituteStock> {
        list.iter().map(|(sku, sellable)| SubstituteStock { sku: id(sku), sellable: *sellable }).collect()
    };
    let mut read = promised("S1", &[(1, "2026-12-01")], 2);
    read.1.substitutes = substitutes(&[("S9", 1), ("S8", 5)]);
    let raised = check_triage(
        &order,
        std::slice::from_ref(&read),
        None,
        &[
            ("shortage", "line 1: 2 × S1 short, nothing dated inbound"),
            ("substitution_offered", "line 1: 2 × S1 waiting; S8 can ship 2 now (5 to sell)"),
        ],
    );
    assert_eq!((raised[1].team, raised[1].substitute.as_ref()), (Team::CustomerService, Some(&id("S8"))));
    // None can ship all 2: nothing offered.
    let mut thin = read.clone();
    thin.1.substitutes = substitutes(&[("S9", 1)]);
    check_triage(&order, &[thin], None, &[("shortage", "line 1: 2 × S1 short, nothing dated inbound")]);

    let mut exceptions = Vec::new();
    reconcile(&order, &mut exceptions, std::slice::from_ref(&read), None, t0()).expect("reconciled");
    reconcile(&order, &mut exceptions, std::slice::from_ref(&read), None, t0()).expect("reconciled");
    assert_eq!(exceptions.len(), 2, "offered once: {exceptions:?}");
    let offer = exceptions.iter_mut().find(|e| e.kind == ExceptionKind::SubstitutionOffered).expect("offered");
    let follow_up =
        offer.resolve(ExceptionAction::AcceptSubstitute, &service(), t0(), 1, Some("ok")).expect("accepted");
    assert_eq!(follow_up, FollowUp::Substitute { order: id("o-1"), line: 1, sku: id("S8") });
    assert_eq!(order.follow(&follow_up, &service(), t0(), Some("ok")), Ok(Vec::new()));
    /// (line, SKU, qty, allocated, substituted, substitute_for)
    type Shown<'a> = (u32, &'a str, i64, i64, i64, Option<u32>);
    let lines: Vec<Shown> = order
        .lines
        .iter()
        .map(|l| (l.line, l.sku.as_str(), l.qty, l.allocated(), l.substituted, l.substitute_for))
        .collect();
    assert_eq!(lines, [(1, "S1", 3, 1, 2, None), (2, "S2", 1, 1, 0, None), (3, "S8", 2, 0, 0, Some(1))]);
    assert_eq!(
        (order.status, order.events.last().map(|e| e.action)),
        (OrderStatus::PartiallyAllocated, Some(OrderAction::Substitute))
    );
    assert_eq!(order.to_allocate().iter().map(|l| (l.sku.as_str(), l.qty)).collect::<Vec<_>>(), [("S8", 2)]);
    reconcile(&order, &mut exceptions, &[], None, t0()).expect("reconciled");
    let shortage = exceptions.iter().find(|e| e.kind == ExceptionKind::Shortage).expect("the shortage");
    assert_eq!(
        shortage.closed.as_ref().map(|c| c.reason.as_str()),
        Some("the line's waiting units went to a substitute")
    );

    // Refused, changing nothing: nothing left waiting on line 1, its own SKU, no such line, and
    // once the order no longer waits for stock.
    let before = order.clone();
    let refuse =
        |order: &mut Order, line: u32, sku: &str| order.substitute(line, &id(sku), &decision(&service(), order));
    assert!(matches!(refuse(&mut order, 1, "S7"), Err(crate::EngineError::Conflict { .. })));
    assert!(matches!(refuse(&mut order, 3, "S8"), Err(crate::EngineError::InvalidRequest { .. })));
    assert!(matches!(refuse(&mut order, 9, "S7"), Err(crate::EngineError::InvalidRequest { .. })));
    assert_eq!(order, before);
    let mut released = order_in(OrderStatus::Released);
    assert!(matches!(refuse(&mut released, 1, "S7"), Err(crate::EngineError::Conflict { .. })));
}

/// Offers never promise the same units twice, never a SKU the order already has a line of, and
/// stop once the customer has answered one; a substitute's new line is not called short before
/// its own placement reads it; substituting onto a SKU the order has a line of is refused.
#[test]
fn substitute_offers_promise_units_once_and_respect_the_answer() {
    let mut order =
        Order::place(id("o-1"), &spec(&[("S1", 2), ("S2", 2), ("S3", 1)], 0), &storefront(), t0()).expect("placed");
    allocate_from(&mut order, &[("S3", "A", 1)], t0());
    let read = |sku: &str, substitutes: &[(&str, i64)]| {
        let mut read = promised(sku, &[], 2);
        read.1.substitutes =
            substitutes.iter().map(|(sku, sellable)| SubstituteStock { sku: id(sku), sellable: *sellable }).collect();
        read
    };
    // S9 has 3: enough for line 1's 2, not for line 2's 2 as well; S3 is a line of the order.
    let reads = [read("S1", &[("S3", 50), ("S9", 3)]), read("S2", &[("S9", 3)])];
    let specs = triage(&order, &reads, None);
    let offers: Vec<(Option<u32>, Option<&str>)> = specs
        .iter()
        .filter(|s| s.kind == ExceptionKind::SubstitutionOffered)
        .map(|s| (s.line, s.substitute.as_ref().map(Id::as_str)))
        .collect();
    assert_eq!(offers, [(Some(1), Some("S9"))]);

    // The customer keeps line 1 on backorder: no other substitute is offered for it afterwards.
    let mut exceptions = Vec::new();
    reconcile(&order, &mut exceptions, &reads, None, t0()).expect("reconciled");
    let offer = exceptions.iter_mut().find(|e| e.kind == ExceptionKind::SubstitutionOffered).expect("offered");
    offer.resolve(ExceptionAction::KeepBackorder, &service(), t0(), 1, None).expect("answered");
    let more = [read("S1", &[("S8", 9)]), read("S2", &[])];
    reconcile(&order, &mut exceptions, &more, None, t0()).expect("reconciled");
    let offered = exceptions.iter().filter(|e| e.kind == ExceptionKind::SubstitutionOffered).count();
    assert_eq!(offered, 1, "the answer stands: {exceptions:?}");

    // Accepting S9 for line 2 adds a line not read yet: it is not called short meanwhile.
    order.substitute(2, &id("S9"), &decision(&service(), &order)).expect("substituted");
    let about: Vec<Option<u32>> = triage(&order, &more, None).iter().map(|s| s.line).collect();
    assert_eq!(order.lines.last().map(|l| (l.line, l.sku.as_str())), Some((4, "S9")));
    assert!(!about.contains(&Some(4)), "{about:?}");
    // A SKU the order has a line of is not a substitute.
    let before = order.clone();
    let refused = order.substitute(1, &id("S3"), &decision(&service(), &order));
    assert!(matches!(refused, Err(crate::EngineError::Conflict { .. })), "{refused:?}");
    assert_eq!(order, before);
}
