//! Demo data for the local run: a few locations of different kinds, two channels, ~20 SKUs with
//! stock, suppliers and plans, shipping rates and a few customer orders. Seeded once per state directory; every write carries an Idempotency-Key, so a seed
//! interrupted half-way is simply run again.

use crate::Result;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

pub const DEMO_SKU: &str = "TSHIRT-BLK-M";

const LOCATIONS: &[(&str, &str, &str, &str, i64)] = &[
    ("wh-east", "East warehouse", "warehouse", "us-east", 1),
    ("wh-west", "West warehouse", "warehouse", "us-west", 2),
    ("3pl-central", "Central 3PL", "3pl", "us-central", 3),
    ("store-nyc", "NYC flagship store", "store", "us-east", 5),
    ("mkt-amazon", "Marketplace FBA", "marketplace", "us", 9),
];

const SKUS: &[(&str, &str, i64)] = &[
    ("TSHIRT-BLK-S", "T-shirt black S", 5),
    ("TSHIRT-BLK-M", "T-shirt black M", 5),
    ("TSHIRT-BLK-L", "T-shirt black L", 5),
    ("TSHIRT-WHT-S", "T-shirt white S", 5),
    ("TSHIRT-WHT-M", "T-shirt white M", 5),
    ("TSHIRT-WHT-L", "T-shirt white L", 5),
    ("HOODIE-GRY-M", "Hoodie grey M", 3),
    ("HOODIE-GRY-L", "Hoodie grey L", 3),
    ("JEANS-IND-32", "Jeans indigo 32", 2),
    ("JEANS-IND-34", "Jeans indigo 34", 2),
    ("CAP-NVY", "Cap navy", 10),
    ("SOCKS-3PK", "Socks 3-pack", 20),
    ("MUG-LOGO", "Mug with logo", 4),
    ("BOTTLE-STEEL", "Steel bottle", 4),
    ("TOTE-CANVAS", "Canvas tote", 6),
    ("SNEAKER-WHT-42", "Sneaker white 42", 1),
    ("SNEAKER-WHT-43", "Sneaker white 43", 1),
    ("JACKET-RAIN-M", "Rain jacket M", 2),
    ("BEANIE-RED", "Beanie red", 3),
    ("POSTER-A2", "Poster A2", 0),
];

/// An EAN-13 per demo SKU, in the in-store range (prefix 20: never on a product from outside), so
/// a scanner or the camera can be tried with printed codes.
const BARCODES: [&str; 20] = [
    "2000000010007",
    "2000000010014",
    "2000000010021",
    "2000000010038",
    "2000000010045",
    "2000000010052",
    "2000000010069",
    "2000000010076",
    "2000000010083",
    "2000000010090",
    "2000000010106",
    "2000000010113",
    "2000000010120",
    "2000000010137",
    "2000000010144",
    "2000000010151",
    "2000000010168",
    "2000000010175",
    "2000000010182",
    "2000000010199",
];

pub fn demo(api: &str, marker: &Path) -> Result {
    if marker.exists() {
        eprintln!("seed: demo data already present ({})", marker.display());
        return Ok(());
    }
    eprintln!("seed: adding demo locations, channels and {} SKUs", SKUS.len());
    let address = api.trim_start_matches("http://").to_string();
    for (id, name, kind, region, priority) in LOCATIONS {
        let body = format!(r#"{{"name":"{name}","kind":"{kind}","region":"{region}","priority":{priority}}}"#);
        request(&address, "PUT", &format!("/v1/locations/{id}"), "dev-admin", &body)?;
    }
    request(
        &address,
        "PUT",
        "/v1/channels/web",
        "dev-admin",
        r#"{"name":"Web store","locations":["wh-east","wh-west","3pl-central"],"buffer":2,"cap":null,"stop_below":null}"#,
    )?;
    request(
        &address,
        "PUT",
        "/v1/channels/retail",
        "dev-admin",
        r#"{"name":"Retail","locations":["store-nyc"],"buffer":0,"cap":null,"stop_below":null}"#,
    )?;
    for (index, ((sku, name, safety_stock), barcode)) in SKUS.iter().zip(BARCODES).enumerate() {
        // A unit cost, so suggestions carry a value and drafts from them a price.
        let unit_cost = format!("{}.{:02}", 3 + index % 9, (index * 25) % 100);
        let body = format!(
            r#"{{"name":"{name}","safety_stock":{safety_stock},"barcodes":["{barcode}"],"unit_cost":"{unit_cost}"}}"#
        );
        request(&address, "PUT", &format!("/v1/skus/{sku}"), "dev-admin", &body)?;
        for (slot, (location, ..)) in LOCATIONS.iter().enumerate() {
            // Deterministic, varied stock: some locations empty, some SKUs scarce.
            let qty = ((index * 37 + slot * 53) % 120) as i64 - 20;
            if qty <= 0 {
                continue;
            }
            let body = format!(r#"{{"kind":"receive","location":"{location}","qty":{qty},"reference":"seed"}}"#);
            request(&address, "POST", &format!("/v1/skus/{sku}/movements"), "dev-warehouse", &body)?;
        }
    }
    planning(&address)?;
    // Approval rules in the suppliers' currency: up to 1,000 none, up to 10,000 one approval, above
    // that two (dev-approver may approve up to 10,000, dev-approver-2 up to 100,000).
    request(
        &address,
        "PUT",
        "/v1/approval-rules",
        "dev-admin",
        r#"{"base_currency":"USD","bands":[{"up_to":"1000","approvals":0,"roles":[]},{"up_to":"10000","approvals":1,"roles":["approver","admin"]},{"up_to":null,"approvals":2,"roles":["approver","admin"]}]}"#,
    )?;
    orders(&address)?;
    purchasing(&address)?;
    std::fs::write(marker, "seeded\n").map_err(|e| e.to_string())?;
    Ok(())
}

/// Shipping rates from the web channel's nodes and a few customer orders: allocated ones for the
/// pick lists, one that waits for stock (procurement's queue) and one on a fraud hold (customer
/// service's).
fn orders(address: &str) -> Result {
    eprintln!("seed: adding shipping rates and customer orders");
    let mut rates = Vec::new();
    for (location, costs) in
        [("wh-east", ["4.10", "6.20"]), ("wh-west", ["6.80", "4.30"]), ("3pl-central", ["5.40", "5.40"])]
    {
        for (region, cost) in ["us-east", "us-west"].iter().zip(costs) {
            let transit_days = if cost.starts_with('4') { 1 } else { 2 };
            rates.push(format!(
                r#"{{"location":"{location}","region":"{region}","cost":"{cost}","transit_days":{transit_days}}}"#
            ));
        }
    }
    let body = format!(r#"{{"currency":"USD","rates":[{}]}}"#, rates.join(","));
    request(address, "PUT", "/v1/shipping-rates", "dev-admin", &body)?;
    let orders = [
        (
            r#"[{"sku":"TSHIRT-BLK-M","qty":2,"unit_price":"19.00"},{"sku":"CAP-NVY","qty":1,"unit_price":"15.00"}]"#,
            "us-east",
            "",
        ),
        (r#"[{"sku":"HOODIE-GRY-M","qty":1,"unit_price":"49.00"}]"#, "us-west", ""),
        (r#"[{"sku":"MUG-LOGO","qty":3,"unit_price":"12.00"}]"#, "us-east", r#","priority":50"#),
        (r#"[{"sku":"POSTER-A2","qty":400,"unit_price":"9.00"}]"#, "us-east", ""),
        (r#"[{"sku":"SOCKS-3PK","qty":2,"unit_price":"11.00"}]"#, "us-west", r#","hold":"fraud""#),
    ];
    for (lines, region, extra) in orders {
        let body =
            format!(r#"{{"channel":"web","currency":"USD","ship_to_region":"{region}"{extra},"lines":{lines}}}"#);
        request(address, "POST", "/v1/orders", "dev-storefront", &body)?;
    }
    Ok(())
}

/// What the dashboard's order and supplier figures start from: the first order shipped, a
/// purchase order received (part of one line into quarantine) and invoiced a little over its
/// prices, and one still on its way.
fn purchasing(address: &str) -> Result {
    eprintln!("seed: shipping an order, receiving and invoicing a purchase order");
    let placed = json(&request(address, "GET", "/v1/orders?status=allocated&limit=1", "dev-admin", "")?)?;
    let order = placed["orders"].get(0).ok_or("a seeded order is allocated")?;
    let id = order["id"].as_str().ok_or("an order has an id")?;
    let mut version = order["version"].clone();
    for step in ["release", "pick", "ship"] {
        let body = format!(r#"{{"version":{version}}}"#);
        version = json(&request(address, "POST", &format!("/v1/orders/{id}/{step}"), "dev-warehouse", &body)?)?
            ["version"]
            .clone();
    }
    let expected_on = stockline_engine::planning::date_of(today()? + 6).ok_or("a date out of range")?;
    let line = |sku: &str, qty: i64, price: &str| {
        format!(
            r#"{{"sku":"{sku}","location":"wh-east","qty":{qty},"unit_price":"{price}","expected_on":"{expected_on}"}}"#
        )
    };
    for (supplier, lines, received) in [
        ("basics-co", [line("TSHIRT-BLK-M", 48, "4.00"), line("CAP-NVY", 24, "3.50")], true),
        ("far-east-mfg", [line("SNEAKER-WHT-42", 12, "28.00"), line("JACKET-RAIN-M", 6, "41.00")], false),
    ] {
        let body = format!(r#"{{"supplier":"{supplier}","currency":"USD","lines":[{}]}}"#, lines.join(","));
        let mut po = json(&request(address, "POST", "/v1/purchase-orders", "dev-buyer", &body)?)?;
        let id = po["id"].as_str().ok_or("a purchase order has an id")?.to_string();
        for step in ["submit", "send"] {
            let body = format!(r#"{{"version":{}}}"#, po["version"]);
            po = json(&request(address, "POST", &format!("/v1/purchase-orders/{id}/{step}"), "dev-buyer", &body)?)?;
        }
        if !received {
            continue;
        }
        let receipt = r#"{"lines":[{"line":1,"qty":48,"into":"stock"},{"line":2,"qty":20,"into":"stock"},
            {"line":2,"qty":4,"into":"quarantine"}]}"#;
        request(address, "POST", &format!("/v1/purchase-orders/{id}/receipts"), "dev-warehouse", receipt)?;
        let invoice = r#"{"number":"BC-1042","lines":[{"line":1,"qty":48,"unit_price":"4.06"},
            {"line":2,"qty":24,"unit_price":"3.50"}],"freight":"0","spread_by":"quantity"}"#;
        request(address, "POST", &format!("/v1/purchase-orders/{id}/invoices"), "dev-finance", invoice)?;
    }
    Ok(())
}

/// An answer's JSON body (what follows the headers).
fn json(response: &str) -> Result<serde_json::Value> {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))
}

/// Days since 1970-01-01 today (UTC).
fn today() -> Result<i32> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?;
    i32::try_from(since_epoch.as_secs() / 86_400).map_err(|e| e.to_string())
}

/// Suppliers, a replenishment policy per SKU and a year of demand history (weekly shapes for the
/// basics, intermittent for shoes and jackets), so the Reorder screen has something to say.
fn planning(address: &str) -> Result {
    eprintln!("seed: adding suppliers, policies and a year of demand history");
    let suppliers = [
        ("basics-co", r#"{"name":"Basics Co","currency":"USD","lead_time_days":6,"lead_time_std_days":1.5}"#),
        (
            "far-east-mfg",
            r#"{"name":"Far East Manufacturing","currency":"USD","lead_time_days":21,"lead_time_std_days":5}"#,
        ),
    ];
    for (id, body) in suppliers {
        request(address, "PUT", &format!("/v1/suppliers/{id}"), "dev-buyer", body)?;
    }
    let today = today()?;
    let weekly = [1.0, 0.8, 0.8, 0.9, 1.1, 1.6, 1.8];
    for (index, (sku, ..)) in SKUS.iter().enumerate() {
        let intermittent = sku.starts_with("SNEAKER") || sku.starts_with("JACKET") || sku.starts_with("POSTER");
        // Every third SKU sells three times as fast: its stock is below its reorder point, so the
        // Reorder screen and a draft from suggestions have something to show.
        let base = (2.0 + (index * 7 % 11) as f64) * if index % 3 == 0 { 3.0 } else { 1.0 };
        let days: Vec<String> = (1..=365_i32)
            .rev()
            .map(|back| {
                let date = stockline_engine::planning::date_of(today - back).ok_or("a date out of range")?;
                let day = usize::try_from((today - back).rem_euclid(7)).unwrap_or(0);
                let wobble = ((back as usize * 31 + index * 17) % 7) as f64 - 3.0;
                let qty = if intermittent {
                    if (back as usize * 13 + index).is_multiple_of(9) {
                        1.0 + ((back as usize + index) % 4) as f64
                    } else {
                        0.0
                    }
                } else {
                    (base * weekly[(day + 3) % 7] + wobble * base / 10.0).round().max(0.0)
                };
                Ok(format!(r#"{{"date":"{}","qty":{}}}"#, date, qty as i64))
            })
            .collect::<Result<_>>()?;
        let body = format!(r#"{{"days":[{}]}}"#, days.join(","));
        request(address, "POST", &format!("/v1/skus/{sku}/demand-history"), "dev-buyer", &body)?;
        let supplier =
            if sku.starts_with("SNEAKER") || sku.starts_with("JACKET") { "far-east-mfg" } else { "basics-co" };
        let policy = format!(r#"{{"supplier":"{supplier}","moq":{},"pack_multiple":{}}}"#, 12 + index % 3 * 12, 6);
        request(address, "PUT", &format!("/v1/skus/{sku}/policy"), "dev-buyer", &policy)?;
    }
    Ok(())
}

/// A minimal HTTP/1.1 request over loopback; fails on any status outside 2xx.
fn request(address: &str, method: &str, path: &str, token: &str, body: &str) -> Result<String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("{address}: {e}"))?;
    let key = format!("seed:{method}:{path}:{}", &crate::fingerprint(body.as_bytes())[..16]);
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body.as_bytes())).map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let status: u16 = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(format!("{method} {path}: {}", response.lines().last().unwrap_or("")));
    }
    Ok(response)
}
