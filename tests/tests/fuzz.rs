//! A fuzz run over the API from its OpenAPI document with schemathesis (installed by
//! `cargo xtask setup` into .stockline/venv): no 5xx, and every answer matches the document.
//! The "coverage" phase is left out: on this machine's CPython 3.11.7 it trips an interpreter bug
//! (SystemError: AST constructor recursion depth mismatch) inside hypothesis, not in our API.

use serde_json::json;
use std::process::Command;
use stockline_tests::{root, Stockline};

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_mismatch() {
    let bin = root().join(".stockline/venv/bin/schemathesis");
    assert!(bin.exists(), "{} is missing: run `cargo xtask test`, which installs it", bin.display());
    let s = Stockline::start();
    // Known ids for the fuzzer to reach past 404s.
    s.must(s.put(
        "/v1/locations/wh-1",
        "dev-admin",
        &json!({"name": "Main", "kind": "warehouse", "region": "eu", "priority": 1}),
    ));
    s.must(s.put("/v1/channels/web", "dev-admin", &json!({"name": "Web", "locations": ["wh-1"], "buffer": 0})));
    s.must(s.put("/v1/skus/FUZZ-1", "dev-admin", &json!({"name": "Fuzz", "safety_stock": 0})));
    s.must(s.post(
        "/v1/skus/FUZZ-1/movements",
        "dev-warehouse",
        &json!({"kind": "receive", "location": "wh-1", "qty": 1000}),
    ));
    let config = s.state.join("schemathesis.toml");
    std::fs::write(&config, "[parameters]\n\"sku\" = \"FUZZ-1\"\n\"location\" = \"wh-1\"\n\"channel\" = \"web\"\n")
        .expect("write the schemathesis config");
    let output = Command::new(&bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(root().join("shared/openapi.json"))
        .args(["--url", &s.base(), "-H", "Authorization: Bearer dev-admin"])
        .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance"])
        .args(["--phases", "examples,fuzzing,stateful", "--max-examples", "30", "--workers", "2", "--no-color"])
        .args(["--seed", "20261127"])
        .current_dir(&s.state)
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&output.stdout);
    let summary: String =
        text.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(output.status.success(), "schemathesis failed:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(summary.contains("passed"), "{summary}");
    println!("{summary}");
}
